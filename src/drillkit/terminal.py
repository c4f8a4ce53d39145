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

from drillkit.spec.describe import describe_objectives
from drillkit.spec.duration import format_duration

if TYPE_CHECKING:
    from drillkit.engine.plan import Plan
    from drillkit.spec.resolve import ResolvedDrill
    from drillkit.spec.targets import Target
    from drillkit.spec.validate import LockResult, ValidationReport


def console(stderr: bool = False) -> Console:
    """A console that never wraps lines in CI logs (no TTY: wide, no colour)."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits: enough to tell versions apart on screen."""
    return digest[:19]


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


def print_validation(out: Console, err: Console, report: ValidationReport) -> None:
    for result in report.files:
        if result.ok:
            detail = " ".join(x for x in (result.kind, result.name, result.version) if x)
            digest = f"  {short_digest(result.digest)}" if result.digest else ""
            out.print(f"ok      {result.path}  {detail}{digest}")
        else:
            out.print(f"FAILED  {result.path}")
    for problem in report.problems:
        err.print(f"error: {problem.render()}", markup=False)
    failed = sum(1 for f in report.files if not f.ok)
    summary = (
        f"{len(report.files)} files valid"
        if report.ok
        else f"{failed} of {len(report.files)} files invalid, {len(report.problems)} problems"
    )
    out.print(summary)


def print_lock(out: Console, result: LockResult, lock_path: str) -> None:
    for name, version, digest in result.added:
        out.print(f"locked  {name} {version}  {digest}")
    for name, version in result.unchanged:
        out.print(f"same    {name} {version}")
    out.print(f"{len(result.added)} new version(s) recorded in {lock_path}")


def print_drill(out: Console, drill: ResolvedDrill, text: str) -> None:
    out.print(f"# {drill.name} {drill.version}  {drill.digest}", markup=False)
    out.print(
        f"# source: {drill.source.display}; references: {', '.join(drill.references) or 'none'}",
        markup=False,
    )
    out.print(text, markup=False, end="")


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
