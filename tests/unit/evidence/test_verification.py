"""Verifying a bundle: a good one passes every check; each tampering is named where it fails."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import JournalEvent
from drillkit.errors import UserInputError
from drillkit.evidence.attestation import PAYLOAD_TYPE, PREDICATE_TYPE
from drillkit.evidence.bundle import ATTESTATION, SIGNER_PUBLIC_KEY
from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.keys import InvalidKey
from drillkit.evidence.signing import sign_bundle
from drillkit.evidence.verification import (
    CHECKS,
    FAILED,
    OK,
    SKIPPED,
    TRUST_BUNDLE_KEY_WARNING,
    Check,
    VerificationResult,
    verify_bundle,
)
from drillkit.spec.digest import canonical_json
from tests.support.evidence_bundle import (
    DRILL_DIGEST,
    EcdsaP256Signer,
    b64,
    build_run_folder,
    edit_envelope_json,
    read_envelope,
    resign,
    run_facts,
)

CHECK_NAMES = [
    "envelope",
    "payload-type",
    "signature",
    "statement",
    "subjects",
    "completeness",
    "journal",
    "definition",
    "report",
]


def verify(run_dir: Path, signer: Ed25519FileSigner | EcdsaP256Signer) -> VerificationResult:
    return verify_bundle(run_dir, signer.public_key_pem)


def first_failure(result: VerificationResult) -> Check:
    assert not result.ok
    failure = result.first_failure
    assert failure is not None
    index = CHECK_NAMES.index(failure.name)
    assert [c.status for c in result.checks[:index]] == [OK] * index
    assert [c.status for c in result.checks[index + 1 :]] == [SKIPPED] * (8 - index)
    return failure


# --- a good bundle ------------------------------------------------------------------


def test_a_freshly_signed_bundle_passes_every_check_in_order(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    result = verify(signed, signer)
    assert result.ok
    assert [c.name for c in result.checks] == CHECK_NAMES == [name for name, _ in CHECKS]
    assert all(c.status == OK for c in result.checks)
    assert result.first_failure is None
    assert result.key_source == "--key"
    assert result.key_fingerprint == signer.key_id
    assert result.key_algorithm == "ed25519"
    assert result.warnings == ()
    assert result.run is not None
    assert (result.run.drill, result.run.run_id, result.run.verdict) == (
        "restore-orders",
        signed.name,
        "passed",
    )
    details = {c.name: c.detail for c in result.checks}
    assert details["subjects"] == "9 files, every sha256 matches"
    assert details["journal"].startswith("7 events, chain intact, head ")
    assert details["definition"] == f"drill.yaml is restore-orders 1.0.0 {DRILL_DIGEST}"
    assert details["report"] == (
        f"report.json: schema 1.1.0, run {signed.name}, drill digest and journal head as signed"
    )


def test_the_json_result_names_every_check_and_the_signed_run(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    document = verify(signed, signer).to_json()
    assert document["verified"] is True
    assert document["firstFailure"] is None
    assert document["key"] == {
        "source": "--key",
        "fingerprint": signer.key_id,
        "algorithm": "ed25519",
    }
    assert [c["status"] for c in document["checks"]] == ["ok"] * 9
    assert document["run"] == {
        "drill": "restore-orders",
        "version": "1.0.0",
        "digest": DRILL_DIGEST,
        "runId": signed.name,
        "target": "sandbox",
        "verdict": "passed",
        "startedAt": "2026-11-23T19:55:01.000000Z",
        "finishedAt": "2026-11-23T20:01:44.500000Z",
    }
    json.dumps(document)  # plain JSON all the way down


def test_a_bundle_signed_by_an_ecdsa_p256_kms_like_signer_verifies(run_dir: Path) -> None:
    kms = EcdsaP256Signer()
    sign_bundle(run_dir, kms, run_facts(run_dir))
    result = verify(run_dir, kms)
    assert result.ok, result.first_failure
    assert result.key_algorithm == "ecdsa-sha2-nistp256"
    assert result.key_fingerprint == kms.fingerprint
    assert read_envelope(run_dir).signatures[0].keyid == kms.key_id


def test_the_bundle_key_can_stand_in_for_the_signers_but_the_result_warns(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    result = verify_bundle(signed, None, trust_bundle_key=True)
    assert result.ok
    assert result.key_source == "bundle"
    assert result.key_fingerprint == signer.key_id
    assert result.warnings == (TRUST_BUNDLE_KEY_WARNING,)
    assert "not who signed them" in TRUST_BUNDLE_KEY_WARNING


def test_verification_is_a_pass_only_when_every_check_ran() -> None:
    partial = VerificationResult(
        Path("x"), (Check("envelope", OK, "fine"),), "--key", None, None, None
    )
    assert not partial.ok
    empty = VerificationResult(Path("x"), (), "--key", None, None, None)
    assert not empty.ok


# --- usage mistakes are errors, not results ---------------------------------------------


def test_without_a_key_verification_refuses_with_the_fix(signed: Path) -> None:
    with pytest.raises(UserInputError) as caught:
        verify_bundle(signed, None)
    assert caught.value.exit_code == 2
    assert caught.value.message == "refusing to verify without the signer's public key"
    assert caught.value.fix is not None and "--key" in caught.value.fix


def test_a_key_and_trusting_the_bundle_key_at_once_is_refused(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    with pytest.raises(UserInputError, match="not both"):
        verify_bundle(signed, signer.public_key_pem, trust_bundle_key=True)


def test_a_private_key_given_as_the_public_key_is_refused_without_echoing_it(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    private_pem = signer.path.read_bytes()
    with pytest.raises(InvalidKey) as caught:
        verify_bundle(signed, private_pem)
    assert "holds a private key" in caught.value.message
    assert private_pem.decode() not in caught.value.diagnostics()
    assert private_pem.splitlines()[1].decode() not in caught.value.diagnostics()


def test_a_folder_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such folder"):
        verify_bundle(tmp_path / "nope", b"", trust_bundle_key=False)


# --- the envelope ------------------------------------------------------------------------


def test_an_unsigned_run_folder_fails_at_the_envelope(run_dir: Path) -> None:
    failure = first_failure(verify_bundle(run_dir, EcdsaP256Signer().public_key_pem))
    assert (failure.name, failure.file, failure.detail) == ("envelope", ATTESTATION, "no such file")
    assert (failure.expected, failure.found) == ("a DSSE envelope", "no file")


def test_a_truncated_envelope_fails_at_the_envelope_naming_truncation(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / ATTESTATION
    path.write_bytes(path.read_bytes()[:120])
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "envelope",
        ATTESTATION,
        "not valid JSON",
    )
    assert failure.expected == "a DSSE envelope (a JSON object)"
    assert failure.found is not None and failure.found.endswith("(truncated)")


def test_a_garbled_envelope_fails_at_the_envelope_naming_line_and_column(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / ATTESTATION
    path.write_bytes(path.read_bytes().replace(b'"payloadType":', b'"payloadType";', 1))
    failure = first_failure(verify(signed, signer))
    assert failure.name == "envelope"
    assert failure.found is not None and failure.found.startswith("invalid JSON at line 3 column")


def test_binary_garbage_in_the_envelope_fails_cleanly(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    (signed / ATTESTATION).write_bytes(os.urandom(64) + b"\xff\xfe")
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.found) == ("envelope", "bytes that are not UTF-8")


def test_an_envelope_without_signatures_fails_at_the_envelope(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_envelope_json(signed, lambda d: d.update(signatures=[]))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == ("envelope", "the envelope is not signed")


def test_an_envelope_with_duplicate_keys_fails_at_the_envelope(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / ATTESTATION
    text = path.read_text().replace('"payloadType":', '"payloadType": "text/plain", "payloadType":')
    path.write_text(text)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == ("envelope", "a JSON object repeats a key")
    assert failure.found == "'payloadType' twice"


def test_an_attestation_that_is_a_symlink_fails_at_the_envelope(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    (signed / ATTESTATION).rename(elsewhere)
    (signed / ATTESTATION).symlink_to(elsewhere)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == ("envelope", "the file is a symbolic link")


# --- payload type, signature, statement ------------------------------------------------------


def test_a_payload_type_changed_even_by_the_key_holder_fails_at_payload_type(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    resign(signed, signer, payload_type="application/json")
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.expected, failure.found) == (
        "payload-type",
        PAYLOAD_TYPE,
        "'application/json'",
    )


def test_an_edited_payload_fails_at_the_signature(signed: Path, signer: Ed25519FileSigner) -> None:
    envelope = read_envelope(signed)
    forged = envelope.payload.replace(b'"verdict":"passed"', b'"verdict":"failed"')
    assert forged != envelope.payload
    edit_envelope_json(signed, lambda d: d.update(payload=b64(forged)))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "signature",
        ATTESTATION,
        "no signature verifies with the public key",
    )
    assert failure.expected == f"a valid ed25519 signature by key {signer.key_id}"


def test_a_signature_swapped_in_from_another_run_fails_at_the_signature(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    other = build_run_folder(tmp_path / "other", run_id="01JDRILLRUN0000000000000002")
    sign_bundle(other, signer, run_facts(other))
    other_sig = json.loads((other / ATTESTATION).read_bytes())["signatures"]
    edit_envelope_json(signed, lambda d: d.update(signatures=other_sig))
    failure = first_failure(verify(signed, signer))
    assert failure.name == "signature"
    assert (
        failure.found == f"1 signature that do not verify; the envelope names key {signer.key_id}"
    )


def test_a_bundle_checked_with_the_wrong_key_fails_at_the_signature_naming_both_keys(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    other_key = generate_key_file(tmp_path / "other.key")
    result = verify_bundle(signed, other_key.public_path.read_bytes())
    failure = first_failure(result)
    assert failure.name == "signature"
    assert failure.expected == f"a valid ed25519 signature by key {other_key.key_id}"
    assert failure.found is not None and signer.key_id in failure.found
    assert result.run is None  # nothing from an unverified statement is reported


def test_an_ecdsa_key_does_not_accept_an_ed25519_signature(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    failure = first_failure(verify(signed, EcdsaP256Signer()))
    assert failure.name == "signature"


def test_a_raw_r_s_ecdsa_signature_is_not_accepted_only_der(run_dir: Path) -> None:
    from tests.support.evidence_bundle import RawEcdsaSigner

    kms = EcdsaP256Signer()
    sign_bundle(run_dir, kms, run_facts(run_dir))
    raw = RawEcdsaSigner()
    raw.private_key = kms.private_key
    resign(run_dir, raw)
    failure = first_failure(verify(run_dir, kms))
    assert failure.name == "signature"


def test_a_statement_of_another_type_signed_by_the_key_holder_fails_at_the_statement(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    resign(signed, signer, edit=lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == (
        "statement",
        "the statement type is not in-toto Statement v1",
    )
    assert (failure.expected, failure.found) == (
        "https://in-toto.io/Statement/v1",
        "'https://in-toto.io/Statement/v0.1'",
    )


def test_a_foreign_predicate_type_fails_at_the_statement(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    resign(signed, signer, edit=lambda d: d.update(predicateType="https://slsa.dev/provenance/v1"))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.expected) == ("statement", PREDICATE_TYPE)


def test_a_predicate_without_the_journal_head_fails_at_the_statement(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    resign(signed, signer, edit=lambda d: d["predicate"].pop("journal"))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == (
        "statement",
        "the predicate's journal.head is missing",
    )


# --- the files ------------------------------------------------------------------------------


def test_a_flipped_byte_in_a_file_fails_at_subjects_naming_file_and_both_digests(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "report.json"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "subjects",
        "report.json",
        "the content changed after signing",
    )
    assert failure.expected == f"sha256 {before}"
    assert failure.found == f"sha256 {hashlib.sha256(bytes(data)).hexdigest()}"


def test_a_removed_file_fails_at_subjects(signed: Path, signer: Ed25519FileSigner) -> None:
    (signed / "samples" / "rto.jsonl").unlink()
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.found) == (
        "subjects",
        "samples/rto.jsonl",
        "no such file",
    )


def test_an_added_file_fails_at_completeness(signed: Path, signer: Ed25519FileSigner) -> None:
    (signed / "samples" / "extra.jsonl").write_text("{}\n")
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "completeness",
        "samples/extra.jsonl",
        "the file is not covered by the attestation (added after signing)",
    )
    assert failure.expected == "only the 9 signed files"


def test_a_file_replaced_by_a_symlink_to_identical_bytes_fails_at_subjects(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    target = signed / "samples" / "rto.jsonl"
    copy = tmp_path / "rto-copy.jsonl"
    shutil.copy(target, copy)
    target.unlink()
    target.symlink_to(copy)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file) == ("subjects", "samples/rto.jsonl")
    assert failure.detail == "is a symbolic link; a bundle holds only regular files"


def test_an_added_symlink_fails_at_completeness(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    (signed / "notes").symlink_to(tmp_path)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file) == ("completeness", "notes")
    assert failure.detail == "is a symbolic link; a bundle holds only regular files"


def test_a_subject_that_leaves_the_folder_is_refused_even_when_signed(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    outside = signed.parent / "secret.txt"
    outside.write_text("not evidence")

    def escape(document: dict[str, Any]) -> None:
        digest = hashlib.sha256(outside.read_bytes()).hexdigest()
        document["subject"].append({"name": "../secret.txt", "digest": {"sha256": digest}})

    resign(signed, signer, edit=escape)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file) == ("subjects", "../secret.txt")
    assert "not a relative path inside the bundle" in failure.detail


# --- the journal and the definition ----------------------------------------------------------


def edit_journal_line(run_dir: Path, index: int) -> None:
    """Change event ``index``'s data and give it a correct hash, but leave the next prev alone."""
    path = run_dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    event = JournalEvent.from_json(json.loads(lines[index]))
    data = {**event.data, "ok": not event.data.get("ok")}
    body = {**event.body(), "data": data}
    forged = JournalEvent(**{**body, "hash": hashlib.sha256(canonical_json(body)).hexdigest()})
    lines[index] = forged.to_json_line()
    path.write_bytes(b"".join(lines))


