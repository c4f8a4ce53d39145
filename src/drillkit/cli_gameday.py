"""``drill gameday plan|run|verify``: a day of drills in order, with gates, signed as one.

Thin like the rest of the CLI: load the plan (``drillkit.gameday.plan_file``),
check every entry's drill and target before anything runs, hand the loop
(``drillkit.gameday.day``) a function that runs one drill as ``drill run``
does, then write and sign the game-day bundle (``drillkit.gameday.bundle``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

_plan_argument = click.argument(
    "plan_path", metavar="PLAN.yaml", type=click.Path(dir_okay=False, path_type=Path)
)


@click.group()
def gameday() -> None:
    """Game-days: ordered drill runs with go/no-go gates and one signed bundle linking them.

    \b
      drill gameday plan q4.yaml            what would run, in order, behind which gates
      drill gameday run q4.yaml --yes       run it (CI: --yes answers every confirmation)
      drill gameday verify DIR --key PUB    check a game-day bundle and every run it links
    """


@gameday.command("plan")
@_plan_argument
@click.pass_obj
def plan_command(state: Any, plan_path: Path) -> None:
    """Preview a game-day: entries in order, drill versions, targets, gates. Changes nothing."""
    loaded = _load(plan_path)
    prepared = _prepare_all(state, loaded, plan_path)
    click.echo(f"Game-day {loaded.name} ({plan_path}): {len(loaded.plan.spec.entries)} entries")
    for index, (entry, name) in enumerate(zip(loaded.plan.spec.entries, loaded.names, strict=True)):
        if entry.pause is not None:
            message = f": {entry.message}" if entry.message else ""
            click.echo(f"  {index + 1}. pause {entry.pause.total_seconds():g}s{message}")
            continue
        planned = prepared[index]
        drill = planned.drill
        gate = {"previous": "previous drill passed", "all": "every earlier drill passed"}.get(
            entry.gate, "no gate"
        )
        extras = [gate if index else "first entry"]
        if entry.requires:
            extras.append("requires " + ", ".join(entry.requires))
        if entry.confirm:
            extras.append("asks for confirmation")
        click.echo(
            f"  {index + 1}. {name}: {drill.name} {drill.version} on {loaded.target_of(entry)} "
            f"({len(drill.drill.spec.steps)} steps; {'; '.join(extras)})"
        )
    if any(e.confirm for e in loaded.plan.spec.entries):
        click.echo("Entries that ask for confirmation need a terminal, or --yes.")
    click.echo(f"Run it: drill gameday run {plan_path}")


@gameday.command("run")
@_plan_argument
@click.option(
    "--yes", is_flag=True, help="Answer every confirmation (entries and prod targets): for CI."
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Evidence folder (runs in DIR/<drill>/<run-id>/, the game-day in "
    "DIR/_gamedays/<plan>/<id>/). Default: $DRILLKIT_OUTPUT, else reports/.",
)
@click.option(
    "--signing-key",
    metavar="PATH|URI",
    default=None,
    help="Key that signs every run and the game-day bundle; else the order `drill run` "
    "uses ($DRILLKIT_SIGNING_KEY, the target's signingKey, the per-user key).",
)
@click.pass_obj
def run_command(
    state: Any, plan_path: Path, yes: bool, output: Path | None, signing_key: str | None
) -> None:
    """Run a game-day: each drill entry is a normal signed run; then one signed game-day bundle.

    \b
    Gates: an entry runs only when the previous drill passed (gate: previous,
    the default), every earlier one did (gate: all), or always (gate: none),
    and when every entry it `requires` passed. Skipped entries are recorded
    with the reason. `confirm: true` entries ask at a terminal; without one,
    --yes is required, and nothing runs without it.
    \b
    Exit codes: 0 every drill passed, 1 a drill failed or was skipped, 2 bad plan
    or input, 130 interrupted (the bundle records what ran).
    """
    from datetime import UTC, datetime

    from drillkit.cli import EXIT_INTERRUPTED, _output_dir
    from drillkit.cli_evidence import run_signer
    from drillkit.engine.progress import PlainProgress
    from drillkit.engine.run_id import new_run_id
    from drillkit.errors import UserInputError
    from drillkit.gameday.bundle import write_gameday_bundle
    from drillkit.gameday.day import run_day
    from drillkit.gameday.drill_run import DrillRunner

    loaded = _load(plan_path)
    repo = state.repository()
    _prepare_all(state, loaded, plan_path)
    interactive = sys.stdin.isatty()
    asking = [n for e, n in zip(loaded.plan.spec.entries, loaded.names, strict=True) if e.confirm]
    if asking and not yes and not interactive:
        raise UserInputError(
            f"{plan_path}: entries {', '.join(asking)} ask for confirmation, and there is no "
            "terminal to ask at; nothing was run",
            fix="run at a terminal, or pass --yes to confirm them in advance",
        )
    signers: dict[str, Any] = {}

    def signer_for(target_name: str, target: Any) -> Any:
        if target_name not in signers:
            signers[target_name] = run_signer(
                repo.root, signing_key, target_name, target.signing_key
            )
        return signers[target_name]

    for entry in loaded.plan.spec.entries:  # a missing key fails here, before anything runs
        if entry.is_drill:
            name = loaded.target_of(entry)
            signer_for(name, repo.target(name))
    default_target = loaded.plan.spec.target
    day_signer = signer_for(default_target, repo.target(default_target))
    output_dir = _output_dir(state, output)

    def confirm(question: str) -> bool:
        if yes:
            return True
        answer: bool = click.confirm(question, default=False)
        return answer

    runner = DrillRunner(
        repo,
        output_dir,
        signer_for=signer_for,
        progress_for=lambda title: PlainProgress(sys.stdout, interactive=interactive),
        say=lambda line: click.echo(line, err=True),
        yes=yes,
    )
    click.echo(f"Game-day {loaded.name}: {len(loaded.plan.spec.entries)} entries")
    result = run_day(loaded, runner, confirm=confirm, say=click.echo)
    folder = write_gameday_bundle(result, output_dir, new_run_id(datetime.now(UTC)), day_signer)
    _print_result(result, repo.display(folder), day_signer)
    sys.exit(EXIT_INTERRUPTED if result.interrupted else result.exit_code)


@gameday.command("verify")
@click.argument(
    "folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The signer's public key (PEM), obtained separately.",
)
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def verify_command(folder: Path, key_path: Path, output: str) -> None:
    """Verify a game-day bundle and every run bundle it links, offline.

    Exit codes: 0 verified, 1 verification failed, 2 bad input.
    """
    from drillkit.evidence.keys import read_public_key_file
    from drillkit.gameday.verify import summary_json, verify_gameday

    result = verify_gameday(folder, read_public_key_file(key_path))
    if output == "json":
        click.echo(summary_json(result))
    else:
        click.echo(f"game-day {folder}")
        for check in result.checks:
            label = "FAILED" if check.status == "failed" else check.status
            click.echo(f"{label:<8}{check.name:<13}{check.detail}")
        if result.ok and result.predicate is not None:
            click.echo(
                f"verified: game-day {result.predicate.get('gameday')} "
                f"{result.predicate.get('gamedayId')}, verdict {result.predicate.get('verdict')}"
            )
        else:
            failed = next(c for c in result.checks if c.status == "failed")
            click.echo(f"error: verification failed at {failed.name}: {failed.detail}", err=True)
    sys.exit(0 if result.ok else 1)


def _load(plan_path: Path) -> Any:
    from drillkit.gameday.plan_file import load_plan

    return load_plan(plan_path)


def _prepare_all(state: Any, loaded: Any, plan_path: Path) -> dict[int, Any]:
    """Every drill entry's plan, or one error naming the plan file, entry and field."""
    from drillkit.errors import DrillError
    from drillkit.gameday.drill_run import DrillRunner
    from drillkit.gameday.plan_file import InvalidGameDayEntry

    repo = state.repository()
    preparer = DrillRunner(
        repo,
        Path(os.devnull),
        signer_for=_no_signer,
        progress_for=_no_progress,
        say=_ignore,
        yes=False,
    )
    prepared: dict[int, Any] = {}
    for index, entry in enumerate(loaded.plan.spec.entries):
        if not entry.is_drill:
            continue
        target = loaded.target_of(entry)
        try:
            prepared[index] = preparer.prepare(str(entry.drill), target)
        except DrillError as exc:
            field = "target" if entry.target and "target" in type(exc).__name__.lower() else "drill"
            line, column = loaded.source.position(("spec", "entries", index, field))
            where = f"{plan_path}:{line}:{column}" if line else str(plan_path)
            raise InvalidGameDayEntry(
                f"{where}: spec.entries[{index}].{field}: {exc.message}",
                fix=exc.fix or "fix the entry; nothing was run",
            ) from None
    return prepared


def _print_result(result: Any, shown: str, signer: Any) -> None:
    click.echo("")
    for outcome in result.outcomes:
        if outcome.kind != "drill":
            continue
        run = f" run {outcome.run.run_id}" if outcome.run else ""
        why = f" ({outcome.reason})" if outcome.status == "skipped" else ""
        click.echo(f"  {outcome.name:<24} {outcome.target:<16} {outcome.status.upper()}{run}{why}")
    click.echo(f"Game-day: {result.verdict.upper()}")
    click.echo(f"Evidence: {shown}/ (gameday.json, gameday.md, plan.yaml, attestation.intoto.json)")
    path = getattr(signer, "path", None)
    if path is not None:
        from drillkit.evidence.key_files import public_key_path

        click.echo(f"Verify:   drill gameday verify {shown} --key {public_key_path(path)}")
    else:
        click.echo(f"Verify:   drill gameday verify {shown} --key PUBLIC.pem")


def _no_signer(target_name: str, target: Any) -> Any:
    return None


def _no_progress(title: str) -> Any:
    from drillkit.engine.progress import SilentProgress

    return SilentProgress()


def _ignore(line: str) -> None:
    return None
