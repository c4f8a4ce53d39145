"""Plain-text output for commands that run in CI on every commit (validate, lock, show).

These commands must stay fast, so they print with ``click.echo`` and never
import Rich: one line per file, then one summary line, errors on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from drillkit.spec.resolve import ResolvedDrill
    from drillkit.spec.validate import LockResult, ValidationReport


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits: enough to tell versions apart on screen."""
    return digest[:19]


def print_validation(report: ValidationReport) -> None:
    for result in report.files:
        if result.ok:
            detail = " ".join(x for x in (result.kind, result.name, result.version) if x)
            digest = f"  {short_digest(result.digest)}" if result.digest else ""
            click.echo(f"ok      {result.path}  {detail}{digest}")
        else:
            click.echo(f"FAILED  {result.path}")
    for problem in report.problems:
        click.echo(f"error: {problem.render()}", err=True)
    failed = sum(1 for f in report.files if not f.ok)
    if report.ok:
        click.echo(f"{len(report.files)} files valid")
    else:
        click.echo(
            f"{failed} of {len(report.files)} files invalid, {len(report.problems)} problems"
        )


def print_lock(result: LockResult, lock_path: str) -> None:
    for name, version, digest in result.added:
        click.echo(f"locked  {name} {version}  {digest}")
    for name, version in result.unchanged:
        click.echo(f"same    {name} {version}")
    click.echo(f"{len(result.added)} new version(s) recorded in {lock_path}")


def print_drill(drill: ResolvedDrill, text: str) -> None:
    click.echo(f"# {drill.name} {drill.version}  {drill.digest}")
    click.echo(
        f"# source: {drill.source.display}; references: {', '.join(drill.references) or 'none'}"
    )
    click.echo(text, nl=False)
