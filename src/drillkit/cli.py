"""The ``drill`` command line: parse, call, render; nothing else.

Only Click is imported at module level so that ``drill --help`` answers at
once; every command imports what it needs when it runs. Errors that are the
user's (``DrillError``) are caught once, here, and printed without a
traceback; ``-v`` shows the traceback for everything else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from drillkit import __version__
from drillkit.errors import EXIT_USAGE, DrillError

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _State:
    def __init__(self, repo: Path | None, targets: Path | None, verbose: int) -> None:
        self.repo_path = repo
        self.targets_path = targets
        self.verbose = verbose

    def repository(self) -> Any:
        from drillkit.spec.repository import DrillRepository

        return DrillRepository.discover(self.repo_path, targets_file=self.targets_path)


class _DrillGroup(click.Group):
    """Runs a command and turns our errors into one clear message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DrillError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            verbose = bool(ctx.obj and ctx.obj.verbose)
            if verbose:
                import traceback

                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            if not verbose:
                click.echo("  (run with -v for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)


def _fail(exc: DrillError) -> NoReturn:
    text = exc.diagnostics()
    lines = text.splitlines() or [text]
    for line in lines:
        prefix = "" if line.startswith("  ") else "error: "
        click.echo(f"{prefix}{line}", err=True)
    sys.exit(exc.exit_code)


@click.group(cls=_DrillGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Drill repository root (the folder with drills/). Default: $DRILLKIT_REPO, "
    "else the nearest folder upward from here that has drills/.",
)
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Target registry file. Default: $DRILLKIT_TARGETS, else "
    "targets.yaml in the repository (sandbox is always built in).",
)
@click.option("-v", "--verbose", count=True, help="More detail; tracebacks for internal errors.")
@click.version_option(__version__, "--version", prog_name="drillkit")
@click.pass_context
def cli(ctx: click.Context, repo: Path | None, targets_file: Path | None, verbose: int) -> None:
    """Run disaster-recovery drills and prove their outcome.

    \b
    A drill (drills/NAME.yaml) injects a failure, runs the restore, measures
    RTO and RPO from the user's side and leaves signed evidence.
    \b
    Start here:
      drill list                         drills in this repository
      drill plan restore-orders          what a run would do (changes nothing)
      drill run restore-orders           run it against the built-in sandbox
      drill validate                     check every drill, probe and runbook
    \b
    `drill` is also ldns's DNS tool; `python -m drillkit` always reaches this one.
    Exit codes: 0 success, 1 drill or command failed, 2 bad input, 130 interrupted.
    """
    ctx.obj = _State(repo, targets_file, verbose)


@cli.command("list")
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def list_drills(state: _State, output: str) -> None:
    """List the drills: name, version, owner, tier, objectives and digest."""
    from drillkit.terminal import console, drill_table

    repo = state.repository()
    drills = [repo.load_drill(path) for path in repo.drill_paths()]
    if output == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "name": d.name,
                        "version": d.version,
                        "owner": d.drill.metadata.owner,
                        "tier": d.drill.metadata.tier,
                        "digest": d.digest,
                        "path": d.source.display,
                        "objectives": d.drill.spec.objectives.model_dump(
                            mode="json", by_alias=True, exclude_none=True
                        ),
                    }
                    for d in drills
                ],
                indent=2,
            )
        )
        return
    if not drills:
        click.echo(f"no drills in {repo.display(repo.drills_dir)}/")
        return
    console().print(drill_table(drills))


@cli.command()
@click.argument("name")
@click.option(
    "--format",
    "output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="yaml: the resolved definition; json: canonical JSON "
    "(the bytes the digest is taken over).",
)
@click.pass_obj
def show(state: _State, name: str, output: str) -> None:
    """Show a drill's resolved definition (references inlined), version and digest."""
    repo = state.repository()
    drill = repo.load_named(name)
    if output == "json":
        from drillkit.spec.digest import canonical_json

        click.echo(canonical_json(drill.resolved).decode())
        return
    import yaml

    from drillkit.terminal import console, print_drill

    text = yaml.safe_dump(drill.resolved, sort_keys=False, allow_unicode=True, width=100)
    print_drill(console(), drill, text)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def validate(state: _State, paths: tuple[Path, ...]) -> None:
    """Check drills, probes, runbooks, experiments and targets; compare drills with drills.lock.

    With no PATHS, checks the whole repository. A drill whose content changed
    while its version did not fails here: bump the version, then `drill lock`.
    """
    from drillkit.spec.validate import validate as run_validation
    from drillkit.terminal import console, print_validation

    repo = state.repository()
    report = run_validation(repo, list(paths))
    print_validation(console(), console(stderr=True), report)
    if not report.files:
        click.echo("error: no drill repository files found in the given paths", err=True)
        sys.exit(EXIT_USAGE)
    if not report.ok:
        sys.exit(EXIT_USAGE)


