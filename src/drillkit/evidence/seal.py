"""Sealing a run folder: render the reports, then sign everything, in that order.

Called once the run's journal is closed (by ``drill run``, later by game-days
and ``drill recover``). Everything it needs comes from the folder itself: the
facts signed into the attestation are the ones the journal's ``run-started``
and ``run-ended`` events recorded, so sealing again later gives the same
statement about the same run.

A run made with ``--no-sign`` is sealed without a signer: its reports are
written (and say the evidence is unsigned), nothing is signed. Signing such
a run afterwards is refused, since its report would then contradict its
attestation; and a run that did not opt out is never left unsigned here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit.engine.journal import read_journal
from drillkit.evidence.bundle import ATTESTATION
from drillkit.evidence.no_sign import is_unsigned_run
from drillkit.evidence.signing import Signer, SigningRefused, sign_bundle

_SIGNED_RUN_FACTS = (
    "drill",
    "version",
    "digest",
    "runId",
    "target",
    "provider",
    "operator",
    "host",
)


@dataclass(frozen=True)
class SealedBundle:
    run_dir: Path
    reports: tuple[Path, ...]
    attestation: Path | None
    """None for a run made with ``--no-sign``."""


def seal_bundle(run_dir: Path, signer: Signer | None) -> SealedBundle:
    """Write report.json/md/html and junit.xml, then the signed attestation over every file.

    ``signer`` is None exactly when the run was made with ``--no-sign``
    (``is_unsigned_run``); ``SigningRefused`` otherwise says which way it differs.
    """
    from drillkit.evidence.reports import write_reports

    unsigned = is_unsigned_run(run_dir)
    if unsigned and signer is not None:
        raise SigningRefused(
            f"{run_dir} was run with --no-sign; its report says the evidence is unsigned, "
            "so it is not signed now",
            fix="run the drill again without --no-sign for signed evidence",
        )
    if not unsigned and signer is None:
        raise ValueError(f"{run_dir} was not run with --no-sign: it needs a signer")
    reports = tuple(write_reports(run_dir))
    if signer is None:
        return SealedBundle(run_dir, reports, None)
    attestation = sign_bundle(run_dir, signer, run_facts(run_dir))
    return SealedBundle(run_dir, reports, attestation)


def run_facts(run_dir: Path) -> dict[str, Any]:
    """What the attestation states about the run, taken from its journal."""
    events = read_journal(run_dir / "journal.jsonl").events
    started = next((e for e in events if e.type == "run-started"), None)
    ended = next((e for e in reversed(events) if e.type == "run-ended"), None)
    if started is None:
        raise ValueError(f"{run_dir / 'journal.jsonl'} has no run-started event")
    facts: dict[str, Any] = {
        key: str(started.data[key]) for key in _SIGNED_RUN_FACTS if key in started.data
    }
    facts["verdict"] = str(ended.data.get("verdict")) if ended is not None else "unfinished"
    facts["startedAt"] = started.time
    if ended is not None:
        facts["finishedAt"] = ended.time
    return facts


def is_sealed(run_dir: Path) -> bool:
    return (run_dir / ATTESTATION).exists()
