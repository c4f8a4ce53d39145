"""Verifying an evidence bundle offline, with nothing but the folder and a public key.

Checks run in a fixed order and the first one that fails ends the
verification; every later check is reported as skipped, never as passed:
once the signature fails, nothing the statement says can be trusted, and
once a file's digest fails, the journal read from it proves nothing. Each
failure names the file and what was expected against what was found.

    envelope      attestation.intoto.json parses as a DSSE envelope
    payload-type  the payload is an in-toto statement
    signature     a signature verifies over the PAE with the public key
    statement     in-toto Statement v1 with drillkit's run predicate
    subjects      every listed file exists and its sha256 matches
    completeness  no file in the folder is missing from the subjects
    journal       the hash chain is intact and its head is the predicate's
    definition    drill.yaml's digest line is the predicate's drill digest
    report        report.json is a report of a known schema version, valid against
                  the report model (the source of its JSON Schema), about the signed
                  run: its run id, drill digest and journal head are the predicate's

The public key comes from the person verifying (``--key``): that is what
proves who signed. Using the key stored in the bundle
(``trust_bundle_key``) proves only that the files were not changed since
signing, and the result says so in its warnings. Verification fails closed:
a result is verified only when every check in the list ran and passed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from drillkit.errors import UserInputError
from drillkit.evidence.attestation import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    Envelope,
    InvalidAttestation,
    RunPredicate,
    Statement,
)
from drillkit.evidence.bundle import (
    ATTESTATION,
    DEFINITION,
    JOURNAL,
    SIGNER_PUBLIC_KEY,
    BundleError,
    definition_digest,
    list_files,
    sha256_member,
)
from drillkit.evidence.keys import InvalidKey, PublicKey, load_public_key
from drillkit.evidence.no_sign import NO_SIGN, is_unsigned_run

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"

TRUST_BUNDLE_KEY_WARNING = (
    f"verified with the public key stored in the bundle ({SIGNER_PUBLIC_KEY}): this proves "
    "the files were not changed after signing, not who signed them; pass --key with the "
    "signer's public key, obtained separately, to prove origin"
)
_MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
_MAX_KEY_BYTES = 64 * 1024
_MAX_REPORT_BYTES = 256 * 1024 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ok, failed (with file, expected, found) or skipped."""

    name: str
    status: str
    detail: str
    file: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "file": self.file,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True)
