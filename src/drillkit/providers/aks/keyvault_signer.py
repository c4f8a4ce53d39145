"""Evidence signing with an Azure Key Vault key: ``azurekms://VAULT.vault.azure.net/KEY[/VERSION]``.

The key is an EC key on P-256; the private half never leaves the vault.
``sign`` hashes the DSSE pre-authentication encoding with SHA-256 and asks
the vault to sign that digest with ES256, which answers the raw ``r || s``
(64 bytes); it is re-encoded as DER, which is what ``drill verify`` and
every other ECDSA verifier read. The public key comes from the key's JWK
(``x``, ``y``) as a PEM SubjectPublicKeyInfo, stored in the bundle and
exported once with ``drill keys export-public`` for offline verification.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks.azure_errors import call_azure

SCHEME = "azurekms://"
ALGORITHM = "ecdsa-sha2-nistp256"
RAW_SIGNATURE_BYTES = 64


def parse_uri(uri: str, origin: str) -> tuple[str, str, str | None]:
    """(vault URL, key name, version) from ``azurekms://HOST/KEY[/VERSION]``."""
    parts = urlsplit(uri)
    path = [p for p in parts.path.split("/") if p]
    if not uri.startswith(SCHEME) or not parts.netloc or len(path) not in (1, 2):
        raise UserInputError(
            f"{origin} names `{uri}`, which is not a Key Vault key URI",
            fix="write `azurekms://VAULT.vault.azure.net/KEY` (optionally `/VERSION`)",
        )
    return f"https://{parts.netloc}", path[0], path[1] if len(path) == 2 else None


class KeyVaultSigner:
    """A ``Signer`` (see ``drillkit.evidence.signing``) backed by a Key Vault key."""

    def __init__(self, vault_url: str, name: str, version: str | None, origin: str) -> None:
        self.vault_url, self.name, self.version, self.origin = vault_url, name, version, origin

    @cached_property
    def _credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    @cached_property
    def _key(self) -> Any:
        from azure.keyvault.keys import KeyClient

        client = KeyClient(self.vault_url, self._credential)
        key = call_azure(
            f"read Key Vault key {self.name}", lambda: client.get_key(self.name, self.version)
        )
        jwk = key.key if key is not None else None
        crv = getattr(jwk, "crv", None)
        curve = str(getattr(crv, "value", crv)) if crv else ""
        if jwk is None or curve != "P-256":
            raise PermanentError(
                f"{self.origin} names Key Vault key {self.name}, which is not an EC P-256 key "
                f"(curve {curve or 'none'})",
                fix="create an EC key on P-256 (`az keyvault key create --kty EC --curve P-256`)",
            )
        return key

    @property
    def key_id(self) -> str:
        return str(self._key.id)

    @property
    def algorithm(self) -> str:
        return ALGORITHM

    @cached_property
    def public_key_pem(self) -> bytes:
        jwk = self._key.key
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"), ec.SECP256R1()
        )
        return numbers.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm

        client = CryptographyClient(self._key, self._credential)
        digest = hashlib.sha256(data).digest()
        result = call_azure(
            f"sign with Key Vault key {self.name}",
            lambda: client.sign(SignatureAlgorithm.es256, digest),
        )
        raw = result.signature if result is not None else b""
        if len(raw) != RAW_SIGNATURE_BYTES:
            raise PermanentError(
                f"Key Vault key {self.name} returned a {len(raw)}-byte signature, not ES256's 64",
                fix="use an EC P-256 key",
            )
        half = RAW_SIGNATURE_BYTES // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )


def signer_from_uri(uri: str, *, origin: str) -> KeyVaultSigner:
    """The signer for ``azurekms://...``; the key is read on first use."""
    vault_url, name, version = parse_uri(uri, origin)
    return KeyVaultSigner(vault_url, name, version, origin)
