"""The attestation format: an in-toto Statement v1 inside a DSSE envelope.

Both are public formats so that an auditor is not bound to drillkit: any DSSE
verifier (securesystemslib, sigstore, cosign, in-toto) can check the
signature, and any in-toto tool can read the subjects. The signature is over
DSSE's pre-authentication encoding (PAE) of the payload type and the payload
bytes, never over parsed JSON, so what is verified is exactly what was
signed. The statement is written as RFC 8785 canonical JSON, so the same run
always gives the same payload bytes.

Parsing is strict and says what it expected and what it found: a truncated
or garbled envelope, duplicate JSON keys (two parsers could read different
values), bad base64, a subject without a sha256. Which values are *accepted*
(payload type, statement type, predicate type) is the verifier's decision,
checked in its own order; this module only parses.

The predicate (``PREDICATE_TYPE``) is drillkit's own: the drill's name,
version and digest, the run id, target and verdict, start and end in UTC, the
journal's head hash and event count, the drillkit version and the signer.
Callers may add more facts (operator, host, provider); those are signed too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from drillkit.errors import DrillError
from drillkit.spec.digest import canonical_json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://drillkit.dev/evidence/run/v1"

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
DRILL_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_DEPTH_ERRORS = (RecursionError, ValueError)


class InvalidAttestation(DrillError):
    """An envelope or statement does not parse; says what was expected and what was found."""

    def __init__(self, problem: str, *, expected: str, found: str) -> None:
        super().__init__(f"{problem}; expected {expected}, found {found}")
        self.problem = problem
        self.expected = expected
        self.found = found


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: the exact bytes a signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class EnvelopeSignature:
    """One DSSE signature. ``keyid`` is an unauthenticated hint ("" when absent)."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: a typed payload and its signatures."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_json(self) -> bytes:
        """The envelope file's bytes (standard base64, as DSSE's JSON form writes it)."""
        document = {
            "payload": base64.standard_b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.standard_b64encode(s.sig).decode("ascii")}
                for s in self.signatures
            ],
        }
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        """Parse an envelope file; ``InvalidAttestation`` says what is wrong with it."""
        document = strict_json(raw, "a DSSE envelope (a JSON object)")
        if not isinstance(document, dict):
            raise InvalidAttestation(
                "not a DSSE envelope",
                expected="a JSON object with payloadType, payload and signatures",
                found=_kind(document),
            )
        for key, kind in (("payloadType", str), ("payload", str), ("signatures", list)):
            if key not in document:
                raise InvalidAttestation(
                    f"the envelope has no {key}", expected=f"a {key} field", found="none"
                )
            if not isinstance(document[key], kind):
                raise InvalidAttestation(
                    f"the envelope's {key} has the wrong type",
                    expected="text" if kind is str else "a list",
                    found=_kind(document[key]),
                )
        signatures = [_signature(index, item) for index, item in enumerate(document["signatures"])]
        if not signatures:
            raise InvalidAttestation(
                "the envelope is not signed", expected="at least one signature", found="none"
            )
        return cls(
            payload_type=document["payloadType"],
            payload=_base64(document["payload"], "payload"),
            signatures=tuple(signatures),
        )


@dataclass(frozen=True)
class Subject:
    """One covered file: its relative POSIX name and hex sha256."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Statement:
    """An in-toto Statement v1 over the bundle's files with drillkit's run predicate."""

    subjects: tuple[Subject, ...]
    predicate: dict[str, Any]
    predicate_type: str = PREDICATE_TYPE
    type: str = STATEMENT_TYPE

    def to_payload(self) -> bytes:
        """RFC 8785 canonical JSON: the bytes that go into the envelope."""
        return canonical_json(
            {
                "_type": self.type,
                "subject": [
                    {"name": s.name, "digest": {"sha256": s.sha256}} for s in self.subjects
                ],
                "predicateType": self.predicate_type,
                "predicate": self.predicate,
            }
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> Statement:
        """Parse the payload and accept only a Statement v1 with drillkit's predicate type."""
        document = strict_json(payload, "an in-toto Statement (a JSON object)")
        if not isinstance(document, dict):
            raise InvalidAttestation(
                "the payload is not an in-toto Statement",
                expected="a JSON object",
                found=_kind(document),
            )
        statement_type = document.get("_type")
        if statement_type != STATEMENT_TYPE:
            raise InvalidAttestation(
                "the statement type is not in-toto Statement v1",
                expected=STATEMENT_TYPE,
                found=_found(statement_type),
            )
        predicate_type = document.get("predicateType")
        if predicate_type != PREDICATE_TYPE:
            raise InvalidAttestation(
                "the predicate type is not a drillkit run",
                expected=PREDICATE_TYPE,
                found=_found(predicate_type),
            )
        predicate = document.get("predicate")
        if not isinstance(predicate, dict):
            raise InvalidAttestation(
                "the statement has no predicate", expected="a JSON object", found=_kind(predicate)
            )
        RunPredicate.from_json(predicate)  # required facts present and well-formed
        return cls(_subjects(document.get("subject")), predicate, predicate_type, statement_type)

    @property
    def run(self) -> RunPredicate:
        return RunPredicate.from_json(self.predicate)


