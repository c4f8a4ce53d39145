"""Signing evidence with a KMS key in moto, then verifying it offline as an auditor would.

The bundle is a real run folder (tests/support/evidence_bundle.py), signed by
``sign_bundle`` through the ``awskms://`` URI; the public key is exported with
``drill keys export-public`` and ``drill verify --key`` checks the bundle in a
process with no AWS access at all. moto 5.2 hashes a DIGEST message again
(see tests/support/moto_kms.py), so the signing tests use that fixture; one
test pins the gap itself, so the day moto fixes it the fixture can go.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from drillkit.cloud_keys import cloud_signer
from drillkit.errors import UserInputError
from drillkit.evidence.signing import sign_bundle
from drillkit.providers.eks.kms_signer import parse_uri
from tests.support.aws_seed import client
from tests.support.drill_cli import run_drill
from tests.support.evidence_bundle import build_run_folder, run_facts
from tests.support.moto_kms import kms_digest_signing  # noqa: F401
from tests.support.moto_server import MotoServer


def create_key(spec: str = "ECC_NIST_P256", alias: str = "alias/drillkit-evidence") -> str:
    kms = client("kms")
    arn: str = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def drill(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_drill(*args, cwd=cwd, **env)


def test_key_uris_name_the_endpoint_key_and_region() -> None:
    arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"
    assert parse_uri(f"awskms:///{arn}") == (None, arn, "eu-west-1")
    assert parse_uri("awskms:///alias/evidence") == (None, "alias/evidence", None)
    assert parse_uri("awskms://localhost:4566/alias/evidence") == (
        "http://localhost:4566",
        "alias/evidence",
        None,
    )
    assert parse_uri("awskms://kms.example.com/k1")[0] == "https://kms.example.com"
    with pytest.raises(ValueError):
        parse_uri("awskms://")


@pytest.mark.usefixtures("kms_digest_signing")
def test_a_bundle_signed_by_kms_verifies_offline_with_the_exported_public_key(
    aws: MotoServer, tmp_path: Path
) -> None:
    arn = create_key()
    uri = "awskms:///alias/drillkit-evidence"
    signer = cloud_signer(uri, origin="--signing-key")
    run_dir = build_run_folder(tmp_path / "reports")

    sign_bundle(run_dir, signer, run_facts(run_dir))

    assert signer.key_id == arn and signer.algorithm == "ecdsa-sha2-nistp256"
    exported = drill("keys", "export-public", uri, "-o", "kms.pem", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "kms.pem").read_bytes() == signer.public_key_pem
    # The auditor's process has no AWS at all: no endpoint, no credentials.
    offline = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": ""}
    verified = drill("verify", str(run_dir), "--key", "kms.pem", cwd=tmp_path, **offline)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.usefixtures("kms_digest_signing")
def test_kms_signs_the_sha256_digest_of_the_data(aws: MotoServer) -> None:
    create_key()
    signer = cloud_signer("awskms:///alias/drillkit-evidence", origin="test")
    public: Any = serialization.load_pem_public_key(signer.public_key_pem)
    data = b"DSSEv1 28 application/vnd.in-toto+json 2 {}"

    signature = signer.sign(data)

    public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_moto_still_hashes_a_digest_message_again(aws: MotoServer) -> None:
    """The gap tests/support/moto_kms.py fills: when this fails, moto has fixed it."""
    arn = create_key()
    public: Any = serialization.load_der_public_key(
        client("kms").get_public_key(KeyId=arn)["PublicKey"]
    )
    digest = hashlib.sha256(b"data").digest()
    signature = client("kms").sign(
        KeyId=arn, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]

    public.verify(signature, digest, ec.ECDSA(hashes.SHA256()))  # sha256(digest): moto's way
    with pytest.raises(InvalidSignature):
        public.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_a_key_that_is_not_p256_is_refused_naming_what_to_create(aws: MotoServer) -> None:
    create_key("RSA_2048", alias="alias/rsa")

    with pytest.raises(UserInputError) as caught:
        cloud_signer("awskms:///alias/rsa", origin="target `prod` signingKey")

    assert caught.value.message.startswith("target `prod` signingKey names KMS key `alias/rsa`")
    assert "ECC_NIST_P256" in (caught.value.fix or "")


def test_a_missing_key_is_a_user_error_not_a_traceback(aws: MotoServer) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        cloud_signer("awskms:///alias/nothing", origin="--signing-key")
