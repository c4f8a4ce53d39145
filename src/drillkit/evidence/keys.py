"""Public keys that check evidence signatures: Ed25519 and ECDSA P-256 with SHA-256.

Verification needs only a public key, so this module knows nothing of private
keys or signers. Two algorithms are enough: Ed25519 is what a key file holds
by default, and ECDSA P-256/SHA-256 is what AWS KMS and Azure Key Vault sign
with. ECDSA signatures are accepted in DER form only (what KMS returns and
what independent DSSE verifiers expect); a signer whose backend answers with
raw ``r || s`` converts it before the signature enters an envelope.

A key's fingerprint is ``sha256:`` and the hex sha256 of its DER
SubjectPublicKeyInfo, so anyone can recompute it from the PEM file without
drillkit: ``openssl pkey -pubin -in KEY.pub -outform DER | sha256sum``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from drillkit.errors import UserInputError

ED25519 = "ed25519"
"""Algorithm name of Ed25519 signatures (the same name securesystemslib uses)."""
ECDSA_P256_SHA256 = "ecdsa-sha2-nistp256"
"""Algorithm name of ECDSA over P-256 with SHA-256, DER-encoded signatures."""
ALGORITHMS = (ED25519, ECDSA_P256_SHA256)

_MAX_KEY_FILE_BYTES = 64 * 1024


class InvalidKey(UserInputError):
    """A key file is missing, unreadable, of an unsupported type, or not what was asked for."""


@dataclass(frozen=True)
class PublicKey:
    """A parsed public key that can check signatures. Build it with ``load_public_key``."""

    algorithm: str
    fingerprint: str
    pem: bytes
    _key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` is this key's signature over ``data``; never raises."""
        try:
            if isinstance(self._key, ed25519.Ed25519PublicKey):
                self._key.verify(signature, data)
            else:
                self._key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


def load_public_key(pem: bytes, *, source: str) -> PublicKey:
    """Parse a PEM public key; ``InvalidKey`` names ``source`` and says what it holds instead.

    A private key given where a public key belongs is refused without
    echoing any of it, so a slip on the command line never prints a secret.
    """
    if b"PRIVATE KEY" in pem:
        raise InvalidKey(
            f"{source} holds a private key; verification needs the public key",
            fix="pass the public key (the .pub file `drill keys generate` wrote beside the "
            "private key)",
        )
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InvalidKey(
            f"{source} is not a PEM public key",
            fix="pass a file that starts with -----BEGIN PUBLIC KEY----- (Ed25519 or ECDSA P-256)",
        ) from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = ED25519
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        algorithm = ECDSA_P256_SHA256
    else:
        raise InvalidKey(
            f"{source} is a {_describe(key)} public key; evidence signatures use "
            "Ed25519 or ECDSA P-256",
            fix="pass the public key of the key that signed the bundle",
        )
    canonical_pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey(algorithm, fingerprint(key), canonical_pem, key)


def read_public_key_file(path: Path) -> bytes:
    """The bytes of a public key file; ``InvalidKey`` (naming the file) unless it holds one."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidKey(
            f"{path}: no such key file", fix="pass the path of the signer's public key"
        ) from None
    except OSError as exc:
        raise InvalidKey(f"{path}: cannot read the key file: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise InvalidKey(
            f"{path} is larger than any PEM public key",
            fix="pass the signer's public key file",
        )
    load_public_key(data, source=str(path))
    return data


def fingerprint(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """``sha256:<hex>`` of the key's DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _describe(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}"
    name = type(key).__name__.lstrip("_")
    for suffix in ("PublicKey", "Key"):
        name = name.removesuffix(suffix)
    return name or "unknown"