@cli.command()
@click.option(
    "--check", is_flag=True, help="Only check that drills.lock is complete; write nothing (for CI)."
)
@click.pass_obj
def lock(state: _State, check: bool) -> None:
    """Record each drill's version and digest in drills/drills.lock.

    Released versions are immutable: a drill whose content changed under a
    version already in the lock is refused; bump its version instead.
    """
    from drillkit.spec.validate import lock_repository
    from drillkit.terminal import console, print_lock

    repo = state.repository()
    result = lock_repository(repo, check_only=check)
    print_lock(console(), result, repo.display(repo.lock_path))


@cli.command()
@click.argument(
    "kind", type=click.Choice(["drill", "probe", "runbook", "targets", "all"]), default="all"
)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write KIND.schema.json files into this folder instead of printing.",
)
def schema(kind: str, write_dir: Path | None) -> None:
    """Print (or --write) the JSON Schema of drill repository files for editors."""
    from drillkit.spec.schema import DOCUMENTS, schema_text

    kinds = list(DOCUMENTS) if kind == "all" else [kind]
    if write_dir is None:
        if len(kinds) == 1:
            click.echo(schema_text(kinds[0]), nl=False)
        else:
            import json

            click.echo(json.dumps({k: json.loads(schema_text(k)) for k in kinds}, indent=2))
        return
    write_dir.mkdir(parents=True, exist_ok=True)
    for name in kinds:
        path = write_dir / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        click.echo(f"wrote {path}")


@cli.command()
@click.pass_obj
def targets(state: _State) -> None:
    """List the targets in the registry (sandbox is built in)."""
    from drillkit.terminal import console, target_table

    console().print(target_table(state.repository().targets()))


def _plan(state: _State, name: str, target_name: str) -> Any:
    from drillkit.engine.plan import make_plan

    repo = state.repository()
    drill = repo.load_named(name)
    target = repo.target(target_name)
    return make_plan(drill, target_name, target)


@cli.command()
@click.argument("name")
@click.option(
    "--target",
    "-t",
    "target_name",
    default="sandbox",
    show_default=True,
    help="Target from the registry.",
)
@click.pass_obj
def plan(state: _State, name: str, target_name: str) -> None:
    """Show exactly what a run of NAME on a target would do. Changes nothing."""
    from drillkit.terminal import console, print_plan

    planned = _plan(state, name, target_name)
    out = console()
    print_plan(out, planned)
    out.print(
        f"Blast radius: provider `{planned.target.provider}` is not available yet, so the "
        "exact objects each step touches cannot be listed.",
        markup=False,
    )


@cli.command()
@click.argument("name")
@click.option(
    "--target",
    "-t",
    "target_name",
    default="sandbox",
    show_default=True,
    help="Target from the registry.",
)
@click.option("--yes", is_flag=True, help="Confirm a run against a prod-tier target.")
@click.option("--dry-run", is_flag=True, help="Guards, plan and baseline probes only.")
@click.pass_obj
def run(state: _State, name: str, target_name: str, yes: bool, dry_run: bool) -> None:
    """Run drill NAME against a target (default: the built-in sandbox)."""
    from drillkit.errors import NotImplementedYet, UserInputError

    planned = _plan(state, name, target_name)
    blocked = planned.blocked_by
    if blocked:
        raise UserInputError(
            f"refused: {blocked[0].detail}",
            fix="wait until the freeze window ends, or pick another target",
        )
    raise NotImplementedYet(
        f"`drill run` is not implemented yet: the drill engine and the {planned.target.provider}"
        f" provider land in a later release ({name} on {target_name} validated and planned fine)",
        fix=f"`drill plan {name} --target {target_name}` shows what the run will do",
    )


def main() -> None:
    """Console-script entry point."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "drill"
    if prog in ("__main__.py", "-c"):
        prog = "python -m drillkit"
    cli.main(prog_name="drill" if prog.startswith("drill") else prog)
