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

    from drillkit.plain_output import print_drill

    text = yaml.safe_dump(drill.resolved, sort_keys=False, allow_unicode=True, width=100)
    print_drill(drill, text)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def validate(state: _State, paths: tuple[Path, ...]) -> None:
    """Check drills, probes, runbooks, experiments and targets; compare drills with drills.lock.

    With no PATHS, checks the whole repository. A drill whose content changed
    while its version did not fails here: bump the version, then `drill lock`.
    """
    from drillkit.plain_output import print_validation
    from drillkit.spec.validate import validate as run_validation

    repo = state.repository()
    report = run_validation(repo, list(paths))
    print_validation(report)
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
    from drillkit.plain_output import print_lock
    from drillkit.spec.validate import lock_repository

    repo = state.repository()
    result = lock_repository(repo, check_only=check)
    print_lock(result, repo.display(repo.lock_path))


@cli.command()
@click.argument(
    "kind",
    type=click.Choice(["drill", "probe", "runbook", "targets", "report", "all"]),
    default="all",
)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write KIND.schema.json files into this folder instead of printing.",
)
def schema(kind: str, write_dir: Path | None) -> None:
    """Print (or --write) the JSON Schema of drill repository files, and of report.json."""
    from drillkit.evidence.report_schema import REPORT_KIND, report_schema_text
    from drillkit.spec.schema import DOCUMENTS, schema_text

    def text(name: str) -> str:
        return report_schema_text() if name == REPORT_KIND else schema_text(name)

    kinds = [*DOCUMENTS, REPORT_KIND] if kind == "all" else [kind]
    if write_dir is None:
        if len(kinds) == 1:
            click.echo(text(kinds[0]), nl=False)
        else:
            import json

            click.echo(json.dumps({k: json.loads(text(k)) for k in kinds}, indent=2))
        return
    write_dir.mkdir(parents=True, exist_ok=True)
    for name in kinds:
        path = write_dir / f"{name}.schema.json"
        path.write_text(text(name), encoding="utf-8")
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
@click.option(
    "--all",
    "list_all",
    is_flag=True,
    help="List every object the steps touch, one per line (by default a long list of one "
    "kind is summarised as a count and the first few names).",
)
@click.pass_obj
def plan(state: _State, name: str, target_name: str, list_all: bool) -> None:
    """Show exactly what a run of NAME on a target would do. Changes nothing.

    Lists the guards, the samplers and every step in order; when the target's
    provider is available, also the objects each fault and restore will touch
    (the blast radius: nodes, the pods they evict, namespaces...), checked
    against spec.safety.blastRadius.
    """
    from drillkit.engine.support import blast_radius_violations, check_support, step_impacts
    from drillkit.errors import NotImplementedYet
    from drillkit.providers.registry import PROVIDERS
    from drillkit.terminal import console, print_impacts, print_plan

    planned = _plan(state, name, target_name)
    out = console()
    print_plan(out, planned)
    if planned.target.kubernetes is not None:  # what a scheduled run's service account needs
        from drillkit.cli_schedule import print_plan_permissions

        print_plan_permissions(planned)
    try:
        provider_cls = PROVIDERS.get(planned.target.provider)
    except NotImplementedYet:
        out.print(
            f"Blast radius: provider `{planned.target.provider}` is not available yet, so "
            "the exact objects each step touches cannot be listed.",
            markup=False,
        )
        return
    provider = provider_cls(target_name, planned.target)
    provider.ensure_running(lambda line: click.echo(line, err=True))
    provider.open()
    try:
        check_support(planned, provider)
        impacts = step_impacts(planned, provider)
    finally:
        provider.close()
    print_impacts(out, impacts, blast_radius_violations(planned, impacts), list_all=list_all)


_output_option = click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Evidence folder; each run is DIR/<drill>/<run-id>/. Default: $DRILLKIT_OUTPUT, "
    "else reports/ in the repository.",
)


def _output_dir(state: _State, output: Path | None) -> Path:
    if output is not None:
        return output
    if os.environ.get("DRILLKIT_OUTPUT"):
        return Path(os.environ["DRILLKIT_OUTPUT"])
    return Path(state.repository().root) / "reports"


