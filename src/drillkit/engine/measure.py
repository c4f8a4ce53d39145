"""The outcome of a run, computed from its journal alone.

The journal is the single source of truth: the same function gives the same
summary whether it runs at the end of the run, in ``drill recover`` or years
later on an auditor's laptop. RTO is measured from the user's side: from the
moment the first fault began (its write-ahead event) to the first sample of
the first run of ``stableFor`` consecutive passing RTO samples after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drillkit.engine.journal import JournalEvent, read_journal
from drillkit.spec.drill import Drill
from drillkit.spec.duration import format_duration


@dataclass
class StepOutcome:
    name: str
    kind: str
    status: str
    seconds: float
    detail: str = ""


@dataclass
class ObjectiveOutcome:
    name: str
    target: str
    measured: str
    met: bool | None
    """None: not measured by this run."""


@dataclass
class RunSummary:
    verdict: str
    """passed, failed (an objective or probe failed), aborted, refused (nothing changed),
    error or dry-run."""
    steps: list[StepOutcome] = field(default_factory=list)
    objectives: list[ObjectiveOutcome] = field(default_factory=list)
    faults_applied: list[str] = field(default_factory=list)
    faults_reverted: list[str] = field(default_factory=list)
    faults_left: list[str] = field(default_factory=list)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    rto_seconds: float | None = None
    rto_phases: dict[str, float] = field(default_factory=dict)
    """Seconds after fault start: detected, restoreStarted, restoreFinished, recovered."""
    latency_ms: dict[str, float] = field(default_factory=dict)
    rpo_seconds: float | None = None
    canary_writes_lost: int | None = None
    canary_gaps: int | None = None
    rpo_note: str = ""
    rpo_upper_bound: bool = False
    """``rpo_seconds`` is an upper bound (from the restored backup), not a canary measurement."""
    sampling_interval_seconds: float | None = None
    samples: int = 0
    availability: float | None = None
    certificate_days_left: float | None = None
    """The fewest days before expiry any ``tls`` probe step saw."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "steps": [vars(s) for s in self.steps],
            "objectives": [vars(o) for o in self.objectives],
            "faultsApplied": self.faults_applied,
            "faultsReverted": self.faults_reverted,
            "faultsLeftApplied": self.faults_left,
            "retries": self.retries,
            "errors": self.errors,
            "rtoSeconds": self.rto_seconds,
            "rtoPhases": self.rto_phases,
            "latencyMs": self.latency_ms,
            "rpoSeconds": self.rpo_seconds,
            "canaryWritesLost": self.canary_writes_lost,
            "canaryGaps": self.canary_gaps,
            "rpoNote": self.rpo_note,
            "rpoUpperBound": self.rpo_upper_bound,
            "samplingIntervalSeconds": self.sampling_interval_seconds,
            "samples": self.samples,
            "availability": self.availability,
            "certificateDaysLeft": self.certificate_days_left,
        }


def summarize(journal: Path, drill: Drill, extra_event: JournalEvent | None = None) -> RunSummary:
    """Compute the run's outcome from ``journal`` (verified as it is read)."""
    events = read_journal(journal).events
    if extra_event is not None:
        events.append(extra_event)
    return summarize_events(events, drill)


def pending_faults(events: list[JournalEvent]) -> list[JournalEvent]:
    """Write-ahead events whose fault has no ``fault-reverted`` after them, oldest first."""
    reverted = {e.data.get("faultId") for e in events if e.type == "fault-reverted"}
    seen: set[str] = set()
    pending = []
    for event in events:
        fault_id = event.data.get("faultId")
        if event.type == "fault-undo-planned" and fault_id not in reverted and fault_id not in seen:
            seen.add(str(fault_id))
            pending.append(event)
    return pending


