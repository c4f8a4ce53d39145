"""Teach moto's KMS the ``MessageType=DIGEST`` that real KMS has.

Real KMS signs a DIGEST message as the hash itself (the signature verifies
against the data that was hashed); moto 5.2 ignores ``MessageType`` and hashes
the digest again, so its signature is over ``sha256(sha256(data))`` and no
offline verifier would accept it. The moto server runs in this process
(``ThreadedMotoServer``), so the fixture replaces the server's Sign handler
for one test with one that does what KMS does; everything else about the
request (key lookup, key usage, algorithm checks, the answer's shape) stays
moto's.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def digest_signing() -> Iterator[None]:
    """While open, the in-process moto server signs DIGEST messages as KMS does."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from moto.kms.responses import KmsResponse

    original = KmsResponse.sign

    def sign(self: Any) -> str:
        if self._get_param("MessageType") != "DIGEST":
            return str(original(self))
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        digest = self._get_param("Message")
        if isinstance(digest, str):
            digest = digest.encode()
        assert self._get_param("SigningAlgorithm") == "ECDSA_SHA_256" and len(digest) == 32
        signature = key.private_key.private_key.sign(
            digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))
        )
        return json.dumps(
            {
                "KeyId": key.arn,
                "Signature": base64.b64encode(signature).decode(),
                "SigningAlgorithm": "ECDSA_SHA_256",
            }
        )

    KmsResponse.sign = sign  # type: ignore[method-assign]
    try:
        yield
    finally:
        KmsResponse.sign = original  # type: ignore[method-assign]


@pytest.fixture
def kms_digest_signing() -> Iterator[None]:
    with digest_signing():
        yield