def test_an_edited_journal_line_fails_at_subjects_before_the_chain_is_read(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_journal_line(signed, 3)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file) == ("subjects", "journal.jsonl")


def test_an_edited_journal_line_signed_again_fails_at_the_journal_chain(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_journal_line(signed, 3)
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "journal",
        "journal.jsonl",
        "the hash chain is broken",
    )
    assert (failure.expected, failure.found) == (
        "an intact hash chain",
        "event 4 hash does not chain to event 3",
    )


def test_a_journal_cut_short_and_signed_again_fails_at_the_journal_head(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # the chain is intact, the run-ended event is gone
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == ("journal", "the journal's head is not the signed one")
    assert failure.found is not None and failure.found.endswith("after 6 events")


def test_a_changed_definition_digest_fails_at_subjects(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "drill.yaml"
    path.write_text(path.read_text().replace(DRILL_DIGEST, "sha256:" + "00" * 32))
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file) == ("subjects", "drill.yaml")


def test_a_changed_definition_digest_signed_again_fails_at_the_definition(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "drill.yaml"
    path.write_text(path.read_text().replace(DRILL_DIGEST, "sha256:" + "00" * 32))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "definition",
        "drill.yaml",
        "the definition's digest is not the signed drill digest",
    )
    assert (failure.expected, failure.found) == (DRILL_DIGEST, "sha256:" + "00" * 32)


def test_a_definition_without_its_digest_line_signed_again_fails_at_the_definition(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "drill.yaml"
    path.write_text("apiVersion: drillkit.io/v1\n")
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert failure.name == "definition"
    assert failure.detail == (
        "the first line is not `# <drill> <version> sha256:<digest>`, found 'apiVersion: drillkit.io/v1'"
    )


def test_two_journal_lines_swapped_and_signed_again_fail_at_the_journal_naming_the_events(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    path = signed / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]  # two samples, each line intact on its own
    path.write_bytes(b"".join(lines))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "journal",
        "journal.jsonl",
        "the hash chain is broken",
    )
    assert failure.found == "event 3 has seq 4, expected 3"


# --- the report ------------------------------------------------------------------------------


def edit_report(run_dir: Path, edit: Any) -> None:
    path = run_dir / "report.json"
    document = json.loads(path.read_bytes())
    edit(document)
    path.write_bytes(canonical_json(document))


def test_a_report_that_fails_the_schema_but_was_signed_again_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_report(signed, lambda d: d["run"].update(verdict="mostly-fine"))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "report",
        "report.json",
        "the report does not match the report schema",
    )
    assert failure.expected == (
        "a report valid against schemas/report.schema.json (schemaVersion 1.1.0)"
    )
    assert failure.found == (
        "run.verdict: Input should be 'passed', 'failed', 'aborted', 'refused', 'error' or "
        "'dry-run'"
    )