class VerificationResult:
    """Every check in order, the key used, and the run facts once their signature verified."""

    run_dir: Path
    checks: tuple[Check, ...]
    key_source: str
    key_fingerprint: str | None
    key_algorithm: str | None
    run: RunPredicate | None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True only when every check ran and passed (an empty list is not a pass)."""
        return len(self.checks) == len(CHECKS) and all(c.status == OK for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.status == FAILED), None)

    def to_json(self) -> dict[str, Any]:
        failure = self.first_failure
        return {
            "bundle": str(self.run_dir),
            "verified": self.ok,
            "key": {
                "source": self.key_source,
                "fingerprint": self.key_fingerprint,
                "algorithm": self.key_algorithm,
            },
            "checks": [c.to_json() for c in self.checks],
            "firstFailure": failure.to_json() if failure is not None else None,
            "run": _run_json(self.run) if self.run is not None else None,
            "warnings": list(self.warnings),
        }


def verify_bundle(
    run_dir: Path, public_key_pem: bytes | None, *, trust_bundle_key: bool = False
) -> VerificationResult:
    """Verify the bundle in ``run_dir`` with ``public_key_pem`` (or the bundle's own key).

    A usage mistake (no key and no ``trust_bundle_key``, both at once, a key
    that is not a usable public key, a folder that does not exist) raises a
    ``UserInputError``; everything about the bundle itself is in the result.
    """
    run_dir = Path(run_dir)
    if public_key_pem is None and not trust_bundle_key:
        raise UserInputError(
            "refusing to verify without the signer's public key",
            fix="pass --key with the signer's public key (the .pub file of the key that "
            "signed the run); --trust-bundle-key checks integrity only, not origin",
        )
    if public_key_pem is not None and trust_bundle_key:
        raise UserInputError(
            "give either --key or --trust-bundle-key, not both",
            fix="with the signer's public key at hand, pass only --key",
        )
    if not run_dir.is_dir():
        raise UserInputError(
            f"{run_dir}: no such folder",
            fix="pass a run folder, reports/<drill>/<run-id>/",
        )
    state = _State(run_dir)
    if public_key_pem is not None:
        state.key = load_public_key(public_key_pem, source="the given public key")
    checks: list[Check] = []
    for name, step in CHECKS:
        if checks and checks[-1].status != OK:
            checks.append(Check(name, SKIPPED, "not checked: an earlier check failed"))
            continue
        try:
            checks.append(Check(name, OK, step(state)))
        except _Failure as failure:
            checks.append(
                Check(name, FAILED, failure.problem, failure.file, failure.expected, failure.found)
            )
    key = state.key
    return VerificationResult(
        run_dir=run_dir,
        checks=tuple(checks),
        key_source="bundle" if trust_bundle_key else "--key",
        key_fingerprint=key.fingerprint if key is not None else None,
        key_algorithm=key.algorithm if key is not None else None,
        run=state.run,
        warnings=(TRUST_BUNDLE_KEY_WARNING,) if trust_bundle_key else (),
    )


class _Failure(Exception):
    def __init__(
        self, file: str | None, problem: str, *, expected: str | None, found: str | None
    ) -> None:
        super().__init__(problem)
        self.file = file
        self.problem = problem
        self.expected = expected
        self.found = found


@dataclass
class _State:
    """What the checks learn, in order; a check only reads what an earlier one established."""

    run_dir: Path
    key: PublicKey | None = None
    envelope: Envelope | None = None
    statement: Statement | None = None
    run: RunPredicate | None = None
    subject_names: set[str] = field(default_factory=set)
    signed_by: str = ""
    """The ``keyid`` the verifying signature carries in the envelope (unsigned in DSSE)."""


def _check_envelope(state: _State) -> str:
    if not os.path.lexists(state.run_dir / ATTESTATION) and is_unsigned_run(state.run_dir):
        raise _Failure(
            ATTESTATION,
            "the run was made with --no-sign: its evidence is not signed and cannot be verified",
            expected="a DSSE envelope",
            found=f"no file; the journal's run-started event records evidenceSigning {NO_SIGN!r}",
        )
    raw = _read_regular(state.run_dir, ATTESTATION, _MAX_ENVELOPE_BYTES, "a DSSE envelope")
    try:
        state.envelope = Envelope.from_json(raw)
    except InvalidAttestation as exc:
        raise _Failure(ATTESTATION, exc.problem, expected=exc.expected, found=exc.found) from None
    count = len(state.envelope.signatures)
    return f"{ATTESTATION} is a DSSE envelope with {count} signature{'s' * (count != 1)}"


def _check_payload_type(state: _State) -> str:
    envelope = _need(state.envelope)
    if envelope.payload_type != PAYLOAD_TYPE:
        raise _Failure(
            ATTESTATION,
            "the payload is not an in-toto statement",
            expected=PAYLOAD_TYPE,
            found=repr(envelope.payload_type)[:80],
        )
    return PAYLOAD_TYPE


def _check_signature(state: _State) -> str:
    envelope = _need(state.envelope)
    if state.key is None:  # trust_bundle_key: the key stored in the bundle
        raw = _read_regular(state.run_dir, SIGNER_PUBLIC_KEY, _MAX_KEY_BYTES, "a PEM public key")
        try:
            state.key = load_public_key(raw, source=SIGNER_PUBLIC_KEY)
        except InvalidKey as exc:
            raise _Failure(
                SIGNER_PUBLIC_KEY,
                "the bundle's public key is not usable",
                expected="a PEM public key (Ed25519 or ECDSA P-256)",
                found=exc.message.removeprefix(f"{SIGNER_PUBLIC_KEY} "),
            ) from None
    key = state.key
    data = envelope.pae()
    verifying = next((s for s in envelope.signatures if key.verify(s.sig, data)), None)
    if verifying is not None:
        state.signed_by = verifying.keyid
        return f"valid {key.algorithm} signature by key {key.fingerprint}"
    hints = sorted({s.keyid for s in envelope.signatures if s.keyid})
    named = f"; the envelope names key {', '.join(hints)}" if hints else ""
    count = len(envelope.signatures)
    raise _Failure(
        ATTESTATION,
        "no signature verifies with the public key",
        expected=f"a valid {key.algorithm} signature by key {key.fingerprint}",
        found=f"{count} signature{'s' * (count != 1)} that do not verify{named}",
    )


def _check_statement(state: _State) -> str:
    try:
        statement = Statement.from_payload(_need(state.envelope).payload)
    except InvalidAttestation as exc:
        raise _Failure(ATTESTATION, exc.problem, expected=exc.expected, found=exc.found) from None
    _check_signer_named(state, statement)
    state.statement = statement
    state.run = statement.run
    return f"in-toto Statement v1, predicate {PREDICATE_TYPE}"


def _check_signer_named(state: _State, statement: Statement) -> None:
    """The signed predicate names the key that verified, and the envelope's hint agrees.

    DSSE leaves ``keyid`` outside the signature, so an edited hint would
    otherwise let a bundle claim another signer than the one whose key
    verified it; the predicate's ``signer`` is signed, so it is the reference.
    """
    signer = statement.predicate.get("signer")
    if not isinstance(signer, dict):
        return  # older bundles carry no signer; the signature check already named the key
    key = _need(state.key)
    if signer.get("fingerprint") not in (None, key.fingerprint):
        raise _Failure(
            ATTESTATION,
            "the signed predicate names another signing key than the one that verified",
            expected=f"signer fingerprint {key.fingerprint}",
            found=f"signer fingerprint {signer.get('fingerprint')}",
        )
    named = signer.get("keyId")
    if named is not None and state.signed_by and state.signed_by != named:
        raise _Failure(
            ATTESTATION,
            "the envelope's keyid does not match the signer the predicate names",
            expected=f"keyid {named}",
            found=f"keyid {state.signed_by}",
        )


def _check_subjects(state: _State) -> str:
    subjects = _need(state.statement).subjects
    for subject in subjects:
        expected = f"sha256 {subject.sha256}"
        if subject.name == ATTESTATION:
            raise _Failure(
                ATTESTATION,
                "the attestation lists itself as a subject",
                expected="every file but the attestation",
                found="the attestation",
            )
        try:
            actual = sha256_member(state.run_dir, subject.name)
        except BundleError as exc:
            raise _Failure(
                subject.name, exc.problem, expected=expected, found=exc.problem
            ) from None
        if actual != subject.sha256:
            raise _Failure(
                subject.name,
                "the content changed after signing",
                expected=expected,
                found=f"sha256 {actual}",
            )
        state.subject_names.add(subject.name)
    count = len(subjects)
    return f"{count} file{'s' * (count != 1)}, every sha256 matches"


def _check_completeness(state: _State) -> str:
    try:
        names = list_files(state.run_dir)
    except BundleError as exc:
        raise _Failure(
            exc.name, exc.problem, expected="regular files only", found=exc.problem
        ) from None
    extra = [name for name in names if name not in state.subject_names]
    if extra:
        raise _Failure(
            extra[0],
            "the file is not covered by the attestation (added after signing)",
            expected=f"only the {len(state.subject_names)} signed files",
            found=f"{len(extra)} more: {', '.join(extra[:5])}{' ...' * (len(extra) > 5)}",
        )
    return "no file besides the signed ones"


def _check_journal(state: _State) -> str:
    from drillkit.engine.journal import JournalError, read_journal

    run = _need(state.run)
    try:
        read = read_journal(state.run_dir / JOURNAL, verify=True)
    except JournalError as exc:
        problem = exc.message.removeprefix(f"{JOURNAL}: ")
        raise _Failure(
            JOURNAL, "the hash chain is broken", expected="an intact hash chain", found=problem
        ) from None
    if read.partial_tail is not None:
        raise _Failure(
            JOURNAL,
            "the journal ends with an unfinished line",
            expected="complete events only",
            found=f"{len(read.partial_tail)} bytes after the last event",
        )
    if read.head != run.journal_head:
        raise _Failure(
            JOURNAL,
            "the journal's head is not the signed one",
            expected=f"head {run.journal_head}",
            found=f"head {read.head} after {len(read.events)} events",
        )
    return f"{len(read.events)} events, chain intact, head {read.head[:16]} as signed"


def _check_definition(state: _State) -> str:
    run = _need(state.run)
    try:
        digest = definition_digest(state.run_dir)
    except BundleError as exc:
        raise _Failure(
            DEFINITION, exc.problem, expected=f"digest {run.digest}", found=exc.problem
        ) from None
    if digest != run.digest:
        raise _Failure(
            DEFINITION,
            "the definition's digest is not the signed drill digest",
            expected=run.digest,
            found=digest,
        )
    return f"{DEFINITION} is {run.drill} {run.version} {run.digest}"


def _check_report(state: _State) -> str:
    from drillkit.evidence.report_check import REPORT, ReportProblem, check_report

    run = _need(state.run)
    raw = _read_regular(state.run_dir, REPORT, _MAX_REPORT_BYTES, "the run's report")
    try:
        return f"{REPORT}: {check_report(raw, run)}"
    except ReportProblem as problem:
        raise _Failure(
            REPORT, problem.problem, expected=problem.expected, found=problem.found
        ) from None


CHECKS: tuple[tuple[str, Callable[[_State], str]], ...] = (
    ("envelope", _check_envelope),
    ("payload-type", _check_payload_type),
    ("signature", _check_signature),
    ("statement", _check_statement),
    ("subjects", _check_subjects),
    ("completeness", _check_completeness),
    ("journal", _check_journal),
    ("definition", _check_definition),
    ("report", _check_report),
)
"""The checks in the order they run; a bundle is verified when all of them pass."""


def _read_regular(run_dir: Path, name: str, limit: int, expected: str) -> bytes:
    path = run_dir / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise _Failure(name, "no such file", expected=expected, found="no file") from None
    except OSError as exc:
        raise _Failure(name, "cannot read", expected=expected, found=str(exc.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise _Failure(name, f"the file is {kind}", expected=expected, found=kind)
    if info.st_size > limit:
        raise _Failure(
            name, "the file is too large", expected=expected, found=f"{info.st_size} bytes"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise _Failure(name, "cannot read", expected=expected, found=str(exc.strerror)) from None


def _need(value: _T | None) -> _T:
    if value is None:  # a check ran before the one that sets this: a bug in CHECKS
        raise RuntimeError("verification checks ran out of order")
    return value


def _run_json(run: RunPredicate) -> dict[str, Any]:
    facts = run.facts
    return {
        key: facts[key]
        for key in (
            "drill",
            "version",
            "digest",
            "runId",
            "target",
            "verdict",
            "startedAt",
            "finishedAt",
        )
        if key in facts
    }
