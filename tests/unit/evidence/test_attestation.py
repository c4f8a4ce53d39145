"""The envelope and statement formats: round trips, and what strict parsing refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drillkit.evidence.attestation import (
    PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    InvalidAttestation,
    Statement,
    Subject,
)
from tests.support.evidence_bundle import DRILL_DIGEST

PREDICATE = {
    "drill": "restore-orders",
    "version": "1.0.0",
    "digest": DRILL_DIGEST,
    "runId": "01J",
    "target": "sandbox",
    "verdict": "passed",
    "journal": {"head": "ab" * 32, "events": 3},
}


def statement_document(**changes: Any) -> dict[str, Any]:
    payload = Statement((Subject("journal.jsonl", "cd" * 32),), dict(PREDICATE)).to_payload()
    document: dict[str, Any] = json.loads(payload)
    document.update(changes)
    return document


def parse_statement(document: dict[str, Any]) -> InvalidAttestation:
    with pytest.raises(InvalidAttestation) as caught:
        Statement.from_payload(json.dumps(document).encode())
    return caught.value


def test_an_envelope_round_trips_through_its_file_form() -> None:
    envelope = Envelope(PAYLOAD_TYPE, b'{"a":1}', (EnvelopeSignature("k1", b"\x00\xff" * 32),))
    raw = envelope.to_json()
    assert json.loads(raw)["payload"] == "eyJhIjoxfQ=="
    assert Envelope.from_json(raw) == envelope


def test_a_signature_without_a_keyid_is_accepted_as_dsse_allows() -> None:
    raw = json.dumps({"payloadType": "x", "payload": "", "signatures": [{"sig": "AAAA"}]})
    assert Envelope.from_json(raw.encode()).signatures == (EnvelopeSignature("", b"\x00\x00\x00"),)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "not a DSSE envelope"),
        ({"payload": "", "signatures": []}, "the envelope has no payloadType"),
        ({"payloadType": 1, "payload": "", "signatures": []}, "payloadType has the wrong type"),
        ({"payloadType": "x", "payload": "%%%", "signatures": [{"sig": ""}]}, "not base64"),
        ({"payloadType": "x", "payload": "", "signatures": ["sig"]}, "signature 0 is malformed"),
        (
            {"payloadType": "x", "payload": "", "signatures": [{"sig": "", "keyid": 5}]},
            "signature 0 has a malformed keyid",
        ),
    ],
)
def test_malformed_envelopes_are_refused_saying_what_is_wrong(document: Any, problem: str) -> None:
    with pytest.raises(InvalidAttestation) as caught:
        Envelope.from_json(json.dumps(document).encode())
    assert problem in caught.value.problem


def test_pathological_json_is_refused_not_crashed_on() -> None:
    for raw in (b"[" * 100_000, b'{"payload": NaN}', b"", b"   \n"):
        with pytest.raises(InvalidAttestation):
            Envelope.from_json(raw)


def test_a_statement_round_trips_and_exposes_the_run() -> None:
    statement = Statement.from_payload(json.dumps(statement_document()).encode())
    assert statement.subjects == (Subject("journal.jsonl", "cd" * 32),)
    assert statement.run.journal_head == "ab" * 32
    assert statement.run.digest == DRILL_DIGEST


def test_a_subject_listed_twice_is_refused() -> None:
    twice = [{"name": "a", "digest": {"sha256": "cd" * 32}}] * 2
    assert parse_statement(statement_document(subject=twice)).problem == "subject a is listed twice"


def test_a_subject_without_a_sha256_is_refused() -> None:
    only_sha1 = [{"name": "a", "digest": {"sha1": "cd" * 20}}]
    error = parse_statement(statement_document(subject=only_sha1))
    assert error.problem == "subject a has no sha256 digest"


def test_a_statement_without_subjects_is_refused() -> None:
    error = parse_statement(statement_document(subject=[]))
    assert error.problem == "the statement lists no subjects"


def test_a_predicate_with_a_malformed_digest_is_refused() -> None:
    predicate = {**PREDICATE, "digest": "md5:abc"}
    error = parse_statement(statement_document(predicate=predicate))
    assert (error.problem, error.found) == (
        "the predicate's digest is not a drill digest",
        "'md5:abc'",
    )