def test_a_report_with_a_field_the_schema_does_not_define_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_report(signed, lambda d: d.update(notes="added later", verdict="passed"))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert failure.name == "report"
    assert failure.found == "notes: Extra inputs are not permitted (and 1 more)"


def test_a_report_of_a_schema_version_drillkit_does_not_know_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_report(signed, lambda d: d.update(schemaVersion="2.0.0"))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == (
        "report",
        "the report's schemaVersion is not one this drillkit knows",
    )
    assert (failure.expected, failure.found) == ("one of 1.0.0, 1.1.0", '"2.0.0"')


def test_a_report_that_is_not_json_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    (signed / "report.json").write_text("# restore-orders: passed\n")
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.detail) == ("report", "not valid JSON")
    assert failure.found == "invalid JSON at line 1 column 1: Expecting value"


def test_a_missing_report_signed_again_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    (signed / "report.json").unlink()
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == ("report", "report.json", "no such file")


def test_a_report_of_another_run_swapped_in_and_signed_again_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner, tmp_path: Path
) -> None:
    other = build_run_folder(tmp_path / "other", run_id="01JDRILLRUN0000000000000002")
    shutil.copy(other / "report.json", signed / "report.json")
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert (failure.name, failure.file, failure.detail) == (
        "report",
        "report.json",
        "the report is about another run",
    )
    assert (failure.expected, failure.found) == (
        f"run id {signed.name}",
        "run id 01JDRILLRUN0000000000000002",
    )


