"""One run as the history sees it: the facts of its ``report.json``, flattened to a row.

The history never trusts anything but the bundle: each record is read from
the run folder's ``report.json`` (validated against the report model, so a
damaged or foreign file is skipped with a reason rather than half-read), and
carries a stamp (size and modification time of the report and attestation)
so the index can tell when a bundle changed under it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from drillkit.evidence.bundle import ATTESTATION
from drillkit.evidence.report_model import ObjectiveResult, Report
from drillkit.spec.duration import parse_duration

REPORT = "report.json"
_MAX_REPORT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RunRecord:
    """The facts of one finished run that history, scorecard and metrics need."""

    run_dir: str
    """The run folder relative to the reports folder, POSIX (``restore-orders/01J...``)."""
    stamp: str
    drill: str
    version: str
    tier: int
    target: str
    run_id: str
    started_at: str
    ended_at: str | None
    verdict: str
    rto_seconds: float | None
    rto_objective_seconds: float | None
    rpo_seconds: float | None
    rpo_objective_seconds: float | None
    objectives_met: bool
    """Every objective the drill declares was measured and met (true when it declares none)."""
    signed: bool

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def counts(self) -> bool:
        """Dry runs and refused runs changed nothing, so they say nothing about readiness."""
        return self.verdict not in ("dry-run", "refused")

    @property
    def finished_at(self) -> str:
        """When the run ended, else when it started (a run killed mid-way)."""
        return self.ended_at or self.started_at

    def finished_datetime(self) -> datetime:
        return parse_utc(self.finished_at)


class UnreadableRun(Exception):
    """A run folder whose report.json is missing, damaged or not a drillkit report."""


def bundle_stamp(run_dir: Path) -> str:
    """Changes whenever report.json or the attestation is written again."""
    parts = []
    for name in (REPORT, ATTESTATION):
        try:
            info = (run_dir / name).stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{info.st_size}:{info.st_mtime_ns}")
    return "/".join(parts)


def read_record(reports_dir: Path, run_dir: Path) -> RunRecord:
    """The record of ``run_dir``; ``UnreadableRun`` says why there is none."""
    path = run_dir / REPORT
    stamp = bundle_stamp(run_dir)
    try:
        if path.stat().st_size > _MAX_REPORT_BYTES:
            raise UnreadableRun(f"{path}: larger than {_MAX_REPORT_BYTES // 2**20} MiB")
        report = Report.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise UnreadableRun(f"{path}: no report (render it with `drill report`)") from None
    except OSError as exc:
        raise UnreadableRun(f"{path}: cannot read: {exc.strerror}") from None
    except ValidationError as exc:
        raise UnreadableRun(
            f"{path}: not a drillkit report ({exc.error_count()} problems)"
        ) from None
    rto, rpo = _objective(report, "rto"), _objective(report, "rpo")
    return RunRecord(
        run_dir=run_dir.relative_to(reports_dir).as_posix(),
        stamp=stamp,
        drill=report.drill.name,
        version=report.drill.version,
        tier=report.drill.tier,
        target=report.target.name,
        run_id=report.run.run_id,
        started_at=report.run.started_at,
        ended_at=report.run.ended_at,
        verdict=report.run.verdict,
        rto_seconds=report.measurements.rto.seconds if report.measurements.rto else None,
        rto_objective_seconds=_seconds(rto.target) if rto else None,
        rpo_seconds=report.measurements.rpo.seconds if report.measurements.rpo else None,
        rpo_objective_seconds=_seconds(rpo.target) if rpo else None,
        objectives_met=all(o.status == "met" for o in report.objectives if o.declared),
        signed=report.verification.signed and (run_dir / ATTESTATION).is_file(),
    )


def run_folders(reports_dir: Path) -> list[Path]:
    """Every ``<drill>/<run-id>/`` folder holding a report.json, in name order.

    Folders starting with ``.`` or ``_`` (the index, game-day bundles) are not runs.
    """
    found: list[Path] = []
    if not reports_dir.is_dir():
        return found
    for drill_dir in sorted(reports_dir.iterdir()):
        if drill_dir.name.startswith((".", "_")) or not drill_dir.is_dir():
            continue
        for run_dir in sorted(drill_dir.iterdir()):
            if run_dir.is_dir() and not run_dir.is_symlink() and (run_dir / REPORT).is_file():
                found.append(run_dir)
    return found


def parse_utc(text: str) -> datetime:
    """RFC 3339 text as the journal writes it (``...Z``), as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _objective(report: Report, name: str) -> ObjectiveResult | None:
    return next((o for o in report.objectives if o.name == name and o.declared), None)


def _seconds(text: str) -> float | None:
    try:
        return parse_duration(text.split(maxsplit=1)[0]).total_seconds()
    except (ValueError, IndexError):
        return None


def environment_now() -> datetime:
    """Now, or ``$DRILLKIT_NOW`` (RFC 3339) so that a scorecard can be reproduced later."""
    fixed = os.environ.get("DRILLKIT_NOW")
    return parse_utc(fixed) if fixed else datetime.now(UTC)
