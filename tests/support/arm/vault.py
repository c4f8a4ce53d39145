"""The Key Vault half of the test server: EC keys that sign (ES256) and secrets.

The answers follow the Key Vault REST API: ``GET /keys/NAME[/VERSION]`` gives
the JWK (``crv``, ``x``, ``y``), ``POST /keys/NAME/VERSION/sign`` signs a
SHA-256 digest and answers the raw ``r || s`` as Key Vault does (not DER),
``GET /secrets/NAME[/VERSION]`` gives the value with its attributes (a
disabled secret is refused with 403 ``SecretDisabled``); ``GET /certificates``
lists certificates and ``GET /certificates/NAME[/VERSION]`` gives one with its
DER (``cer``). The server's
``_vault`` has already checked the challenge and token.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from tests.support.arm.world import JsonObject, VaultCertificate, VaultKey, World

CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(status: int, code: str, message: str, inner: str | None = None) -> tuple[int, Any]:
    error: JsonObject = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return status, {"error": error}


def vault_answer(world: World, base: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    """(status, JSON body) for one Key Vault request."""
    parts = [p for p in path.split("/") if p]
    if parts[0] == "certificates":
        return _certificates(world, base, parts[1:])
    collection, name, version = parts[0], parts[1], (parts[2] if len(parts) > 2 else "")
    if collection == "keys":
        key = world.keys.get(name)
        if key is None or (version and version != key.version):
            return _error(
                404, "KeyNotFound", f"A key with (name/id) {name} was not found in this key vault."
            )
        if method == "POST" and len(parts) == 4 and parts[3] == "sign":
            return _sign(key, base, body)
        return 200, _key(key, base)
    secret = world.secrets.get(name)
    if secret is None or (version and version != secret.version):
        return _error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {name} was not found in this key vault.",
        )
    if not secret.enabled:
        return _error(
            403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
        )
    attributes: JsonObject = {"enabled": True, "created": secret.updated, "updated": secret.updated}
    if secret.expires is not None:
        attributes["exp"] = secret.expires
    answer: JsonObject = {
        "value": secret.value,
        "id": f"{base}/secrets/{name}/{secret.version}",
        "attributes": attributes,
    }
    if secret.content_type:
        answer["contentType"] = secret.content_type
    return 200, answer


def _key(key: VaultKey, base: str) -> JsonObject:
    numbers = key.private_key.public_key().public_numbers()
    size = (key.private_key.curve.key_size + 7) // 8
    now = int(time.time())
    return {
        "key": {
            "kid": f"{base}/keys/{key.name}/{key.version}",
            "kty": "EC",
            "crv": CURVES[key.private_key.curve.name],
            "key_ops": ["sign", "verify"],
            "x": _b64url(numbers.x.to_bytes(size, "big")),
            "y": _b64url(numbers.y.to_bytes(size, "big")),
        },
        "attributes": {"enabled": key.enabled, "created": now, "updated": now},
    }


def _sign(key: VaultKey, base: str, body: Any) -> tuple[int, Any]:
    if body.get("alg") != "ES256" or CURVES[key.private_key.curve.name] != "P-256":
        return _error(400, "BadParameter", f"algorithm {body.get('alg')} does not fit the key")
    der = key.private_key.sign(_unb64url(body["value"]), ec.ECDSA(Prehashed(hashes.SHA256())))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return 200, {"kid": f"{base}/keys/{key.name}/{key.version}", "value": _b64url(raw)}


def _certificates(world: World, base: str, parts: list[str]) -> tuple[int, Any]:
    """``GET /certificates`` (the list) and ``GET /certificates/NAME[/VERSION]``."""
    if not parts:
        listed = [_certificate(c, base, full=False) for c in world.certificates.values()]
        return 200, {"value": listed, "nextLink": None}
    found = world.certificates.get(parts[0])
    if found is None or (len(parts) > 1 and parts[1] not in ("", found.version)):
        return _error(
            404,
            "CertificateNotFound",
            f"A certificate with (name/id) {parts[0]} was not found in this key vault.",
        )
    return 200, _certificate(found, base, full=True)


def _certificate(certificate: VaultCertificate, base: str, *, full: bool) -> JsonObject:
    attributes = {
        "enabled": certificate.enabled,
        "nbf": certificate.not_before,
        "exp": certificate.expires,
        "created": certificate.not_before,
        "updated": certificate.not_before,
    }
    answer: JsonObject = {
        "id": f"{base}/certificates/{certificate.name}"
        + (f"/{certificate.version}" if full else ""),
        "x5t": _b64url(hashlib.sha1(certificate.der).digest()),  # the thumbprint Key Vault keeps
        "attributes": attributes,
    }
    if full:
        answer["cer"] = base64.b64encode(certificate.der).decode()
        answer["kid"] = f"{base}/keys/{certificate.name}/{certificate.version}"
        answer["sid"] = f"{base}/secrets/{certificate.name}/{certificate.version}"
    return answer