def _progress(title: str) -> Any:
    if sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb":
        from drillkit.live_view import LiveProgress

        return LiveProgress(title)
    from drillkit.engine.progress import PlainProgress

    return PlainProgress(sys.stdout, interactive=sys.stdin.isatty())


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
@click.option(
    "--yes",
    is_flag=True,
    help="Confirm a run against a prod-tier target (and any "
    "checkpoint that asks) without a prompt.",
)
@click.option(
    "--dry-run", is_flag=True, help="Guards, plan, lock and baseline probes only; changes nothing."
)
@_output_option
@click.option(
    "--signing-key",
    metavar="PATH|URI",
    default=None,
    help="Ed25519 private key (PEM) that signs the evidence, or a cloud key URI "
    "(awskms:///ARN-or-alias, azurekms://VAULT.vault.azure.net/KEY); else "
    "$DRILLKIT_SIGNING_KEY, else the target's signingKey, else a per-user key created on "
    "first use (`drill keys generate` makes one). An encrypted key's passphrase comes from "
    "$DRILLKIT_SIGNING_KEY_PASSPHRASE, else a prompt.",
)
@click.option(
    "--no-sign",
    is_flag=True,
    help="Do not sign the evidence. The reports say so, and `drill verify` refuses the folder.",
)
@click.pass_obj
def run(
    state: _State,
    name: str,
    target_name: str,
    yes: bool,
    dry_run: bool,
    output: Path | None,
    signing_key: str | None,
    no_sign: bool,
) -> None:
    """Run drill NAME against a target (default: the built-in sandbox).

    \b
    Phases: preflight, guards, lock, baseline, samplers, steps, verify, undo,
    unlock, measure. Every fault's undo is journaled before the fault is
    applied; Ctrl-C, SIGTERM, a stop condition, a step timeout or an error all
    end in undoing every applied fault. After a crash (kill -9, power loss),
    `drill recover` undoes what the journal says is still applied.
    \b
    Every run leaves a signed evidence bundle in its run folder (report.json,
    report.md, report.html, junit.xml, journal, definition, samples and
    attestation.intoto.json); check it with `drill verify FOLDER --key PUB`.
    Only --no-sign leaves it unsigned, and the journal and reports say so.
    \b
    Exit codes: 0 passed, 1 failed or aborted, 2 bad input or refused by a guard.
    """
    from drillkit.cli_evidence import run_signer, seal
    from drillkit.engine.guards import refuse_if_frozen
    from drillkit.engine.runner import Runner, RunOptions
    from drillkit.errors import UserInputError, VersionError
    from drillkit.evidence.no_sign import NO_SIGN
    from drillkit.providers.registry import PROVIDERS
    from drillkit.terminal import console, print_summary

    if no_sign and signing_key is not None:
        raise UserInputError(
            "give either --signing-key or --no-sign, not both",
            fix="drop --no-sign to sign with the key, or --signing-key for unsigned evidence",
        )
    repo = state.repository()
    planned = _plan(state, name, target_name)
    drill = planned.drill
    why = repo.read_lock().check(drill.name, drill.version, drill.digest)
    if why is not None and ("changed but its version" in why or planned.target.tier == "prod"):
        raise VersionError(
            f"refused: {why}",
            fix="bump metadata.version and run `drill lock`; prod targets run only locked versions",
        )
    refuse_if_frozen(planned)
    signer = None
    if no_sign:
        click.echo(
            "warning: --no-sign: the evidence of this run will NOT be signed; "
            "`drill verify` will refuse it",
            err=True,
        )
    else:  # a missing key or passphrase fails here, before anything changes
        signer = run_signer(repo.root, signing_key, target_name, planned.target.signing_key)
        if getattr(signer, "notice", None):
            click.echo(signer.notice, err=True)
    provider = PROVIDERS.get(planned.target.provider)(target_name, planned.target)
    provider.ensure_running(lambda line: click.echo(line, err=True))
    options = RunOptions(
        output_dir=_output_dir(state, output),
        yes=yes,
        dry_run=dry_run,
        evidence_signing=NO_SIGN if no_sign else None,
    )
    runner = Runner(
        planned, provider, options, _progress(f"{drill.name} {drill.version} on {target_name}")
    )
    result = runner.run()
    shown = repo.display(result.run_dir)
    evidence = seal(result.run_dir, signer, shown)
    print_summary(console(), result, shown, evidence)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("run_ref", metavar="[RUN]", required=False)
