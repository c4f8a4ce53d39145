"""Which steps a provider can run, and what each will touch: the provider half of a plan.

Checked before anything changes: a drill that asks a provider for a fault kind
it does not implement fails here, naming the step, the kind and the provider,
instead of failing halfway through a run with a fault already applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from drillkit.engine.plan import Plan, PlannedStep
from drillkit.errors import UserInputError
from drillkit.providers.base import Impact, Provider
from drillkit.spec.references import ProbeRef


@dataclass(frozen=True)
class StepImpact:
    step: PlannedStep
    impacts: tuple[Impact, ...]


def check_support(plan: Plan, provider: Provider) -> None:
    """Raise UserInputError naming every step the provider cannot run."""
    problems = []
    for step in plan.steps:
        for action in step.actions:
            if action.intent is None:
                continue
            kind = str(getattr(action.intent, "type", ""))
            found: object
            if step.kind == "fault":
                found = provider.fault_handler(kind)
                supported = provider.kinds("faults")
            elif step.kind == "restore":
                found = provider.restore_handler(kind)
                supported = provider.kinds("restores")
            else:
                found = provider.probe_handler(kind)
                supported = _probe_kinds(provider)
            if found is None:
                problems.append(
                    f"step {step.name}: {step.kind} `{kind}` is not supported by "
                    f"provider `{provider.name}` (it supports: "
                    f"{', '.join(supported) or 'none'})"
                )
    drill = plan.drill
    measure = drill.drill.spec.measure
    sampled = []
    if measure.rto is not None:
        sampled.append(("spec.measure.rto", drill.probe(measure.rto.probe).type))
    for condition in drill.drill.spec.safety.stop_conditions:
        sampled.append((f"stop condition {condition.name}", drill.probe(condition.probe).type))
    if measure.rpo is not None:
        canary = measure.rpo.canary
        kind = drill.probes[canary.ref].spec.type if isinstance(canary, ProbeRef) else canary.type
        if provider.canary_handler(kind) is None:
            problems.append(
                f"spec.measure.rpo: the RPO canary is not supported by provider `{provider.name}`"
            )
    for where, kind in sampled:
        if provider.probe_handler(kind) is None:
            problems.append(
                f"{where}: probe `{kind}` is not supported by provider "
                f"`{provider.name}` (it supports: "
                f"{', '.join(_probe_kinds(provider)) or 'none'})"
            )
    if problems:
        raise UserInputError(
            f"drill {drill.name} cannot run on target `{plan.target_name}`:\n  "
            + "\n  ".join(problems),
            fix="pick a target whose provider supports these steps, or change the drill",
        )


def step_impacts(plan: Plan, provider: Provider) -> list[StepImpact]:
    """What every fault and restore step will touch, asked of the provider (read-only)."""
    result = []
    for step in plan.steps:
        impacts = []
        for action in step.actions:
            if action.intent is None or step.kind not in ("fault", "restore"):
                continue
            kind = str(getattr(action.intent, "type", ""))
            handler = (
                provider.fault_handler(kind)
                if step.kind == "fault"
                else provider.restore_handler(kind)
            )
            if handler is not None:
                impacts.append(handler.impact(action.intent))
        result.append(StepImpact(step, tuple(impacts)))
    return result


def blast_radius_violations(plan: Plan, impacts: list[StepImpact]) -> list[str]:
    """Every ``safety.blastRadius`` limit the fault steps would exceed."""
    limits = plan.drill.drill.spec.safety.blast_radius
    totals: dict[str, set[str]] = {}
    for item in impacts:
        if item.step.kind != "fault":
            continue
        for impact in item.impacts:
            for touched in impact.touched:
                totals.setdefault(touched.kind, set()).add(touched.name)
    checks = [
        ("pod", limits.max_pods, "maxPods"),
        ("node", limits.max_nodes, "maxNodes"),
        ("zone", limits.max_zones, "maxZones"),
        ("region", limits.max_regions, "maxRegions"),
        ("namespace", limits.max_namespaces, "maxNamespaces"),
    ]
    violations = []
    for kind, limit, field in checks:
        count = len(totals.get(kind, set()))
        if limit is not None and count > limit:
            violations.append(
                f"faults would touch {count} {kind}(s), above safety.blastRadius.{field} = {limit}"
            )
    return violations


def _probe_kinds(provider: Provider) -> list[str]:
    """Kinds the provider answers itself plus the generic ones it has what they need for."""
    from drillkit.probes.registry import generic_kinds

    kinds = set(provider.kinds("probes")) | set(generic_kinds())
    return sorted(kind for kind in kinds if provider.probe_handler(kind) is not None)
