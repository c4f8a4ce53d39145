"""An independent DSSE implementation (securesystemslib) and ours agree, both ways.

An auditor must not need drillkit to check a signature, and a bundle signed
by another DSSE tool must verify with ``drill verify``. securesystemslib's
``Envelope.verify`` matches signatures to keys by key id, so its key is
given the key id our signer wrote into the envelope.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey  # type: ignore[attr-defined]

from drillkit.evidence.attestation import PAYLOAD_TYPE, Envelope, pae
from drillkit.evidence.bundle import ATTESTATION
from drillkit.evidence.key_files import Ed25519FileSigner
from drillkit.evidence.keys import ECDSA_P256_SHA256, ED25519, fingerprint
from drillkit.evidence.signing import sign_bundle
from drillkit.evidence.verification import verify_bundle
from tests.support.evidence_bundle import EcdsaP256Signer, b64, run_facts


def sslib_envelope(run_dir: Path) -> SslibEnvelope:
    return SslibEnvelope.from_dict(json.loads((run_dir / ATTESTATION).read_bytes()))


class SslibSigner:
    """Our Signer protocol around securesystemslib's CryptoSigner."""

    def __init__(self, private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> None:
        self.inner = CryptoSigner(private_key)
        self.public = private_key.public_key()

    @property
    def key_id(self) -> str:
        keyid: str = self.inner.public_key.keyid
        return keyid

    @property
    def algorithm(self) -> str:
        return ED25519 if isinstance(self.public, ed25519.Ed25519PublicKey) else ECDSA_P256_SHA256

    @property
    def public_key_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        return bytes.fromhex(self.inner.sign(data).signature)


def test_our_pae_is_the_pae_securesystemslib_signs() -> None:
    payload = b'{"_type":"https://in-toto.io/Statement/v1"}'
    assert pae(PAYLOAD_TYPE, payload) == SslibEnvelope(payload, PAYLOAD_TYPE, {}).pae()
    assert pae(PAYLOAD_TYPE, payload) == b"DSSEv1 28 application/vnd.in-toto+json 43 " + payload
    # the DSSE specification's own example
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_securesystemslib_verifies_our_ed25519_envelope(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    public = serialization.load_pem_public_key(signer.public_key_pem)
    key = SSlibKey.from_crypto(public, keyid=signer.key_id)
    accepted = sslib_envelope(signed).verify([key], 1)
    assert list(accepted) == [signer.key_id]


def test_securesystemslib_verifies_our_ecdsa_p256_envelope(run_dir: Path) -> None:
    kms = EcdsaP256Signer()
    sign_bundle(run_dir, kms, run_facts(run_dir))
    key = SSlibKey.from_crypto(kms.private_key.public_key(), keyid=kms.key_id)
    assert key.scheme == "ecdsa-sha2-nistp256"
    assert list(sslib_envelope(run_dir).verify([key], 1)) == [kms.key_id]


def test_securesystemslib_refuses_our_envelope_once_the_payload_is_edited(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    document = json.loads((signed / ATTESTATION).read_bytes())
    envelope = Envelope.from_json((signed / ATTESTATION).read_bytes())
    document["payload"] = b64(envelope.payload.replace(b"passed", b"failed"))
    public = serialization.load_pem_public_key(signer.public_key_pem)
    key = SSlibKey.from_crypto(public, keyid=signer.key_id)
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(document).verify([key], 1)


@pytest.mark.parametrize(
    "make_key",
    [ed25519.Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP256R1())],
    ids=["ed25519", "ecdsa-p256"],
)
def test_an_envelope_written_and_signed_by_securesystemslib_verifies_with_ours(
    run_dir: Path, make_key: object
) -> None:
    private_key = make_key()  # type: ignore[operator]
    adapter = SslibSigner(private_key)
    sign_bundle(run_dir, adapter, run_facts(run_dir))  # our statement and signer.pub.pem
    ours = Envelope.from_json((run_dir / ATTESTATION).read_bytes())
    theirs = SslibEnvelope(ours.payload, PAYLOAD_TYPE, {})
    theirs.sign(adapter.inner)
    (run_dir / ATTESTATION).write_text(json.dumps(theirs.to_dict()))

    result = verify_bundle(run_dir, adapter.public_key_pem)
    assert result.ok, result.first_failure
    assert result.key_fingerprint == fingerprint(private_key.public_key())


def test_a_url_safe_unpadded_envelope_from_another_tool_still_parses(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    document = json.loads((signed / ATTESTATION).read_bytes())
    for holder, key in [(document, "payload"), (document["signatures"][0], "sig")]:
        holder[key] = holder[key].replace("+", "-").replace("/", "_").rstrip("=")
    (signed / ATTESTATION).write_text(json.dumps(document))
    assert verify_bundle(signed, signer.public_key_pem).ok
