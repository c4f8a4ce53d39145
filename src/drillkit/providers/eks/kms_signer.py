"""Evidence signed by an AWS KMS asymmetric key: ECC_NIST_P256, ECDSA_SHA_256, DIGEST mode.

``awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID``, ``awskms:///alias/NAME`` or
``awskms:///ID`` (an endpoint may sit between ``//`` and the third ``/``:
``awskms://localhost:4566/alias/NAME``). The private key never leaves KMS:
the DSSE pre-authentication encoding is hashed here with SHA-256 and only
the digest is sent (``MessageType=DIGEST``), which also lifts KMS's 4 KB
limit on raw messages. KMS answers a DER ECDSA signature, the format
``drill verify`` checks offline against the public key ``GetPublicKey``
returns (DER SubjectPublicKeyInfo, stored as PEM in the bundle).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from drillkit.errors import UserInputError
from drillkit.evidence.keys import ECDSA_P256_SHA256
from drillkit.providers.eks.aws_errors import call_aws

SCHEME = "awskms://"
KEY_SPEC = "ECC_NIST_P256"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:(key|alias)/.+$")
_LOCAL = ("localhost", "127.0.0.1", "[::1]")


class KmsSigner:
    """A ``Signer`` (drillkit.evidence.signing) whose key lives in AWS KMS."""

    def __init__(self, client: Any, key_arn: str, public_key_pem: bytes) -> None:
        self._client = client
        self._key_arn = key_arn
        self._public_key_pem = public_key_pem

    @property
    def key_id(self) -> str:
        return self._key_arn

    @property
    def algorithm(self) -> str:
        return ECDSA_P256_SHA256

    @property
    def public_key_pem(self) -> bytes:
        return self._public_key_pem

    def sign(self, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()
        answer = call_aws(
            f"sign with KMS key {self._key_arn}",
            lambda: self._client.sign(
                KeyId=self._key_arn,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=SIGNING_ALGORITHM,
            ),
        )
        assert answer is not None
        return bytes(answer["Signature"])


def parse_uri(uri: str) -> tuple[str | None, str, str | None]:
    """``(endpoint URL or None, key id/ARN/alias, region from the ARN or None)``."""
    rest = uri[len(SCHEME) :] if uri.startswith(SCHEME) else ""
    host, _, key = rest.partition("/")
    if not key:
        raise ValueError("expected awskms:///KEY-ARN, awskms:///alias/NAME or awskms:///KEY-ID")
    endpoint = None
    if host:
        scheme = "http" if host.split(":")[0] in _LOCAL or host.startswith("[::1]") else "https"
        endpoint = f"{scheme}://{host}"
    found = _ARN.fullmatch(key)
    return endpoint, key, found["region"] if found else None


def signer_from_uri(uri: str, *, origin: str) -> KmsSigner:
    """The signer for a key URI, with its public key read once from KMS and checked."""
    import boto3
    from cryptography.hazmat.primitives import serialization

    try:
        endpoint, key, region = parse_uri(uri)
    except ValueError as exc:
        raise UserInputError(
            f"{origin} names `{uri}`, which is not a KMS key URI: {exc}", fix=str(exc)
        ) from None
    options: dict[str, Any] = {}
    if region:
        options["region_name"] = region
    if endpoint:
        options["endpoint_url"] = endpoint
    client = boto3.session.Session().client("kms", **options)
    answer = call_aws(
        f"read the public key of KMS key {key}",
        lambda: client.get_public_key(KeyId=key),
        tolerate=("NotFoundException",),
    )
    if answer is None:
        raise UserInputError(
            f"{origin} names KMS key `{key}`, which does not exist (or is not visible) in "
            f"{client.meta.region_name}",
            fix="check the key URI and the AWS region and account of your credentials",
        )
    spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")
    usage = answer.get("KeyUsage")
    if (
        spec != KEY_SPEC
        or usage != "SIGN_VERIFY"
        or SIGNING_ALGORITHM not in (answer.get("SigningAlgorithms") or [])
    ):
        raise UserInputError(
            f"{origin} names KMS key `{key}` ({spec}, {usage}); drillkit signs with an "
            f"{KEY_SPEC} SIGN_VERIFY key using {SIGNING_ALGORITHM}",
            fix="create one: `aws kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY`",
        )
    public = serialization.load_der_public_key(bytes(answer["PublicKey"]))
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KmsSigner(client, _key_arn(client, key, str(answer["KeyId"])), pem)


def _key_arn(client: Any, key: str, answered: str) -> str:
    """The key's ARN, which names it in the envelope (KMS answers GetPublicKey with the ARN;
    an emulator may answer the bare id, so ask DescribeKey then)."""
    if answered.startswith("arn:"):
        return answered
    described = call_aws(f"describe KMS key {key}", lambda: client.describe_key(KeyId=key))
    assert described is not None
    return str(described["KeyMetadata"]["Arn"])
