"""The run told in order, from its journal: phases, key events, errors, retries and undo.

The journal holds every sample and provider call; an auditor wants the
story: when each phase began and how long it took, when the fault went in,
when the restore ran, when users saw recovery, what went wrong, what was
retried, and what was undone (by the run, or later by ``drill recover``).
Offsets are seconds after ``run-started`` on the monotonic clock, so a wall
clock step during the run cannot distort them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from drillkit.engine.journal import JournalEvent
from drillkit.evidence.report_model import (
    ErrorEntry,
    PhaseEntry,
    RetryEntry,
    SamplerFacts,
    TimelineEntry,
    Timing,
    UndoAction,
    UndoStatus,
)


def phases(events: Sequence[JournalEvent]) -> tuple[PhaseEntry, ...]:
    """Each ``phase`` event, lasting until the next phase (or the run's last event)."""
    start = events[0].mono
    marks = [e for e in events if e.type == "phase"]
    end = next((e.mono for e in events if e.type == "run-ended"), events[-1].mono)
    result = []
    for index, event in enumerate(marks):
        until = marks[index + 1].mono if index + 1 < len(marks) else end
        result.append(
            PhaseEntry(
                name=str(event.data.get("phase")),
                started_at=event.time,
                offset_seconds=_round(event.mono - start),
                seconds=_round(max(0.0, until - event.mono)),
            )
        )
    return tuple(result)


_WAIT_STEPS = {"wait", "checkpoint"}
_WAIT_PHASES = {"verify"}
_TARGET_PHASES = {"baseline", "undo"}


def timing(events: Sequence[JournalEvent]) -> Timing:
    """Split the run's time into the drill's waits, the target's work and the engine's share."""
    total = max(
        0.0,
        next((e.mono for e in events if e.type == "run-ended"), events[-1].mono) - events[0].mono,
    )
    kinds: dict[str | None, str] = {}
    waiting = target = 0.0
    for event in events:
        if event.type == "step-started":
            kinds[event.step] = str(event.data.get("kind", ""))
        elif event.type == "step-ended":
            seconds = float(event.data.get("seconds", 0.0))
            if kinds.get(event.step) in _WAIT_STEPS:
                waiting += seconds
            else:
                target += seconds
        elif event.type == "canary-warmup":
            waiting += float(event.data.get("seconds", 0.0))
    for phase in phases(events):
        if phase.name in _WAIT_PHASES:
            waiting += phase.seconds
        elif phase.name in _TARGET_PHASES:
            target += phase.seconds
    engine = max(0.0, total - waiting - target)
    return Timing(
        total_seconds=_round(total),
        waiting_seconds=_round(waiting),
        target_seconds=_round(target),
        engine_seconds=_round(engine),
        engine_share=round(engine / total, 4) if total > 0 else 0.0,
    )


def timeline(events: Sequence[JournalEvent]) -> tuple[TimelineEntry, ...]:
    """The events an auditor reads, one line each.

    Samples, provider calls and step starts are left out: the samples are in
    the chart, the calls in the journal, and each step's end says how long
    it took.
    """
    start = events[0].mono
    entries = []
    for event in events:
        describe = _TIMELINE.get(event.type)
        if describe is None:
            continue
        text = describe(event.data)
        if text is None:
            continue
        entries.append(
            TimelineEntry(
                at=event.time,
                offset_seconds=_round(event.mono - start),
                event=event.type,
                step=event.step,
                text=text,
            )
        )
    return tuple(entries)


def errors(events: Sequence[JournalEvent]) -> tuple[ErrorEntry, ...]:
    return tuple(
        ErrorEntry(
            error=str(e.data.get("error", "")),
            message=str(e.data.get("message", "")),
            fix=str(e.data["fix"]) if e.data.get("fix") else None,
            step=e.step,
            at=e.time,
        )
        for e in events
        if e.type == "run-error"
    )


def retries(events: Sequence[JournalEvent]) -> tuple[RetryEntry, ...]:
    return tuple(
        RetryEntry(
            step=e.step,
            call=str(e.data.get("call", "")),
            attempt=int(e.data.get("attempt", 0)),
            error=str(e.data.get("error", "")),
            wait_seconds=float(e.data.get("waitSeconds", 0.0)),
            at=e.time,
        )
        for e in events
        if e.type == "retry"
    )


def undo_actions(events: Sequence[JournalEvent]) -> tuple[UndoAction, ...]:
    """Every fault whose undo was recorded, and whether (and when) it was reverted."""
    recovering = False
    outcomes: dict[str, tuple[UndoStatus, JournalEvent, bool]] = {}
    for event in events:
        if event.type == "recovery-started":
            recovering = True
        fault_id = str(event.data.get("faultId"))
        prior = outcomes.get(fault_id)
        if event.type == "fault-reverted":
            outcomes[fault_id] = ("reverted", event, recovering)
        elif event.type == "fault-revert-failed" and (prior is None or prior[0] != "reverted"):
            outcomes[fault_id] = ("failed", event, recovering)
    actions = []
    seen: set[str] = set()
    for event in events:
        fault_id = str(event.data.get("faultId"))
        if event.type != "fault-undo-planned" or fault_id in seen:
            continue
        seen.add(fault_id)
        outcome = outcomes.get(fault_id)
        actions.append(
            UndoAction(
                fault_id=fault_id,
                kind=str(event.data.get("kind", "")),
                step=event.step,
                planned_at=event.time,
                status="still-applied" if outcome is None else outcome[0],
                reverted_at=outcome[1].time if outcome and outcome[0] == "reverted" else None,
                error=str(outcome[1].data.get("error", "")) if outcome else "",
                by_recovery=bool(outcome and outcome[2]),
            )
        )
    return tuple(actions)


def samplers(events: Sequence[JournalEvent]) -> tuple[SamplerFacts, ...]:
    intervals: dict[str, float] = {}
    stopped: dict[str, JournalEvent] = {}
    counts: dict[str, int] = {}
    for event in events:
        name = str(event.data.get("sampler"))
        if event.type == "sampler-started":
            intervals[name] = float(event.data.get("intervalSeconds", 0.0))
        elif event.type == "sampler-stopped":
            stopped[name] = event
        elif event.type in ("sample", "canary-write"):
            key = name if event.type == "sample" else "rpo-canary"
            counts[key] = counts.get(key, 0) + 1
    result = []
    for name, interval in intervals.items():
        stop = stopped.get(name)
        missed = stop.data.get("missed") if stop is not None else None
        result.append(
            SamplerFacts(
                name=name,
                interval_seconds=interval,
                samples=counts.get(name, 0),
                missed=int(missed) if isinstance(missed, int) else None,
            )
        )
    return tuple(result)


def _round(seconds: float) -> float:
    return round(seconds, 3)


def _run_started(data: dict[str, Any]) -> str:
    kind = "dry run" if data.get("dryRun") else "run"
    return f"{kind} {data.get('runId')} of {data.get('drill')} {data.get('version')} started"


def _guard(data: dict[str, Any]) -> str | None:
    if data.get("ok"):
        return None
    return f"guard {data.get('guard')} refused: {data.get('detail')}"


def _baseline(data: dict[str, Any]) -> str:
    state = "passed" if data.get("ok") else "FAILED"
    return f"baseline {data.get('sampler')} probe {state}: {data.get('summary')}"


def _step_ended(data: dict[str, Any]) -> str:
    detail = f": {data.get('detail')}" if data.get("detail") else ""
    return f"step {data.get('status')} after {float(data.get('seconds', 0)):.2f}s{detail}"


def _restore_ended(data: dict[str, Any]) -> str:
    if data.get("ok"):
        return f"restore action {data.get('action')} completed"
    return f"restore action {data.get('action')} failed: {data.get('error')}"


_TIMELINE: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "run-started": _run_started,
    "phase": lambda d: f"phase {d.get('phase')}",
    "guard": _guard,
    "lock-acquired": lambda d: f"target lock acquired ({d.get('kind', 'lock')})",
    "baseline": _baseline,
    "dry-run-complete": lambda d: "dry run complete: nothing was changed",
    "step-ended": _step_ended,
    "fault-undo-planned": lambda d: f"undo of {d.get('faultId')} recorded; fault starts",
    "fault-applied": lambda d: f"fault {d.get('faultId')} applied",
    "restore-started": lambda d: f"restore action {d.get('action')} ({d.get('kind')}) started",
    "restore-ended": _restore_ended,
    "checkpoint": lambda d: f"checkpoint: {d.get('message')}",
    "recovered": lambda d: f"recovered: {d.get('streak')} passing RTO samples in a row",
    "retry": lambda d: f"retry {d.get('attempt')} of {d.get('call')}: {d.get('error')}",
    "warning": lambda d: f"warning: {d.get('message')}",
    "run-error": lambda d: f"error {d.get('error')}: {d.get('message')}",
    "fault-reverting": lambda d: f"undoing {d.get('faultId')}",
    "fault-reverted": lambda d: f"undone: {d.get('faultId')}",
    "fault-revert-failed": lambda d: f"undo of {d.get('faultId')} FAILED: {d.get('error')}",
    "lock-released": lambda d: "target lock released",
    "journal-repaired": lambda d: (
        f"journal repaired: a torn last line of {d.get('removedBytes')} bytes was removed"
    ),
    "recovery-started": lambda d: (
        f"drill recover started; pending: "
        f"{', '.join(str(x) for x in d.get('pending') or []) or 'nothing'}"
    ),
    "recovery-ended": lambda d: "drill recover ended",
    "run-ended": lambda d: f"run ended: {d.get('verdict')}",
}
