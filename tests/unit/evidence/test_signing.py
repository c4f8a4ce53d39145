"""Signing a bundle: what the statement holds, and the bundles signing refuses."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785

from drillkit.engine.journal import JournalError, read_journal
from drillkit.evidence.attestation import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE
from drillkit.evidence.bundle import ATTESTATION, SIGNER_PUBLIC_KEY, BundleError
from drillkit.evidence.key_files import Ed25519FileSigner
from drillkit.evidence.signing import Signer, SigningRefused, sign_bundle
from drillkit.evidence.verification import verify_bundle
from tests.support.evidence_bundle import (
    DRILL_DIGEST,
    EcdsaP256Signer,
    RawEcdsaSigner,
    read_envelope,
    read_statement_json,
    run_facts,
)

BUNDLE_FILES = [
    "drill.yaml",
    "journal.jsonl",
    "junit.xml",
    "report.html",
    "report.json",
    "report.md",
    "samples/rpo-canary.jsonl",
    "samples/rto.jsonl",
    "signer.pub.pem",
]


def test_both_signers_satisfy_the_signer_protocol(signer: Ed25519FileSigner) -> None:
    signers: list[Signer] = [signer, EcdsaP256Signer()]  # checked by mypy
    assert [s.algorithm for s in signers] == ["ed25519", "ecdsa-sha2-nistp256"]


def test_the_statement_lists_every_other_file_with_its_sha256(signed: Path) -> None:
    statement = read_statement_json(signed)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    names = [s["name"] for s in statement["subject"]]
    assert names == BUNDLE_FILES  # sorted, POSIX, attestation excluded, public key included
    for subject in statement["subject"]:
        data = (signed / subject["name"]).read_bytes()
        assert subject["digest"] == {"sha256": hashlib.sha256(data).hexdigest()}


def test_the_predicate_holds_the_run_the_journal_head_and_the_signer(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    predicate = read_statement_json(signed)["predicate"]
    journal = read_journal(signed / "journal.jsonl")
    assert predicate == {
        "drill": "restore-orders",
        "version": "1.0.0",
        "digest": DRILL_DIGEST,
        "runId": signed.name,
        "target": "sandbox",
        "verdict": "passed",
        "startedAt": "2026-11-23T19:55:01.000000Z",
        "finishedAt": "2026-11-23T20:01:44.500000Z",
        "operator": "sre-on-call",
        "journal": {"head": journal.head, "events": 7},
        "drillkitVersion": "0.1.0",
        "signer": {
            "keyId": signer.key_id,
            "algorithm": "ed25519",
            "fingerprint": signer.key_id,
            "publicKey": "signer.pub.pem",
        },
    }


def test_the_payload_is_rfc_8785_canonical_json(signed: Path) -> None:
    envelope = read_envelope(signed)
    assert envelope.payload_type == PAYLOAD_TYPE
    assert envelope.payload == rfc8785.dumps(json.loads(envelope.payload))


def test_the_bundle_stores_the_signers_public_key(signed: Path, signer: Ed25519FileSigner) -> None:
    assert (signed / SIGNER_PUBLIC_KEY).read_bytes() == signer.public_key_pem


def test_signing_leaves_no_temporary_files_and_readable_modes(signed: Path) -> None:
    names = sorted(p.name for p in signed.iterdir())
    assert names == sorted([*{n.split("/")[0] for n in BUNDLE_FILES}, ATTESTATION])
    assert (signed / ATTESTATION).stat().st_mode & 0o777 == 0o644


def test_signing_again_replaces_the_attestation_and_still_verifies(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    kms = EcdsaP256Signer()
    sign_bundle(signed, kms, run_facts(signed))
    assert verify_bundle(signed, kms.public_key_pem).ok
    assert not verify_bundle(signed, signer.public_key_pem).ok


def test_aware_datetimes_are_written_in_utc(run_dir: Path, signer: Ed25519FileSigner) -> None:
    facts = run_facts(run_dir)
    east = timezone(timedelta(hours=2))
    facts["startedAt"] = datetime(2026, 11, 23, 21, 55, 1, tzinfo=east)
    facts["finishedAt"] = None
    sign_bundle(run_dir, signer, facts)
    predicate = read_statement_json(run_dir)["predicate"]
    assert predicate["startedAt"] == "2026-11-23T19:55:01.000000Z"
    assert "finishedAt" not in predicate


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verdict": ""}, "needs non-empty text for verdict"),
        ({"digest": "abc"}, "digest is not sha256:<hex>"),
        ({"journal": {}}, "may not set journal"),
        ({"startedAt": "yesterday"}, "startedAt is not a UTC RFC 3339 time"),
        ({"startedAt": datetime(2026, 1, 1)}, "naive"),  # naive on purpose
    ],
)
def test_facts_a_caller_gets_wrong_are_a_programming_error(
    run_dir: Path, signer: Ed25519FileSigner, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sign_bundle(run_dir, signer, {**run_facts(run_dir), **change})
    assert not (run_dir / ATTESTATION).exists()


def test_a_broken_journal_is_not_signed(run_dir: Path, signer: Ed25519FileSigner) -> None:
    path = run_dir / "journal.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"ok":false', b'"ok":true', 1))
    with pytest.raises(JournalError, match="hash does not match its content"):
        sign_bundle(run_dir, signer, run_facts(run_dir))
    assert not (run_dir / ATTESTATION).exists()


def test_a_journal_with_a_torn_last_line_is_not_signed(
    run_dir: Path, signer: Ed25519FileSigner
) -> None:
    with (run_dir / "journal.jsonl").open("ab") as journal:
        journal.write(b'{"data":{"sampler":"rto"')
    with pytest.raises(SigningRefused, match="ends with an unfinished line") as caught:
        sign_bundle(run_dir, signer, run_facts(run_dir))
    assert caught.value.fix is not None and "drill recover" in caught.value.fix


def test_a_definition_of_another_drill_digest_is_not_signed(
    run_dir: Path, signer: Ed25519FileSigner
) -> None:
    facts = {**run_facts(run_dir), "digest": "sha256:" + "11" * 32}
    with pytest.raises(SigningRefused, match=r"drill\.yaml in .* has digest sha256:3f3f"):
        sign_bundle(run_dir, signer, facts)
    assert not (run_dir / ATTESTATION).exists()


def test_a_signer_answering_raw_r_s_instead_of_der_is_caught_at_signing(run_dir: Path) -> None:
    with pytest.raises(SigningRefused, match="does not verify with its own public key") as caught:
        sign_bundle(run_dir, RawEcdsaSigner(), run_facts(run_dir))
    assert caught.value.fix is not None and "DER" in caught.value.fix
    assert not (run_dir / ATTESTATION).exists()


def test_a_symlink_in_the_folder_is_not_signed(run_dir: Path, signer: Ed25519FileSigner) -> None:
    (run_dir / "samples" / "latest.jsonl").symlink_to(run_dir / "samples" / "rto.jsonl")
    with pytest.raises(BundleError, match=r"samples/latest\.jsonl: is a symbolic link"):
        sign_bundle(run_dir, signer, run_facts(run_dir))
    assert not (run_dir / ATTESTATION).exists()


def test_a_signer_whose_algorithm_disagrees_with_its_key_is_refused(run_dir: Path) -> None:
    class Confused(EcdsaP256Signer):
        @property
        def algorithm(self) -> str:
            return "ed25519"

    with pytest.raises(SigningRefused, match="says it signs with ed25519"):
        sign_bundle(run_dir, Confused(), run_facts(run_dir))


def test_times_given_as_text_must_already_be_utc(run_dir: Path, signer: Ed25519FileSigner) -> None:
    facts = {**run_facts(run_dir), "startedAt": "2026-11-23T21:55:01+02:00"}
    with pytest.raises(ValueError, match="not a UTC RFC 3339 time"):
        sign_bundle(run_dir, signer, facts)
    facts["startedAt"] = datetime(2026, 11, 23, 19, 55, 1, tzinfo=UTC)
    sign_bundle(run_dir, signer, facts)