def test_a_report_of_another_definition_or_journal_fails_at_the_report(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    edit_report(signed, lambda d: d["drill"].update(digest="sha256:" + "ab" * 32))
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert failure.detail == "the report is about another drill definition"
    assert failure.found == "drill digest sha256:" + "ab" * 32

    def other_journal(document: dict[str, Any]) -> None:
        document["drill"]["digest"] = DRILL_DIGEST
        document["sources"]["journalHead"] = "cd" * 32

    edit_report(signed, other_journal)
    resign(signed, signer)
    failure = first_failure(verify(signed, signer))
    assert failure.detail == "the report was computed from another journal"
    assert failure.found == "journal head " + "cd" * 32


def test_a_1_0_0_report_of_an_older_drillkit_still_verifies(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    def older(document: dict[str, Any]) -> None:
        document["schemaVersion"] = "1.0.0"
        del document["verification"]["signed"]

    edit_report(signed, older)
    resign(signed, signer)
    result = verify(signed, signer)
    assert result.ok, result.first_failure
    assert result.checks[-1].detail.startswith("report.json: schema 1.0.0, run ")


# --- runs made with --no-sign ---------------------------------------------------------------


def test_a_folder_of_a_no_sign_run_fails_at_the_envelope_saying_so(tmp_path: Path) -> None:
    run_dir = build_run_folder(tmp_path / "reports", no_sign=True)
    failure = first_failure(verify_bundle(run_dir, EcdsaP256Signer().public_key_pem))
    assert (failure.name, failure.file, failure.detail) == (
        "envelope",
        ATTESTATION,
        "the run was made with --no-sign: its evidence is not signed and cannot be verified",
    )
    assert failure.found == (
        "no file; the journal's run-started event records evidenceSigning 'disabled (--no-sign)'"
    )


def test_a_no_sign_run_cannot_be_signed_afterwards(
    tmp_path: Path, signer: Ed25519FileSigner
) -> None:
    from drillkit.evidence.seal import seal_bundle
    from drillkit.evidence.signing import SigningRefused

    run_dir = build_run_folder(tmp_path / "reports", no_sign=True)
    with pytest.raises(SigningRefused, match="was run with --no-sign"):
        seal_bundle(run_dir, signer)
    assert not (run_dir / ATTESTATION).exists()


# --- the bundle's own key --------------------------------------------------------------------


def test_trusting_the_bundle_key_still_fails_when_that_key_is_missing(signed: Path) -> None:
    (signed / SIGNER_PUBLIC_KEY).unlink()
    failure = first_failure(verify_bundle(signed, None, trust_bundle_key=True))
    assert (failure.name, failure.file, failure.detail) == (
        "signature",
        SIGNER_PUBLIC_KEY,
        "no such file",
    )


def test_swapping_the_bundle_key_and_signing_with_it_breaks_the_given_keys_check(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    impostor = EcdsaP256Signer()
    (signed / SIGNER_PUBLIC_KEY).write_bytes(impostor.public_key_pem)
    resign(signed, impostor)
    assert verify_bundle(signed, None, trust_bundle_key=True).ok  # integrity only, as warned
    assert first_failure(verify(signed, signer)).name == "signature"  # origin: refused


def test_failed_checks_keep_their_file_expected_and_found_in_json(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    (signed / "junit.xml").write_text("<testsuite/>")
    document = verify(signed, signer).to_json()
    assert document["verified"] is False
    assert document["firstFailure"]["name"] == "subjects"
    assert document["firstFailure"]["file"] == "junit.xml"
    assert document["firstFailure"]["expected"].startswith("sha256 ")
    assert [c["status"] for c in document["checks"]] == [
        "ok",
        "ok",
        "ok",
        "ok",
        FAILED,
        SKIPPED,
        SKIPPED,
        SKIPPED,
        SKIPPED,
    ]


def test_trusting_the_bundle_key_fails_when_that_key_is_no_key(signed: Path) -> None:
    (signed / SIGNER_PUBLIC_KEY).write_text("not a key")
    failure = first_failure(verify_bundle(signed, None, trust_bundle_key=True))
    assert (failure.name, failure.file, failure.detail) == (
        "signature",
        SIGNER_PUBLIC_KEY,
        "the bundle's public key is not usable",
    )
    assert failure.found == "is not a PEM public key"


def test_an_edited_keyid_hint_fails_at_the_statement(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    # DSSE leaves keyid unsigned: a forger can claim another signer without breaking the
    # signature, so the hint is held against the signer the signed predicate names.
    claimed = "sha256:" + "0" * 64

    def claim(document: dict[str, Any]) -> None:
        document["signatures"][0]["keyid"] = claimed

    edit_envelope_json(signed, claim)
    failure = first_failure(verify(signed, signer))
    assert failure.name == "statement"
    assert failure.detail == "the envelope's keyid does not match the signer the predicate names"
    assert failure.found == f"keyid {claimed}"


def test_a_predicate_naming_another_key_than_the_one_that_verifies_fails(
    signed: Path, signer: Ed25519FileSigner
) -> None:
    def other_signer(document: dict[str, Any]) -> None:
        document["predicate"]["signer"]["fingerprint"] = "sha256:" + "1" * 64

    resign(signed, signer, edit=other_signer)
    failure = first_failure(verify(signed, signer))
    assert failure.name == "statement"
    assert failure.detail == (
        "the signed predicate names another signing key than the one that verified"
    )