def summarize_events(events: list[JournalEvent], drill: Drill) -> RunSummary:
    summary = RunSummary(verdict="passed")
    kinds: dict[str, str] = {}
    for event in events:
        if event.type == "step-started" and event.step:
            kinds[event.step] = str(event.data.get("kind", ""))
        elif event.type == "step-ended" and event.step:
            summary.steps.append(
                StepOutcome(
                    event.step,
                    kinds.get(event.step, ""),
                    str(event.data.get("status")),
                    float(event.data.get("seconds", 0.0)),
                    str(event.data.get("detail", "")),
                )
            )
        elif event.type == "fault-undo-planned":
            summary.faults_applied.append(str(event.data.get("faultId")))
        elif event.type == "fault-reverted":
            summary.faults_reverted.append(str(event.data.get("faultId")))
        elif event.type == "retry":
            summary.retries += 1
        elif event.type == "run-error":
            summary.errors.append(str(event.data.get("message")))
    summary.faults_left = [str(e.data.get("faultId")) for e in pending_faults(events)]
    _measure_rto(events, drill, summary)
    _measure_rpo(events, summary)
    summary.certificate_days_left = _certificate_days_left(events)
    _objectives(drill, summary)
    summary.verdict = _verdict(events, summary)
    return summary


def _measure_rto(events: list[JournalEvent], drill: Drill, summary: RunSummary) -> None:
    measure = drill.spec.measure.rto
    if measure is None:
        return
    summary.sampling_interval_seconds = measure.interval.total_seconds()
    samples = [e for e in events if e.type == "sample" and e.data.get("sampler") == "rto"]
    summary.samples = len(samples)
    if samples:
        summary.availability = sum(1 for s in samples if s.data.get("ok")) / len(samples)
        summary.latency_ms = _percentiles(
            [float(s.data["latencyMs"]) for s in samples if s.data.get("latencyMs") is not None]
        )
    fault_start = next((e.mono for e in events if e.type == "fault-undo-planned"), None)
    if fault_start is None:
        return
    after = [s for s in samples if float(s.data.get("at", s.mono)) >= fault_start]
    _rto_phases(events, after, fault_start, summary)
    streak_start: float | None = None
    streak = 0
    for sample in after:
        if sample.data.get("ok"):
            if streak == 0:
                streak_start = float(sample.data.get("at", sample.mono))
            streak += 1
            if streak >= measure.stable_for and streak_start is not None:
                summary.rto_seconds = max(0.0, streak_start - fault_start)
                summary.rto_phases["recovered"] = round(summary.rto_seconds, 6)
                return
        else:
            streak = 0
            streak_start = None


def _rto_phases(
    events: list[JournalEvent], after: list[JournalEvent], fault_start: float, summary: RunSummary
) -> None:
    """Seconds from fault start to detection (first failing sample) and restore start/end."""
    first_failure = next(
        (float(s.data.get("at", s.mono)) for s in after if not s.data.get("ok")), None
    )
    restores = [
        e
        for e in events
        if e.type in ("restore-started", "restore-ended") and e.mono >= fault_start
    ]
    marks = {
        "detected": first_failure,
        "restoreStarted": next((e.mono for e in restores if e.type == "restore-started"), None),
        "restoreFinished": next(
            (e.mono for e in reversed(restores) if e.type == "restore-ended"), None
        ),
    }
    for name, moment in marks.items():
        if moment is not None:
            summary.rto_phases[name] = round(moment - fault_start, 6)


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max by the nearest-rank method (no interpolation: every figure was seen)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(fraction: float) -> float:
        index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
        return round(ordered[index], 3)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 3)}


def _measure_rpo(events: list[JournalEvent], summary: RunSummary) -> None:
    """RPO = fault start - time of the newest acknowledged pre-fault canary write that survived.

    When every acknowledged write survived, nothing was lost and the RPO is 0
    (to within one canary interval, the measurement's resolution).
    """
    read = next((e for e in events if e.type == "canary-read"), None)
    if read is None:
        return
    if "survivors" not in read.data:
        summary.rpo_note = f"canary read-back failed: {read.data.get('error')}"
        return
    fault_start = next((e.mono for e in events if e.type == "fault-undo-planned"), None)
    if fault_start is None:
        summary.rpo_seconds, summary.canary_writes_lost = 0.0, 0
        summary.rpo_note = "no fault was injected"
        return
    survivors = {int(s) for s in read.data["survivors"]}
    acked = [
        (int(e.data["seq"]), float(e.data["at"]))
        for e in events
        if e.type == "canary-write" and e.data.get("ok") and float(e.data["at"]) < fault_start
    ]
    kept = [(seq, at) for seq, at in acked if seq in survivors]
    summary.canary_writes_lost = len(acked) - len(kept)
    if kept:
        newest = max(kept)
        summary.canary_gaps = sum(1 for seq, _ in acked if seq < newest[0] and seq not in survivors)
        if summary.canary_writes_lost == 0:
            # Every acknowledged write before the fault survived: nothing was lost.
            summary.rpo_seconds = 0.0
            summary.rpo_note = "every acknowledged write before the fault survived"
        else:
            summary.rpo_seconds = max(0.0, fault_start - newest[1])
        return
    lost = f"all {len(acked)} acknowledged canary writes before the fault were lost"
    bound = _restored_backup_bound(events)
    if bound is None:
        summary.rpo_note = lost
        return
    summary.rpo_seconds, summary.rpo_upper_bound = bound, True
    summary.rpo_note = f"{lost}; at most the age of the restored backup at fault start"


