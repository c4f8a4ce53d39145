"""``drill import`` and ``drill export``: Chaos Toolkit experiments in, journals out.

Thin like the rest of the CLI: read the file, call ``drillkit.interop``, write.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


@click.command("import")
@click.argument(
    "experiment_path", metavar="EXPERIMENT.json", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--name", default=None, help="Drill name. Default: from the experiment's title.")
@click.option("--owner", default="unowned", show_default=True, help="metadata.owner of the drill.")
@click.option(
    "--tier", type=click.IntRange(0, 3), default=2, show_default=True, help="metadata.tier."
)
@click.option(
    "--within",
    default="2m",
    show_default=True,
    help="How long the service may take to pass the hypothesis probes again after the "
    "method (also the RTO objective when an http probe measures it).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing drill (and experiment copy).")
@click.pass_obj
def import_experiment(
    state: Any,
    experiment_path: Path,
    name: str | None,
    owner: str,
    tier: int,
    within: str,
    force: bool,
) -> None:
    """Wrap a Chaos Toolkit experiment as a drill: method as the fault, hypothesis as probes.

    The experiment is copied into experiments/ (unless it is there already) and
    drills/NAME.yaml runs its method as a `chaostoolkit` fault step, with the
    steady-state probes that map to drillkit probes (http, chaosk8s pods
    running, deployment healthy) before and after it. Probes that do not map
    are listed. Then: `drill lock`, and `drill plan NAME --target T`.
    """
    import yaml

    from drillkit.errors import UserInputError
    from drillkit.interop.experiment_import import drill_name, experiment_to_drill
    from drillkit.spec.duration import parse_duration
    from drillkit.spec.resolve import parse_experiment
    from drillkit.spec.source import load_source

    try:
        parse_duration(within)
    except ValueError as exc:
        raise UserInputError(
            f"--within: {exc}", fix="give a duration such as `90s` or `2m`"
        ) from None
    repo = state.repository()
    experiment = parse_experiment(load_source(experiment_path))
    experiments_dir = repo.root / "experiments"
    inside = experiment_path.resolve().parent == experiments_dir.resolve()
    copy = experiments_dir / experiment_path.name
    if (
        not inside
        and copy.exists()
        and copy.read_bytes() != experiment_path.read_bytes()
        and not force
    ):
        raise UserInputError(
            f"{repo.display(copy)} exists and differs from {experiment_path}",
            fix="rename the experiment file, or pass --force to replace the copy",
        )
    chosen = name or drill_name(str(experiment["title"]), experiment_path.stem)
    drill_path = repo.drills_dir / f"{chosen}.yaml"
    if drill_path.exists() and not force:
        raise UserInputError(
            f"{repo.display(drill_path)} exists",
            fix="pick another --name, or pass --force to replace it (then bump its version)",
        )
    reference = f"experiments/{experiment_path.name}"
    imported = experiment_to_drill(
        experiment, name=chosen, experiment_ref=reference, owner=owner, tier=tier, within=within
    )
    if not inside:
        experiments_dir.mkdir(exist_ok=True)
        copy.write_bytes(experiment_path.read_bytes())
        click.echo(f"wrote {repo.display(copy)}")
    header = (
        "# yaml-language-server: $schema=../schemas/drill.schema.json\n"
        f"# Imported from the Chaos Toolkit experiment {reference}.\n"
    )
    body = yaml.dump(
        imported.document, Dumper=_no_aliases(), sort_keys=False, allow_unicode=True, width=100
    )
    drill_path.write_text(header + body, encoding="utf-8")
    try:
        repo.load_drill(drill_path)
    except Exception:
        drill_path.unlink()
        raise
    click.echo(f"wrote {repo.display(drill_path)}")
    for line in imported.mapped:
        click.echo(f"  probe {line}")
    for line in imported.not_mapped:
        click.echo(f"  not mapped: {line}; add a drill probe that proves the same", err=False)
    click.echo(f"Next: drill lock, then drill plan {chosen} --target TARGET")


@click.command("export")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["chaostoolkit-journal"]),
    required=True,
    help="chaostoolkit-journal: a journal.json as `chaos run` writes it.",
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of stdout (never into a signed run folder).",
)
@click.pass_obj
def export_run(state: Any, run_ref: str, output_format: str, output_file: Path | None) -> None:
    """Export a run (run folder or id) in another tool's format, computed from its report.json."""
    import json
    from importlib import metadata

    from pydantic import ValidationError

    from drillkit.cli import _output_dir
    from drillkit.engine.recovery import find_run
    from drillkit.errors import UserInputError
    from drillkit.evidence.report_model import Report
    from drillkit.interop.journal_export import chaostoolkit_journal

    run_dir = (
        Path(run_ref) if Path(run_ref).is_dir() else find_run(_output_dir(state, None), run_ref)
    )
    try:
        report = Report.model_validate_json((run_dir / "report.json").read_bytes())
    except (OSError, ValidationError):
        raise UserInputError(
            f"{run_dir / 'report.json'}: missing or not a drillkit report",
            fix=f"render it again: drill report {run_ref} --output DIR, then export DIR",
        ) from None
    try:
        chaoslib_version: str | None = metadata.version("chaostoolkit-lib")
    except metadata.PackageNotFoundError:
        chaoslib_version = None
    journal = chaostoolkit_journal(report, chaoslib_version=chaoslib_version)
    text = json.dumps(journal, indent=2) + "\n"
    if output_file is None:
        sys.stdout.write(text)
        return
    if output_file.resolve().parent == run_dir.resolve():
        raise UserInputError(
            f"{output_file} is inside the run folder, which the attestation covers",
            fix="write the journal elsewhere",
        )
    output_file.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output_file}")


def _no_aliases() -> Any:
    """A YAML dumper that writes a probe used before and after the fault twice, not as an
    anchor and alias (which people editing the drill would trip over)."""
    import yaml

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return NoAliases
