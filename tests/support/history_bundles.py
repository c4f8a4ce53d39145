"""Signed run bundles with chosen facts, for history, scorecard and metrics tests.

Each bundle is what a run leaves, in miniature: a journal written by the real
``JournalWriter``, drill.yaml with its digest line, a report.json valid
against the report model (drill, target, verdict, times, RTO/RPO and
objectives as the test says), signed by the real ``sign_bundle``. So
``drill verify`` passes on them, and tampering with one makes it fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drillkit.engine.journal import JournalWriter, read_journal
from drillkit.evidence.key_files import Ed25519FileSigner
from drillkit.evidence.report import report_json
from drillkit.evidence.report_model import (
    Measurements,
    ObjectiveResult,
    RpoMeasurement,
    RtoMeasurement,
)
from drillkit.evidence.signing import sign_bundle
from tests.support.evidence_bundle import SteppingClock, minimal_report


@dataclass(frozen=True)
class RunSpec:
    drill: str
    run_id: str
    finished: str
    """RFC 3339 UTC, e.g. ``2026-11-01T10:00:00.000000Z``."""
    verdict: str = "passed"
    target: str = "sandbox"
    tier: int = 1
    rto: float | None = 12.5
    rto_objective: str | None = "30s"
    rpo: float | None = None
    rpo_objective: str | None = None


def digest_of(drill: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(drill.encode()).hexdigest()


def make_bundle(reports: Path, spec: RunSpec, signer: Ed25519FileSigner | None) -> Path:
    """Write (and with ``signer``, sign) the run folder ``reports/<drill>/<run-id>/``."""
    run_dir = reports / spec.drill / spec.run_id
    digest = digest_of(spec.drill)
    with JournalWriter(run_dir / "journal.jsonl", clock=SteppingClock()) as journal:
        journal.append(
            "run-started",
            None,
            runId=spec.run_id,
            drill=spec.drill,
            version="1.0.0",
            digest=digest,
            target=spec.target,
        )
        journal.append("run-ended", None, verdict=spec.verdict)
    (run_dir / "drill.yaml").write_text(
        f"# {spec.drill} 1.0.0 {digest}\napiVersion: drillkit.io/v1\nkind: Drill\n",
        encoding="utf-8",
    )
    head = read_journal(run_dir / "journal.jsonl").head
    base = minimal_report(spec.run_id, head, digest)
    objectives = []
    for name, value, target in (
        ("rto", spec.rto, spec.rto_objective),
        ("rpo", spec.rpo, spec.rpo_objective),
    ):
        if target is None:
            continue
        met = value is not None and spec.verdict == "passed"
        objectives.append(
            ObjectiveResult(
                name=name,
                title=name.upper(),
                declared=True,
                target=target,
                measured=f"{value}s" if value is not None else "not measured",
                value=value,
                status="met" if met else "not-met",
            )
        )
    report = base.model_copy(
        update={
            "drill": base.drill.model_copy(update={"name": spec.drill, "tier": spec.tier}),
            "run": base.run.model_copy(
                update={
                    "verdict": spec.verdict,
                    "started_at": spec.finished,
                    "ended_at": spec.finished,
                }
            ),
            "target": base.target.model_copy(update={"name": spec.target}),
            "objectives": tuple(objectives),
            "measurements": Measurements(
                rto=_rto(spec.rto), rpo=_rpo(spec.rpo), certificate_days_left=None
            ),
        }
    )
    (run_dir / "report.json").write_bytes(report_json(report))
    if signer is not None:
        sign_bundle(
            run_dir,
            signer,
            {
                "drill": spec.drill,
                "version": "1.0.0",
                "digest": digest,
                "runId": spec.run_id,
                "target": spec.target,
                "verdict": spec.verdict,
            },
        )
    return run_dir


def session_signer() -> Ed25519FileSigner:
    import os

    from tests.support.session import SIGNING_KEY

    return Ed25519FileSigner.load(Path(os.environ[SIGNING_KEY]), origin="test session")


def _rto(seconds: float | None) -> RtoMeasurement | None:
    if seconds is None:
        return None
    return RtoMeasurement(
        seconds=seconds,
        probe="http",
        sampling_interval_seconds=0.25,
        stable_for=3,
        samples=10,
        availability=0.9,
        phases={},
        latency_ms={},
    )


def _rpo(seconds: float | None) -> RpoMeasurement | None:
    if seconds is None:
        return None
    return RpoMeasurement(seconds=seconds, canary_writes_lost=1, canary_gaps=0, note="")