def _restored_backup_bound(events: list[JournalEvent]) -> float | None:
    """Fault start - start of the backup a restore used: nothing older can have been lost.

    A restore handler reports ``backupStartedAt`` (RFC 3339) in its result; when
    every canary write came after that backup, this bound is the RPO evidence.
    """
    fault = next((e for e in events if e.type == "fault-undo-planned"), None)
    for event in events:
        result = event.data.get("result")
        if event.type != "restore-ended" or not isinstance(result, dict) or fault is None:
            continue
        started = result.get("backupStartedAt")
        if isinstance(started, str):
            try:
                taken = datetime.fromisoformat(started.replace("Z", "+00:00"))
                fault_at = datetime.fromisoformat(fault.time.replace("Z", "+00:00"))
            except ValueError:
                continue
            return max(0.0, (fault_at - taken).total_seconds())
    return None


def _certificate_days_left(events: list[JournalEvent]) -> float | None:
    days = [
        float(event.data["values"]["daysLeft"])
        for event in events
        if event.type == "probe-result"
        and isinstance(event.data.get("values"), dict)
        and isinstance(event.data["values"].get("daysLeft"), int | float)
    ]
    return min(days, default=None)


def _objectives(drill: Drill, summary: RunSummary) -> None:
    objectives = drill.spec.objectives
    if objectives.rto is not None:
        target = objectives.rto.total_seconds()
        measured = summary.rto_seconds
        summary.objectives.append(
            ObjectiveOutcome(
                "rto",
                format_duration(objectives.rto),
                f"{measured:.2f}s" if measured is not None else "not recovered",
                measured is not None and measured <= target,
            )
        )
    if objectives.rpo is not None:
        # An objective nobody measured cannot pass.
        limit = objectives.rpo.total_seconds()
        rpo = summary.rpo_seconds
        shown = f"{rpo:.2f}s" if rpo is not None else (summary.rpo_note or "not measured")
        if rpo is not None and summary.rpo_upper_bound:
            shown = f"<= {rpo:.2f}s (restored backup's age; no canary write survived)"
        summary.objectives.append(
            ObjectiveOutcome(
                "rpo", format_duration(objectives.rpo), shown, rpo is not None and rpo <= limit
            )
        )
    if objectives.min_certificate_days is not None:
        # The fewest days left any certificate probe saw; none seen cannot pass.
        least = summary.certificate_days_left
        summary.objectives.append(
            ObjectiveOutcome(
                "minCertificateDays",
                str(objectives.min_certificate_days),
                f"{least:g} days" if least is not None else "no certificate probe ran",
                least is not None and least >= objectives.min_certificate_days,
            )
        )


_ABORTS = {"RunAborted", "StepTimeout", "GuardRefused", "LockHeld"}
_REFUSALS = {"GuardRefused", "LockHeld"}
_FAILURES = {"FaultFailed", "RestoreFailed", "ProbeFailed", "StepFailed"}


def _verdict(events: list[JournalEvent], summary: RunSummary) -> str:
    errors = [str(e.data.get("error")) for e in events if e.type == "run-error"]
    if summary.faults_left:
        return "error"  # something is still applied: the worst outcome, say so first
    if not errors and any(e.type == "dry-run-complete" for e in events):
        return "dry-run"
    if errors and not summary.faults_applied and set(errors) <= _REFUSALS:
        return "refused"  # a guard or the lock said no before anything changed
    if any(error in _ABORTS for error in errors):
        return "aborted"
    if any(error not in _FAILURES for error in errors):
        return "error"
    if errors or any(s.status != "passed" for s in summary.steps):
        return "failed"
    if any(o.met is False for o in summary.objectives):
        return "failed"
    return "passed"
