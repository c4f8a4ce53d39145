"""Each step of the drill as the report shows it: what it was meant to do and what it did.

Steps are listed in definition order, including those that never ran (the
run was refused, aborted or dry), because "not run" is evidence too. What a
step does comes from the definition in the run folder (so a probe step
knows its probe kind, and a restore step its runbook's actions); what
happened comes from the journal's step, probe-result and restore events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drillkit.engine.journal import JournalEvent
from drillkit.evidence.proofs import PROOF_IDS, PROVES_LABEL
from drillkit.evidence.report_model import (
    Outcome,
    RestoreActionResult,
    StepResult,
    StepStatus,
)
from drillkit.spec.describe import describe
from drillkit.spec.duration import format_duration
from drillkit.spec.references import ProbeRef, RunbookRef
from drillkit.spec.resolve import ResolvedDrill
from drillkit.spec.steps import (
    CheckpointStep,
    FaultStep,
    ProbeStep,
    RestoreStep,
    WaitStep,
    step_kind,
)

_STATUSES: dict[str, StepStatus] = {
    "passed": "passed",
    "failed": "failed",
    "aborted": "aborted",
    "error": "error",
}


def step_results(drill: ResolvedDrill, events: Sequence[JournalEvent]) -> tuple[StepResult, ...]:
    """One result per step of ``drill``, from the journal ``events`` of its run."""
    by_step: dict[str, list[JournalEvent]] = {}
    for event in events:
        if event.step is not None:
            by_step.setdefault(event.step, []).append(event)
    results = []
    for index, step in enumerate(drill.drill.spec.steps, start=1):
        results.append(_result(drill, index, step, by_step.get(step.name, [])))
    return tuple(results)


def _result(drill: ResolvedDrill, index: int, step: Any, events: list[JournalEvent]) -> StepResult:
    started = next((e for e in events if e.type == "step-started"), None)
    ended = next((e for e in events if e.type == "step-ended"), None)
    if ended is not None:
        status = _STATUSES.get(str(ended.data.get("status")), "error")
    else:
        status = "interrupted" if started is not None else "not-run"
    probes = [e for e in events if e.type == "probe-result"]
    last_probe = probes[-1] if probes else None
    probe_type, probe_ref, proves = _probe_facts(drill, step)
    values = last_probe.data.get("values") if last_probe is not None else None
    return StepResult(
        index=index,
        name=step.name,
        kind=str(step_kind(step)),
        description=step.description or "",
        action=_action(drill, step),
        probe_type=probe_type,
        probe_ref=probe_ref,
        proves=proves,
        status=status,
        started_at=started.time if started is not None else None,
        seconds=float(ended.data.get("seconds", 0.0)) if ended is not None else None,
        detail=str(ended.data.get("detail", "")) if ended is not None else "",
        attempts=len(probes),
        summary=str(last_probe.data.get("summary", "")) if last_probe is not None else "",
        values=dict(values) if isinstance(values, dict) else {},
        restore_actions=_restore_actions(drill, step, events),
    )


def _probe_facts(drill: ResolvedDrill, step: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    if not isinstance(step, ProbeStep):
        return None, None, ()
    probe = drill.probe(step.probe)
    if not isinstance(step.probe, ProbeRef):
        return probe.type, None, ()
    labels = drill.probes[step.probe.ref].metadata.labels
    claimed = [part.strip() for part in labels.get(PROVES_LABEL, "").split(",")]
    return probe.type, step.probe.ref, tuple(p for p in claimed if p in PROOF_IDS)


def _action(drill: ResolvedDrill, step: Any) -> str:
    if isinstance(step, FaultStep):
        return f"{step.fault.type}: {describe(step.fault)}"
    if isinstance(step, ProbeStep):
        text = f"{drill.probe(step.probe).type} probe: {describe(drill.probe(step.probe))}"
        if step.within.total_seconds() > 0:
            text += f" (retried for up to {format_duration(step.within)})"
        return text
    if isinstance(step, RestoreStep):
        if isinstance(step.restore, RunbookRef):
            runbook = drill.runbooks[step.restore.ref]
            kinds = ", ".join(s.restore.type for s in runbook.spec.steps)
            return f"runbook {runbook.metadata.name} {runbook.metadata.version}: {kinds}"
        return f"{step.restore.type}: {describe(step.restore)}"
    if isinstance(step, WaitStep):
        return f"wait {format_duration(step.wait)}"
    if isinstance(step, CheckpointStep):
        confirm = " (operator confirms)" if step.checkpoint.confirm else ""
        return f"checkpoint: {step.checkpoint.message}{confirm}"
    return str(step_kind(step))


def _restore_actions(
    drill: ResolvedDrill, step: Any, events: list[JournalEvent]
) -> tuple[RestoreActionResult, ...]:
    if not isinstance(step, RestoreStep):
        return ()
    started = {str(e.data.get("action")) for e in events if e.type == "restore-started"}
    ended = {str(e.data.get("action")): e for e in events if e.type == "restore-ended"}
    actions = []
    for name, intent in drill.restore_actions(step.restore):
        end = ended.get(name)
        # No end: never started, or the run stopped inside it; no result either way.
        outcome: Outcome = "not-run"
        if end is not None:
            outcome = "passed" if end.data.get("ok") else "failed"
        error = str(end.data.get("error", "")) if end is not None else ""
        if end is None and name in started:
            error = "the run stopped before this action ended"
        actions.append(
            RestoreActionResult(name=name, kind=intent.type, outcome=outcome, error=error)
        )
    return tuple(actions)