@dataclass(frozen=True)
class RunPredicate:
    """The facts of drillkit's predicate that verification relies on or shows."""

    drill: str
    version: str
    digest: str
    run_id: str
    target: str
    verdict: str
    journal_head: str
    facts: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, predicate: dict[str, Any]) -> RunPredicate:
        text: dict[str, str] = {}
        for key in ("drill", "version", "digest", "runId", "target", "verdict"):
            value = predicate.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidAttestation(
                    f"the predicate's {key} is missing", expected="text", found=_found(value)
                )
            text[key] = value
        if not DRILL_DIGEST.fullmatch(text["digest"]):
            raise InvalidAttestation(
                "the predicate's digest is not a drill digest",
                expected="sha256:<64 hex digits>",
                found=_found(text["digest"]),
            )
        journal = predicate.get("journal")
        head = journal.get("head") if isinstance(journal, dict) else None
        if not isinstance(head, str) or not SHA256_HEX.fullmatch(head):
            raise InvalidAttestation(
                "the predicate's journal.head is missing",
                expected="the journal's head hash (64 hex digits)",
                found=_found(head),
            )
        return cls(
            drill=text["drill"],
            version=text["version"],
            digest=text["digest"],
            run_id=text["runId"],
            target=text["target"],
            verdict=text["verdict"],
            journal_head=head,
            facts=predicate,
        )


def _subjects(value: Any) -> tuple[Subject, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidAttestation(
            "the statement lists no subjects", expected="a non-empty list", found=_kind(value)
        )
    subjects: list[Subject] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        digest = item.get("digest") if isinstance(item, dict) else None
        sha256 = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidAttestation(
                f"subject {index} has no name", expected="a file name", found=_found(name)
            )
        if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
            raise InvalidAttestation(
                f"subject {name} has no sha256 digest",
                expected="digest.sha256 of 64 lowercase hex digits",
                found=_found(sha256),
            )
        if name in seen:
            raise InvalidAttestation(
                f"subject {name} is listed twice", expected="each file once", found="twice"
            )
        seen.add(name)
        subjects.append(Subject(name, sha256))
    return tuple(subjects)


def _signature(index: int, item: Any) -> EnvelopeSignature:
    if not isinstance(item, dict) or not isinstance(item.get("sig"), str):
        raise InvalidAttestation(
            f"signature {index} is malformed",
            expected='an object with a base64 "sig"',
            found=_kind(item),
        )
    keyid = item.get("keyid", "")
    if not isinstance(keyid, str):
        raise InvalidAttestation(
            f"signature {index} has a malformed keyid", expected="text", found=_kind(keyid)
        )
    return EnvelopeSignature(keyid, _base64(item["sig"], f"signature {index}"))


def _base64(text: str, what: str) -> bytes:
    """Standard or URL-safe base64, padded or not: DSSE allows either alphabet."""
    normalized = text.replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        return base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAttestation(
            f"the {what} is not base64", expected="base64 text", found=_found(text)
        ) from None


def strict_json(raw: bytes, expected: str) -> Any:
    """Parse JSON refusing repeated keys and NaN; ``InvalidAttestation`` names what is wrong."""
    if not raw.strip():
        raise InvalidAttestation("the file is empty", expected=expected, found="no bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidAttestation(
            "not valid JSON", expected=expected, found="bytes that are not UTF-8"
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            found = f"text that ends early, at {where} (truncated)"
        else:
            found = f"invalid JSON at {where}: {exc.msg}"
        raise InvalidAttestation("not valid JSON", expected=expected, found=found) from None
    except _DuplicateKey as exc:
        raise InvalidAttestation(
            "a JSON object repeats a key", expected="each key once", found=f"{exc.key!r} twice"
        ) from None
    except _MAX_DEPTH_ERRORS:
        raise InvalidAttestation(
            "not valid JSON", expected=expected, found="nesting too deep or a non-finite number"
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _kind(value: Any) -> str:
    if value is None:
        return "none"
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _found(value: Any) -> str:
    if value is None:
        return "none"
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