@click.option(
    "--target",
    "-t",
    "target_name",
    default=None,
    help="Recover the newest unfinished run on this target.",
)
@_output_option
@click.pass_obj
def recover(
    state: _State, run_ref: str | None, target_name: str | None, output: Path | None
) -> None:
    """Undo what a crashed run left applied, from its journal. Safe to run twice.

    RUN is a run id (looked up under the output folder) or a run folder path.
    """
    from drillkit.engine.progress import PlainProgress
    from drillkit.engine.recovery import find_run, newest_unfinished
    from drillkit.engine.recovery import recover as recover_run
    from drillkit.errors import UserInputError
    from drillkit.providers.registry import PROVIDERS

    if (run_ref is None) == (target_name is None):
        raise UserInputError(
            "give either a RUN or --target, not both or neither",
            fix="`drill recover RUN_ID` or `drill recover --target sandbox`",
        )
    if run_ref is not None and Path(run_ref).is_dir():
        run_dir = Path(run_ref)
    else:
        folder = _output_dir(state, output)
        run_dir = (
            find_run(folder, run_ref)
            if run_ref is not None
            else newest_unfinished(folder, str(target_name))
        )
    click.echo(f"recovering {run_dir}")
    result = recover_run(run_dir, PROVIDERS, PlainProgress(sys.stdout))
    if result.failed:
        click.echo(
            f"error: {len(result.failed)} fault(s) could not be undone: "
            f"{', '.join(result.failed)}; fix the cause and run `drill recover` again",
            err=True,
        )
    else:
        click.echo(f"recovered: {len(result.reverted)} fault(s) undone")
    if result.damage:
        from drillkit.engine.recovery import RECOVERY_JOURNAL

        click.echo(
            f"error: the run's journal is damaged ({result.damage}); its evidence cannot be "
            f"trusted or signed again. This recovery is recorded in {RECOVERY_JOURNAL}; "
            "the damaged journal was left as found",
            err=True,
        )
        sys.exit(result.exit_code)
    if result.reverted or result.failed or result.repaired_bytes or result.lock_released:
        # The journal grew: render the reports again and sign the bundle as it now is.
        from drillkit.cli_evidence import recovery_signer, seal
        from drillkit.evidence.no_sign import is_unsigned_run

        in_repository = _in_repository(state)
        shown = state.repository().display(run_dir) if in_repository else str(run_dir)
        signer = None
        if not is_unsigned_run(run_dir):  # a --no-sign run stays unsigned
            signer = recovery_signer(state, run_dir, in_repository=in_repository)
        for line in seal(run_dir, signer, shown):
            click.echo(line)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--events", "show_events", is_flag=True, help="Print every event, one per line.")
@_output_option
@click.pass_obj
def journal(state: _State, run_ref: str, show_events: bool, output: Path | None) -> None:
    """Verify a run's journal chain end to end and summarise it (RUN: run id or folder).

    Exit 0 when every event chains to the one before; otherwise the first
    broken event is named and the exit code is 1.
    """
    from drillkit.engine.journal import read_journal
    from drillkit.engine.recovery import JOURNAL, find_run

    run_dir = (
        Path(run_ref) if Path(run_ref).is_dir() else find_run(_output_dir(state, output), run_ref)
    )
    read = read_journal(run_dir / JOURNAL)
    events = read.events
    if show_events:
        for event in events:
            step = f" [{event.step}]" if event.step else ""
            click.echo(f"{event.seq:>6} {event.time} {event.type}{step}")
    ended = next((e for e in reversed(events) if e.type == "run-ended"), None)
    verdict = ended.data.get("verdict") if ended is not None else "unfinished"
    click.echo(
        f"{run_dir / JOURNAL}: {len(events)} events, hash chain verified, "
        f"head {read.head[:16]}, verdict {verdict}"
    )
    if read.partial_tail is not None:
        click.echo(
            f"warning: a torn last line of {len(read.partial_tail)} bytes follows the "
            "chain (a crash mid-write); `drill recover` removes it",
            err=True,
        )


def _in_repository(state: _State) -> bool:
    try:
        state.repository()
    except Exception:  # recovering a folder outside any drill repository is fine
        return False
    return True


def _add_command_groups() -> None:
    from drillkit.cli_evidence import report, verify
    from drillkit.cli_gameday import gameday
    from drillkit.cli_history import history, metrics, scorecard
    from drillkit.cli_interop import export_run, import_experiment
    from drillkit.cli_keys import keygen, keys
    from drillkit.cli_sandbox import sandbox
    from drillkit.cli_schedule import schedule, upload_command

    for command in (report, verify, keys, keygen, sandbox):
        cli.add_command(command)
    for command in (gameday, history, scorecard, metrics, import_experiment, export_run):
        cli.add_command(command)
    for command in (schedule, upload_command):
        cli.add_command(command)


_add_command_groups()


def main() -> None:
    """Console-script entry point."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "drill"
    if prog in ("__main__.py", "-c"):
        prog = "python -m drillkit"
    cli.main(prog_name="drill" if prog.startswith("drill") else prog)
