"""The plan: what a drill will do on one target, computed without changing anything.

``drill plan`` and the first phase of ``drill run`` share this code, so what
the operator approves is exactly what runs. The plan binds target variables,
expands runbooks into their ordered actions and evaluates the guards that do
not need the target itself (allowed targets, tier confirmation, freeze
windows). What each step touches on the platform (the blast radius) comes
from the provider, which the engine reaches through its registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from drillkit.errors import UserInputError
from drillkit.spec.binding import bind, missing_variables
from drillkit.spec.describe import describe
from drillkit.spec.duration import format_duration
from drillkit.spec.faults import ChaosToolkit
from drillkit.spec.objective_defaults import with_objective_defaults
from drillkit.spec.references import ProbeRef, RunbookRef
from drillkit.spec.resolve import ResolvedDrill
from drillkit.spec.steps import CheckpointStep, FaultStep, ProbeStep, RestoreStep, WaitStep
from drillkit.spec.targets import Target


@dataclass(frozen=True)
class PlannedAction:
    """One intent a step will carry out, bound to the target."""

    name: str
    intent: BaseModel | None
    summary: str


@dataclass(frozen=True)
class PlannedStep:
    index: int
    name: str
    kind: str
    actions: tuple[PlannedAction, ...]
    source: str | None = None
    """The referenced file (probe or runbook) the step came from, if any."""
    timeout: str | None = None


@dataclass(frozen=True)
class Guard:
    name: str
    ok: bool
    detail: str
    blocking: bool = True


@dataclass(frozen=True)
class Plan:
    drill: ResolvedDrill
    target_name: str
    target: Target
    steps: tuple[PlannedStep, ...]
    samplers: tuple[str, ...]
    guards: tuple[Guard, ...]
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def needs_confirmation(self) -> bool:
        return any(g.name == "confirmation" and not g.ok for g in self.guards)

    @property
    def blocked_by(self) -> list[Guard]:
        return [g for g in self.guards if g.blocking and not g.ok and g.name != "confirmation"]


def make_plan(
    drill: ResolvedDrill, target_name: str, target: Target, *, now: datetime | None = None
) -> Plan:
    """Plan ``drill`` on ``target``; raise UserInputError when it cannot run there at all."""
    spec = drill.drill.spec
    if not spec.allows_target(target_name):
        raise UserInputError(
            f"drill {drill.name} does not allow target `{target_name}` "
            f"(spec.targets: {', '.join(spec.targets)})",
            fix=f"pick one of those targets, or add `{target_name}` to spec.targets in "
            f"{drill.source.display} (a new drill version)",
        )
    missing = missing_variables(drill.bindable_data(), target.variables)
    if missing:
        raise UserInputError(
            f"drill {drill.name} uses {', '.join('${' + m + '}' for m in missing)}, which target "
            f"`{target_name}` does not define",
            fix=f"add them under `variables:` of target `{target_name}` in targets.yaml",
        )
    steps = tuple(
        _plan_step(drill, index, step, target_name, target)
        for index, step in enumerate(spec.steps, start=1)
    )
    return Plan(
        drill=drill,
        target_name=target_name,
        target=target,
        steps=steps,
        samplers=_samplers(drill, target_name, target),
        guards=_guards(drill, target_name, target, now or datetime.now(UTC)),
    )


def _bound(intent: BaseModel, target_name: str, target: Target, where: str) -> PlannedAction:
    bound = bind(intent, target.variables, target=target_name, where=where)
    return PlannedAction(
        name=getattr(bound, "type", type(bound).__name__), intent=bound, summary=describe(bound)
    )


def _plan_step(
    drill: ResolvedDrill, index: int, step: Any, target_name: str, target: Target
) -> PlannedStep:
    where = f"{drill.source.display}: step {step.name}"
    timeout = format_duration(step.timeout) if step.timeout is not None else None
    if isinstance(step, FaultStep):
        action = _bound(
            with_objective_defaults(step.fault, drill.drill.spec.objectives),
            target_name,
            target,
            where,
        )
        if isinstance(action.intent, ChaosToolkit) and action.intent.experiment is not None:
            # The handler runs the experiment as resolved (and digested) with the drill.
            document = drill.experiments.get(action.intent.experiment)
            action = PlannedAction(
                action.name, action.intent.with_document(document), action.summary
            )
        return PlannedStep(index, step.name, "fault", (action,), timeout=timeout)
    if isinstance(step, RestoreStep):
        actions = []
        for name, intent in drill.restore_actions(step.restore):
            action = _bound(intent, target_name, target, f"{where} ({name})")
            actions.append(PlannedAction(name=name, intent=action.intent, summary=action.summary))
        source = step.restore.ref if isinstance(step.restore, RunbookRef) else None
        return PlannedStep(index, step.name, "restore", tuple(actions), source, timeout)
    if isinstance(step, ProbeStep):
        probe = with_objective_defaults(drill.probe(step.probe), drill.drill.spec.objectives)
        action = _bound(probe, target_name, target, where)
        if step.within.total_seconds() > 0:
            action = PlannedAction(
                action.name,
                action.intent,
                f"{action.summary} (retry for up to {format_duration(step.within)})",
            )
        source = step.probe.ref if isinstance(step.probe, ProbeRef) else None
        return PlannedStep(index, step.name, "probe", (action,), source, timeout)
    if isinstance(step, WaitStep):
        return PlannedStep(
            index,
            step.name,
            "wait",
            (PlannedAction("wait", None, f"wait {format_duration(step.wait)}"),),
            timeout=timeout,
        )
    assert isinstance(step, CheckpointStep)
    ask = " (asks the operator to continue)" if step.checkpoint.confirm else ""
    return PlannedStep(
        index,
        step.name,
        "checkpoint",
        (PlannedAction("checkpoint", None, f"{step.checkpoint.message}{ask}"),),
        timeout=timeout,
    )


def _samplers(drill: ResolvedDrill, target_name: str, target: Target) -> tuple[str, ...]:
    measure = drill.drill.spec.measure
    lines = []
    if measure.rto is not None:
        probe = bind(
            drill.probe(measure.rto.probe),
            target.variables,
            target=target_name,
            where=f"{drill.source.display}: spec.measure.rto",
        )
        lines.append(
            f"RTO: every {format_duration(measure.rto.interval)}, {describe(probe)}; "
            f"recovered after {measure.rto.stable_for} passing samples in a row"
        )
    if measure.rpo is not None:
        canary = measure.rpo.canary
        spec = drill.probes[canary.ref].spec if isinstance(canary, ProbeRef) else canary
        bound = bind(
            spec,
            target.variables,
            target=target_name,
            where=f"{drill.source.display}: spec.measure.rpo",
        )
        lines.append(f"RPO: {describe(bound)}")
    for condition in drill.drill.spec.safety.stop_conditions:
        probe = bind(
            drill.probe(condition.probe),
            target.variables,
            target=target_name,
            where=f"{drill.source.display}: stop condition {condition.name}",
        )
        lines.append(
            f"stop condition {condition.name}: abort when failing for "
            f"{format_duration(condition.failing_for)}: {describe(probe)}"
        )
    return tuple(lines)


def _guards(
    drill: ResolvedDrill, target_name: str, target: Target, now: datetime
) -> tuple[Guard, ...]:
    spec = drill.drill.spec
    guards = [
        Guard(
            "allowed-target",
            True,
            f"{target_name} matches spec.targets ({', '.join(spec.targets)})",
        )
    ]
    confirm = spec.safety.confirmation == "always" or target.tier == "prod"
    guards.append(
        Guard(
            "confirmation",
            not confirm,
            f"tier {target.tier}: needs --yes or typing the target name"
            if confirm
            else f"tier {target.tier}: no confirmation needed",
        )
    )
    window = target.active_freeze(now)
    guards.append(
        Guard(
            "freeze-window",
            window is None,
            f"frozen by {window.name}: {window.reason}" if window else "no freeze window is active",
        )
    )
    return tuple(guards)
