"""Terminal rendering for the CLI: tables and plans that read well in a TTY and in CI logs.

Rich is imported here, lazily from the CLI, never at ``drill --help``. When
output is not a terminal, Rich drops colour and keeps the layout, so CI logs
stay plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from drillkit.plain_output import short_digest
from drillkit.spec.describe import describe_objectives
from drillkit.spec.duration import format_duration

if TYPE_CHECKING:
    from drillkit.engine.plan import Plan
    from drillkit.engine.runner import RunResult
    from drillkit.engine.support import StepImpact
    from drillkit.providers.base import Touched
    from drillkit.spec.resolve import ResolvedDrill
    from drillkit.spec.targets import Target


def console(stderr: bool = False) -> Console:
    """A console that never wraps lines in CI logs (no TTY: wide, no colour)."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def drill_table(drills: Sequence[ResolvedDrill]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "VERSION", "OWNER", "TIER", "OBJECTIVES", "STEPS", "DIGEST"):
        wraps = column in ("OBJECTIVES", "OWNER")
        table.add_column(column, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
    for drill in drills:
        meta = drill.drill.metadata
        table.add_row(
            meta.name,
            meta.version,
            meta.owner,
            f"tier-{meta.tier}",
            describe_objectives(drill.drill.spec.objectives),
            str(len(drill.drill.spec.steps)),
            short_digest(drill.digest),
        )
    return table


def target_table(targets: dict[str, Target]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "PROVIDER", "TIER", "ZONES", "REGIONS", "FREEZE WINDOWS"):
        table.add_column(column)
    for name, target in sorted(targets.items()):
        table.add_row(
            name,
            target.provider,
            target.tier,
            ", ".join(f"{k}={v}" for k, v in target.zones.items()) or "-",
            ", ".join(f"{k}={v}" for k, v in target.regions.items()) or "-",
            ", ".join(w.name for w in target.freeze_windows) or "-",
        )
    return table


def print_plan(out: Console, plan: Plan) -> None:
    drill = plan.drill
    target = plan.target
    out.print(
        f"[bold]Plan[/]: {drill.name} {drill.version} ({short_digest(drill.digest)}) "
        f"on target [bold]{plan.target_name}[/] (provider {target.provider}, "
        f"tier {target.tier})"
    )
    out.print(
        f"Objectives: {describe_objectives(drill.drill.spec.objectives)}; "
        f"deadline {format_duration(drill.drill.spec.safety.max_duration)}"
    )
    out.print("Guards:")
    for guard in plan.guards:
        mark = "ok  " if guard.ok else ("WAIT" if guard.name == "confirmation" else "STOP")
        out.print(f"  {mark} {guard.name}: {guard.detail}", markup=False)
    if plan.samplers:
        out.print("Samplers (from before the first fault until recovery):")
        for line in plan.samplers:
            out.print(f"  - {line}", markup=False)
    out.print("Steps:")
    width = max(len(s.name) for s in plan.steps)
    for step in plan.steps:
        source = f"  [{step.source}]" if step.source else ""
        timeout = f"  (timeout {step.timeout})" if step.timeout else ""
        if len(step.actions) == 1:
            action = step.actions[0]
            out.print(
                f"  {step.index:>2}. {step.kind:<10} {step.name:<{width}}  "
                f"{action.name}: {action.summary}{timeout}{source}",
                markup=False,
            )
            continue
        out.print(
            f"  {step.index:>2}. {step.kind:<10} {step.name:<{width}}{timeout}{source}",
            markup=False,
        )
        for letter, action in zip("abcdefghijklmnopqrstuvwxyz", step.actions, strict=False):
            out.print(f"        {letter}. {action.name}: {action.summary}", markup=False)


LISTED_UP_TO = 10
"""Objects of one kind a step touches that ``drill plan`` lists one per line; above that it
prints the count and the first few names (``--all`` lists every one)."""
NAMED_IN_SUMMARY = 3


def print_impacts(
    out: Console,
    impacts: Sequence[StepImpact],
    violations: Sequence[str],
    *,
    list_all: bool = False,
) -> None:
    """The blast radius: every object each step will touch, as the provider sees it now.

    A zone of a large cluster holds thousands of nodes and tens of thousands of
    pods; one line each would bury the rest of the plan, so a long run of one
    kind and action is summarised unless ``list_all``. The journal of a run
    keeps the full list either way.
    """
    out.print("Blast radius (what each step touches now):")
    totals: dict[str, int] = {}
    for item in impacts:
        for impact in item.impacts:
            for (kind, action), names in _runs_of_one_kind(impact.touched):
                if item.step.kind == "fault":
                    totals[kind] = totals.get(kind, 0) + len(names)
                shown = f" ({action})" if action else ""
                if list_all or len(names) <= LISTED_UP_TO:
                    for name in names:
                        out.print(f"  {item.step.name}: {kind} {name}{shown}", markup=False)
                    continue
                first = ", ".join(names[:NAMED_IN_SUMMARY])
                out.print(
                    f"  {item.step.name}: {_counted(len(names), kind)}{_spread(kind, names)}"
                    f"{shown}: {first} and {len(names) - NAMED_IN_SUMMARY:,} more "
                    "(--all lists them)",
                    markup=False,
                )
            for note in impact.notes:
                out.print(f"  {item.step.name}: note: {note}", markup=False)
    if not any(impact.touched for item in impacts for impact in item.impacts):
        out.print("  nothing: no step changes the target")
    elif totals:
        shown = ", ".join(_counted(count, kind) for kind, count in totals.items())
        out.print(f"  faults in total: {shown}", markup=False)
    for violation in violations:
        out.print(f"  STOP {violation}", markup=False)


def _runs_of_one_kind(
    touched: Sequence[Touched],
) -> list[tuple[tuple[str, str], list[str]]]:
    """Consecutive objects grouped by (kind, action), in the provider's order."""
    runs: list[tuple[tuple[str, str], list[str]]] = []
    for item in touched:
        key = (item.kind, item.action)
        if runs and runs[-1][0] == key:
            runs[-1][1].append(item.name)
        else:
            runs.append((key, [item.name]))
    return runs


def _counted(count: int, kind: str) -> str:
    return f"{count:,} {kind}{'' if count == 1 else 's'}"


def _spread(kind: str, names: list[str]) -> str:
    """For namespaced objects (``namespace/name``), how many namespaces they span."""
    if not all("/" in name for name in names):
        return ""
    spaces = {name.split("/", 1)[0] for name in names}
    return f" in {_counted(len(spaces), 'namespace')}"


def print_summary(
    out: Console, result: RunResult, run_dir: str, evidence: Sequence[str] = ()
) -> None:
    """The end of a run: steps, objectives, undo, where the evidence is, and the verdict last."""
    summary = result.summary
    out.print("")
    out.print(f"Run {result.run_id}", markup=False)
    for step in summary.steps:
        detail = f"  {step.detail}" if step.detail else ""
        out.print(
            f"  {step.status:<8} {step.kind:<10} {step.name} ({step.seconds:.2f}s){detail}",
            markup=False,
        )
    for objective in summary.objectives:
        state = {True: "met", False: "NOT MET", None: "not measured"}[objective.met]
        out.print(
            f"  objective {objective.name}: target {objective.target}, measured "
            f"{objective.measured}: {state}",
            markup=False,
        )
    if summary.rto_seconds is not None and summary.sampling_interval_seconds is not None:
        out.print(
            f"  RTO {summary.rto_seconds:.2f}s (sampling every "
            f"{summary.sampling_interval_seconds * 1000:.0f} ms, {summary.samples} samples, "
            f"availability {100 * (summary.availability or 0):.1f}%)",
            markup=False,
        )
    if summary.rto_phases:
        phases = ", ".join(
            f"{name} +{seconds:.2f}s" for name, seconds in summary.rto_phases.items()
        )
        out.print(f"  RTO phases after fault start: {phases}", markup=False)
    if summary.latency_ms:
        figures = ", ".join(f"{name} {value:.1f} ms" for name, value in summary.latency_ms.items())
        out.print(f"  probe latency: {figures}", markup=False)
    if summary.rpo_seconds is not None and summary.rpo_upper_bound:
        out.print(f"  RPO <= {summary.rpo_seconds:.2f}s: {summary.rpo_note}", markup=False)
    elif summary.rpo_seconds is not None:
        out.print(
            f"  RPO {summary.rpo_seconds:.2f}s (canary writes lost: "
            f"{summary.canary_writes_lost}, gaps: {summary.canary_gaps or 0})",
            markup=False,
        )
    elif summary.rpo_note:
        out.print(f"  RPO not measured: {summary.rpo_note}", markup=False)
    if summary.faults_applied:
        out.print(
            f"  faults applied {len(summary.faults_applied)}, undone "
            f"{len(summary.faults_reverted)}, left applied {len(summary.faults_left)}"
            + (f": {', '.join(summary.faults_left)}" if summary.faults_left else ""),
            markup=False,
        )
    if summary.retries:
        out.print(f"  retries absorbed: {summary.retries}")
    for error in summary.errors:
        out.print(f"  error: {error}", markup=False)
    for line in evidence or [f"Journal: {run_dir}/journal.jsonl"]:
        out.print(line, markup=False)
    out.print(f"Verdict: {summary.verdict.upper()}", markup=False)
    if summary.faults_left:
        out.print(f"Faults are still applied: run `drill recover {result.run_id}`", markup=False)
