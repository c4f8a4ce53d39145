"""Verifying a game-day bundle offline: its signature, its files, and every run it links.

In order, stopping at the first failure (later checks are then skipped, as in
``drill verify``): the envelope parses, the payload is an in-toto statement,
a signature verifies with the given public key, the statement is a drillkit
game-day, every file of the folder is a subject with the right sha256 and
none is missing, each linked run's attestation has the sha256 the game-day
signed, and each linked run's bundle passes ``drill verify`` with the same
key. A run folder that moved or changed after the day is named.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from drillkit.evidence.attestation import (
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    Envelope,
    InvalidAttestation,
    strict_json,
)
from drillkit.evidence.bundle import ATTESTATION, BundleError, list_files, sha256_member
from drillkit.evidence.keys import PublicKey, load_public_key
from drillkit.gameday.bundle import GAMEDAY_PREDICATE_TYPE, RUN_SUBJECT_PREFIX

CHECKS = ("envelope", "payload-type", "signature", "statement", "files", "runs", "run-bundles")


@dataclass(frozen=True)
class GameDayCheck:
    name: str
    status: str
    """ok, failed or skipped."""
    detail: str


@dataclass(frozen=True)
class GameDayVerification:
    folder: Path
    checks: tuple[GameDayCheck, ...]
    predicate: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return len(self.checks) == len(CHECKS) and all(c.status == "ok" for c in self.checks)


class _Failed(Exception):
    pass


class _Checks:
    """The checks in order; each reads only what an earlier one established."""

    def __init__(self, folder: Path, key: PublicKey) -> None:
        self.folder = folder
        self.key = key
        self.state: dict[str, Any] = {}

    def envelope(self) -> str:
        try:
            self.state["envelope"] = Envelope.from_json((self.folder / ATTESTATION).read_bytes())
        except FileNotFoundError:
            raise _Failed(f"{ATTESTATION}: no such file") from None
        except InvalidAttestation as exc:
            raise _Failed(f"{ATTESTATION}: {exc.message}") from None
        return f"{ATTESTATION} is a DSSE envelope"

    def payload_type(self) -> str:
        if self.state["envelope"].payload_type != PAYLOAD_TYPE:
            raise _Failed(
                f"payload type {self.state['envelope'].payload_type!r}, not {PAYLOAD_TYPE}"
            )
        return PAYLOAD_TYPE

    def signature(self) -> str:
        env: Envelope = self.state["envelope"]
        if not any(self.key.verify(s.sig, env.pae()) for s in env.signatures):
            raise _Failed(f"no signature verifies with key {self.key.fingerprint}")
        return f"valid {self.key.algorithm} signature by key {self.key.fingerprint}"

    def statement(self) -> str:
        try:
            document = strict_json(self.state["envelope"].payload, "an in-toto Statement")
        except InvalidAttestation as exc:
            raise _Failed(exc.message) from None
        if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
            raise _Failed(f"not an in-toto Statement v1 ({STATEMENT_TYPE})")
        if document.get("predicateType") != GAMEDAY_PREDICATE_TYPE:
            raise _Failed(
                f"predicate type {document.get('predicateType')!r}, not {GAMEDAY_PREDICATE_TYPE}"
            )
        subjects = {}
        for item in document.get("subject") or []:
            subjects[str(item["name"])] = str(item["digest"]["sha256"])
        self.state["subjects"] = subjects
        self.state["predicate"] = document.get("predicate") or {}
        predicate = self.state["predicate"]
        return f"game-day {predicate.get('gameday')} {predicate.get('gamedayId')}"

    def files(self) -> str:
        local = {
            n: d for n, d in self.state["subjects"].items() if not n.startswith(RUN_SUBJECT_PREFIX)
        }
        try:
            present = list_files(self.folder)
            for name, digest in sorted(local.items()):
                found = sha256_member(self.folder, name)
                if found != digest:
                    raise _Failed(f"{name}: sha256 {found[:16]}..., signed {digest[:16]}...")
        except BundleError as exc:
            raise _Failed(exc.message) from None
        extra = sorted(set(present) - set(local))
        if extra:
            raise _Failed(f"{extra[0]}: not covered by the signature (added after signing)")
        return f"{len(local)} files, every sha256 matches"

    def runs(self) -> str:
        root = (self.folder / str(self.state["predicate"].get("runsRoot", "../../.."))).resolve()
        linked = {
            n: d for n, d in self.state["subjects"].items() if n.startswith(RUN_SUBJECT_PREFIX)
        }
        self.state["run_dirs"] = []
        for name, digest in sorted(linked.items()):
            path = PurePosixPath(name[len(RUN_SUBJECT_PREFIX) :])
            if path.is_absolute() or ".." in path.parts or path.name != ATTESTATION:
                raise _Failed(f"{name}: not a run attestation inside the reports folder")
            file = root.joinpath(*path.parts)
            try:
                found = hashlib.sha256(file.read_bytes()).hexdigest()
            except OSError:
                raise _Failed(f"{name}: the run's attestation is missing at {file}") from None
            if found != digest:
                raise _Failed(f"{name}: sha256 {found[:16]}..., signed {digest[:16]}...")
            self.state["run_dirs"].append(file.parent)
        return f"{len(linked)} run attestations, every sha256 matches"

    def run_bundles(self) -> str:
        from drillkit.evidence.verification import verify_bundle

        for run_dir in self.state["run_dirs"]:
            result = verify_bundle(run_dir, self.key.pem)
            failure = result.first_failure
            if not result.ok:
                why = f"{failure.name}: {failure.detail}" if failure else "incomplete"
                raise _Failed(f"{run_dir}: {why}")
        return f"{len(self.state['run_dirs'])} run bundles verify with the same key"


def verify_gameday(folder: Path, public_key_pem: bytes) -> GameDayVerification:
    """Run every check on the game-day folder with the signer's public key."""
    key = load_public_key(public_key_pem, source="the given public key")
    checker = _Checks(folder, key)
    steps = (
        checker.envelope,
        checker.payload_type,
        checker.signature,
        checker.statement,
        checker.files,
        checker.runs,
        checker.run_bundles,
    )
    checks: list[GameDayCheck] = []
    for name, step in zip(CHECKS, steps, strict=True):
        if checks and checks[-1].status != "ok":
            checks.append(GameDayCheck(name, "skipped", "not checked: an earlier check failed"))
            continue
        try:
            checks.append(GameDayCheck(name, "ok", step()))
        except _Failed as exc:
            checks.append(GameDayCheck(name, "failed", str(exc)))
        except (KeyError, TypeError) as exc:
            checks.append(GameDayCheck(name, "failed", f"malformed statement: {exc}"))
    ok = all(c.status == "ok" for c in checks)
    return GameDayVerification(
        folder, tuple(checks), checker.state.get("predicate") if ok else None
    )


def summary_json(result: GameDayVerification) -> str:
    return json.dumps(
        {
            "folder": str(result.folder),
            "verified": result.ok,
            "checks": [c.__dict__ for c in result.checks],
        },
        indent=2,
    )
