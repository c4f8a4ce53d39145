"""The guards a run must pass before anything changes: freeze windows, blast radius, confirmation.

Each guard's outcome is journaled; the first one that says no raises
``GuardRefused`` (exit 2, verdict ``refused``). ``refuse_if_frozen`` is also
called by the CLI before a provider is even loaded, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable

from drillkit.engine.journal import JournalWriter
from drillkit.engine.plan import Plan
from drillkit.engine.support import StepImpact, blast_radius_violations
from drillkit.errors import GuardRefused


def refuse_if_frozen(plan: Plan) -> None:
    """Raise when a plan-time guard (a freeze window) blocks the run."""
    if plan.blocked_by:
        raise GuardRefused(
            f"refused: {plan.blocked_by[0].detail}",
            fix="wait until the freeze window ends, or pick another target",
        )


def enforce_guards(
    plan: Plan,
    impacts: list[StepImpact],
    journal: JournalWriter,
    *,
    yes: bool,
    confirm: Callable[[str, str], bool],
) -> None:
    """Journal every guard and raise GuardRefused at the first that refuses."""
    for guard in plan.guards:
        journal.append("guard", None, guard=guard.name, ok=guard.ok, detail=guard.detail)
    refuse_if_frozen(plan)
    violations = blast_radius_violations(plan, impacts)
    for violation in violations:
        journal.append("guard", None, guard="blast-radius", ok=False, detail=violation)
    if violations:
        raise GuardRefused(
            f"refused: {violations[0]}",
            fix="narrow the fault's selector, or raise the limit in "
            "spec.safety.blastRadius (a new drill version)",
        )
    journal.append(
        "guard", None, guard="blast-radius", ok=True, detail="within spec.safety.blastRadius"
    )
    if not plan.needs_confirmation:
        return
    confirmed = yes or confirm(
        f"Target {plan.target_name} is tier {plan.target.tier}.", plan.target_name
    )
    journal.append(
        "guard",
        None,
        guard="confirmation",
        ok=confirmed,
        detail="--yes" if yes else "typed confirmation",
    )
    if not confirmed:
        raise GuardRefused(
            f"refused: target `{plan.target_name}` is tier {plan.target.tier} and the run was "
            "not confirmed",
            fix=f"pass --yes, or run interactively and type `{plan.target_name}`",
        )
