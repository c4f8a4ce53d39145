"""Carrying out one step of a drill: a fault, a restore, a probe, a wait or a checkpoint.

The runner decides *when* a step runs and for how long; this module decides
*what* running it means. A fault's undo record is journaled (write-ahead) and
handed to the runner through ``on_fault_planned`` before the fault is
applied, so a fault that fails halfway is still undone. Failing probe steps
raise ``ProbeFailed`` (the run goes on); failing faults and restores raise
``FaultFailed``/``RestoreFailed`` (the run aborts into undo).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drillkit.engine.clock import Clock
from drillkit.engine.journal import JournalWriter
from drillkit.engine.plan import Plan, PlannedStep
from drillkit.engine.progress import Progress
from drillkit.engine.retry import MAX_ERROR_TEXT, call_with_journaled_retry
from drillkit.errors import DrillError, FaultFailed, ProbeFailed, RestoreFailed, RunAborted
from drillkit.providers.base import JsonDict, ProbeResult, Provider, StepContext
from drillkit.spec.steps import CheckpointStep, WaitStep


@dataclass
class AppliedFault:
    fault_id: str
    step: str
    kind: str
    undo: JsonDict
    reverted: bool = False


class StepExecutor:
    def __init__(
        self,
        plan: Plan,
        provider: Provider,
        journal: JournalWriter,
        clock: Clock,
        progress: Progress,
        *,
        yes: bool,
        on_fault_planned: Callable[[AppliedFault, float], None],
    ) -> None:
        self.plan = plan
        self.provider = provider
        self.journal = journal
        self.clock = clock
        self.progress = progress
        self.yes = yes
        self.on_fault_planned = on_fault_planned

    def execute(self, step: PlannedStep, context: StepContext) -> None:
        """Run one step to its end (the caller supervises time and aborts)."""
        spec_step = self.plan.drill.drill.spec.steps[step.index - 1]
        if step.kind == "fault":
            self._execute_fault(step, context)
        elif step.kind == "restore":
            self._execute_restore(step, context)
        elif step.kind == "probe":
            self._execute_probe(step, context)
        elif isinstance(spec_step, WaitStep):
            context.cancelled.wait(spec_step.wait.total_seconds())
        elif isinstance(spec_step, CheckpointStep):
            self._execute_checkpoint(spec_step, step.name)

    def _retry(self, call: Callable[[], Any], context: StepContext, what: str) -> Any:
        return call_with_journaled_retry(
            call,
            journal=self.journal,
            step=context.step,
            what=what,
            budget_seconds=context.remaining(),
        )

    def _execute_fault(self, step: PlannedStep, context: StepContext) -> None:
        action = step.actions[0]
        intent = action.intent
        assert intent is not None
        kind = str(getattr(intent, "type", ""))
        handler = self.provider.fault_handler(kind)
        assert handler is not None
        try:
            undo = self._retry(lambda: handler.prepare(intent, context), context, "prepare")
        except DrillError as exc:
            raise FaultFailed(
                f"step {step.name}: preparing {kind} failed: {exc.message}",
                step=step.name,
                fix=exc.fix,
            ) from exc
        fault_id = f"{step.name}/{kind}"
        # Write-ahead: the undo record reaches the journal before the platform changes.
        event = self.journal.append(
            "fault-undo-planned",
            step.name,
            faultId=fault_id,
            kind=kind,
            provider=self.provider.name,
            undo=undo,
            intent=intent.model_dump(mode="json", by_alias=True),
        )
        self.on_fault_planned(AppliedFault(fault_id, step.name, kind, undo), event.mono)
        try:
            result = self._retry(lambda: handler.apply(intent, undo, context), context, "apply")
        except DrillError as exc:
            raise FaultFailed(
                f"step {step.name}: applying {kind} failed: {exc.message}",
                step=step.name,
                fix=exc.fix,
            ) from exc
        self.journal.append(
            "fault-applied", step.name, faultId=fault_id, kind=kind, result=result or {}
        )

    def _execute_restore(self, step: PlannedStep, context: StepContext) -> None:
        for action in step.actions:
            intent = action.intent
            assert intent is not None
            kind = str(getattr(intent, "type", ""))
            handler = self.provider.restore_handler(kind)
            assert handler is not None
            self.journal.append("restore-started", step.name, action=action.name, kind=kind)
            try:
                result = self._retry(
                    functools.partial(handler.run, intent, context),
                    context,
                    f"restore {action.name}",
                )
            except DrillError as exc:
                self.journal.append(
                    "restore-ended",
                    step.name,
                    action=action.name,
                    ok=False,
                    error=exc.message[:MAX_ERROR_TEXT],
                )
                raise RestoreFailed(
                    f"step {step.name}: {action.name} failed: {exc.message}",
                    step=step.name,
                    fix=exc.fix,
                ) from exc
            self.journal.append(
                "restore-ended", step.name, action=action.name, ok=True, result=result or {}
            )
            if context.cancelled.is_set():
                return

    def _execute_probe(self, step: PlannedStep, context: StepContext) -> None:
        action = step.actions[0]
        intent = action.intent
        assert intent is not None
        handler = self.provider.probe_handler(str(getattr(intent, "type", "")))
        assert handler is not None
        spec_step = self.plan.drill.drill.spec.steps[step.index - 1]
        within = getattr(spec_step, "within", None)
        interval = getattr(spec_step, "interval", None)
        give_up = self.clock.monotonic() + (within.total_seconds() if within else 0.0)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = handler.measure(intent, context)
            except DrillError as exc:
                result = ProbeResult(ok=False, summary=exc.message)
            self.journal.append(
                "probe-result",
                step.name,
                attempt=attempt,
                ok=result.ok,
                summary=result.summary[:MAX_ERROR_TEXT],
                values=result.values,
                latencyMs=result.latency_ms,
            )
            if result.ok:
                return
            if self.clock.monotonic() >= give_up or context.cancelled.is_set():
                raise ProbeFailed(f"step {step.name}: {result.summary}", step=step.name)
            context.cancelled.wait(interval.total_seconds() if interval else 1.0)

    def _execute_checkpoint(self, step: CheckpointStep, name: str) -> None:
        checkpoint = step.checkpoint
        self.journal.append(
            "checkpoint", name, message=checkpoint.message, confirm=checkpoint.confirm
        )
        self.progress.message(f"checkpoint {name}: {checkpoint.message}")
        if not checkpoint.confirm or self.yes:
            return
        if not self.progress.confirm(checkpoint.message, "yes"):
            raise RunAborted(
                f"checkpoint {name} was not confirmed (pass --yes when not interactive)"
            )
