"""Public keys: which ones verification accepts, and their fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from drillkit.evidence.keys import (
    ECDSA_P256_SHA256,
    ED25519,
    InvalidKey,
    load_public_key,
    read_public_key_file,
)


def pem(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_an_ed25519_key_verifies_its_signatures_and_nothing_else() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = load_public_key(pem(private.public_key()), source="test")
    assert key.algorithm == ED25519
    assert key.verify(private.sign(b"evidence"), b"evidence")
    assert not key.verify(private.sign(b"evidence"), b"evidencE")
    assert not key.verify(b"short", b"evidence")


def test_an_ecdsa_p256_key_accepts_der_signatures_over_sha256() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = load_public_key(pem(private.public_key()), source="test")
    assert key.algorithm == ECDSA_P256_SHA256
    der = private.sign(b"evidence", ec.ECDSA(hashes.SHA256()))
    assert key.verify(der, b"evidence")
    assert not key.verify(der, b"other")
    r, s = decode_dss_signature(der)
    assert not key.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), b"evidence")
    sha384 = private.sign(b"evidence", ec.ECDSA(hashes.SHA384()))
    assert not key.verify(sha384, b"evidence")


def test_the_fingerprint_is_the_sha256_of_the_der_public_key() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = load_public_key(pem(public), source="test")
    assert key.fingerprint == "sha256:" + hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ec.generate_private_key(ec.SECP384R1()).public_key(), "ECDSA secp384r1"),
        (
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
            "RSA",
        ),
    ],
    ids=["p384", "rsa"],
)
def test_other_key_types_are_refused_naming_what_they_are(make: object, message: str) -> None:
    with pytest.raises(InvalidKey, match=f"is a {message} public key"):
        load_public_key(pem(make()), source="k.pub")  # type: ignore[operator]


def test_text_that_is_no_key_is_refused() -> None:
    with pytest.raises(InvalidKey, match="not a PEM public key") as caught:
        load_public_key(b"ssh-ed25519 AAAA", source="k.pub")
    assert caught.value.exit_code == 2


def test_reading_a_key_file_names_the_file_when_it_is_missing_or_wrong(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey, match="no such key file"):
        read_public_key_file(tmp_path / "missing.pub")
    (tmp_path / "wrong.pub").write_text("nope")
    with pytest.raises(InvalidKey, match=r"wrong\.pub is not a PEM public key"):
        read_public_key_file(tmp_path / "wrong.pub")
