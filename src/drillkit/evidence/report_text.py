"""The words and figures every rendering of a report uses, so Markdown, HTML and JUnit agree.

A figure an auditor compares across formats (an RTO, a time, a status) must
read the same in each; these functions are the one place it is formatted.
They return plain text: escaping for Markdown, HTML or XML is each
renderer's job.
"""

from __future__ import annotations

from drillkit.evidence.no_sign import UNSIGNED_NOTE
from drillkit.evidence.report_model import Report, Timing

NOT_RECORDED = "not recorded"

VERDICT_WORDS = {
    "passed": "PASSED",
    "failed": "FAILED",
    "aborted": "ABORTED",
    "refused": "REFUSED",
    "error": "ERROR",
    "dry-run": "DRY RUN",
}
OBJECTIVE_WORDS = {
    "met": "met",
    "not-met": "NOT MET",
    "not-measured": "not measured",
    "not-set": "not set",
}
PROOF_WORDS = {"proven": "proven", "failed": "FAILED", "not-covered": "not covered by this drill"}
STEP_WORDS = {
    "passed": "passed",
    "failed": "FAILED",
    "aborted": "ABORTED",
    "error": "ERROR",
    "interrupted": "INTERRUPTED",
    "not-run": "not run",
}
RTO_PHASE_WORDS = {
    "faultStart": "fault start",
    "detected": "detected",
    "restoreStarted": "restore started",
    "restoreFinished": "restore done",
    "recovered": "recovered",
    "undoStarted": "undo started",
}


def utc(timestamp: str | None) -> str:
    """``2026-11-23T22:04:33.845030Z`` -> ``2026-11-23 22:04:33.845 UTC``."""
    if not timestamp:
        return NOT_RECORDED
    if len(timestamp) >= 23 and timestamp[10] == "T" and timestamp.endswith("Z"):
        return f"{timestamp[:10]} {timestamp[11:23]} UTC"
    return timestamp


def seconds(value: float | None, *, missing: str = NOT_RECORDED) -> str:
    """``0.35s``; past a minute also in minutes: ``312.40s (5m 12s)``."""
    if value is None:
        return missing
    text = f"{value:.2f}s"
    if abs(value) >= 60:
        minutes, rest = divmod(round(abs(value)), 60)
        hours, minutes = divmod(minutes, 60)
        parts = f"{hours}h {minutes}m {rest}s" if hours else f"{minutes}m {rest}s"
        text += f" ({parts})"
    return text


def offset(value: float) -> str:
    """A time relative to an origin: ``+1.234s`` or ``-0.600s``."""
    return f"{value:+.3f}s"


def percent(value: float | None) -> str:
    return NOT_RECORDED if value is None else f"{100 * value:.1f}%"


def or_not_recorded(value: str | None) -> str:
    return value if value else NOT_RECORDED


def headline(report: Report) -> str:
    """``restore-orders 1.0.0 on prod-eks-use1: PASSED``."""
    return (
        f"{report.drill.name} {report.drill.version} on {report.target.name}: "
        f"{VERDICT_WORDS[report.run.verdict]}"
    )


def unsigned_warning(report: Report) -> str | None:
    """What every rendering shows first when the evidence is unsigned (``--no-sign``); else None.

    Backticked parts are commands (renderers show them as code).
    """
    if report.verification.signed:
        return None
    return f"NOT SIGNED: {UNSIGNED_NOTE}."


def rto_figure(report: Report) -> str:
    """The RTO as the report's key figure: ``0.35s`` or why there is none."""
    rto = report.measurements.rto
    if rto is None:
        return "not measured by this drill"
    if rto.seconds is None:
        return "not recovered" if report.run.verdict not in ("dry-run", "refused") else "no fault"
    return seconds(rto.seconds)


def rpo_figure(report: Report) -> str:
    rpo = report.measurements.rpo
    if rpo is None:
        return "not measured by this drill"
    if rpo.seconds is None:
        return rpo.note or "not measured"
    return seconds(rpo.seconds)


def certificate_figure(report: Report) -> str:
    days = report.measurements.certificate_days_left
    return "no certificate probe ran" if days is None else f"{days:g} days"


def operator_line(report: Report) -> str:
    operator = report.operator
    host = f" on {operator.host}" if operator.host else ""
    return f"{or_not_recorded(operator.os_user)}{host}"


def scheduled(report: Report) -> str:
    run = report.run
    if run.scheduled_start is None and run.scheduled_end is None:
        return NOT_RECORDED
    return f"{utc(run.scheduled_start)} to {utc(run.scheduled_end)}"


def timing_rows(timing: Timing) -> list[tuple[str, float]]:
    """The timing split as the reports show it, total last."""
    return [
        (
            "the drill's own waits (wait steps, warmup, waiting for recovery)",
            timing.waiting_seconds,
        ),
        ("the target (faults, restores, probes, undo)", timing.target_seconds),
        ("the engine (drillkit itself)", timing.engine_seconds),
        ("total", timing.total_seconds),
    ]
