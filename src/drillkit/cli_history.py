"""``drill history``, ``drill scorecard`` and ``drill metrics``: readiness over time.

Thin like the rest of the CLI: find the reports folder, refresh the run
index (``drillkit.history``), print. Imports happen inside the commands so
``drill --help`` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

_reports_option = click.option(
    "--reports",
    "reports_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of run bundles (<drill>/<run-id>/). Default: $DRILLKIT_OUTPUT, else "
    "reports/ in the repository.",
)
_SPARK = "▁▂▃▄▅▆▇█"


def _reports(state: Any, reports_dir: Path | None) -> Path:
    """The reports folder; the default one may not exist yet (no run so far: empty history)."""
    from drillkit.cli import _output_dir
    from drillkit.errors import UserInputError

    folder = _output_dir(state, reports_dir)
    if not folder.is_dir() and reports_dir is not None:
        raise UserInputError(
            f"{folder}: no such reports folder",
            fix="run a drill first, or pass --reports with the folder holding the run bundles",
        )
    return folder


def _index(state: Any, reports_dir: Path | None) -> Any:
    from drillkit.history.index import open_index

    index = open_index(_reports(state, reports_dir))
    for reason in index.skipped:
        click.echo(f"warning: skipped {reason}", err=True)
    return index


_key_option = click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Signers' public key (PEM), or a folder of *.pub/*.pem; repeatable.",
)


@click.command()
@click.argument("drill", required=False)
@click.option("--target", "-t", "target_name", default=None, help="Only runs on this target.")
@_reports_option
@_key_option
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def history(
    state: Any,
    drill: str | None,
    target_name: str | None,
    reports_dir: Path | None,
    keys: tuple[Path, ...],
    output: str,
) -> None:
    """Runs from the evidence: verdicts, RTO and RPO against objectives, and their trend.

    Read from an index next to the reports (reports/.index.sqlite), rebuilt
    from the bundles whenever it is missing or stale: the bundles are the truth.
    """
    from drillkit.history.evidence_check import check_evidence, load_keys
    from drillkit.history.index import latest

    public_keys = load_keys(keys)
    with _index(state, reports_dir) as index:
        runs = index.runs(drill, target_name)
        evidence = {r.run_dir: check_evidence(index, r, public_keys).state for r in runs}
    if output == "json":
        import json
        from dataclasses import asdict

        click.echo(
            json.dumps([asdict(r) | {"evidence": evidence[r.run_dir]} for r in runs], indent=2)
        )
        return
    if not runs:
        click.echo("no runs" + (f" of {drill}" if drill else "") + " in the history")
        return
    click.echo(
        f"{'finished (UTC)':<20} {'drill':<24} {'version':<8} {'target':<16} {'verdict':<8} "
        f"{'RTO':>16} {'RPO':>16}  evidence"
    )
    for r in runs:
        click.echo(
            f"{r.finished_at[:19].replace('T', ' '):<20} {r.drill:<24} {r.version:<8} "
            f"{r.target:<16} {r.verdict:<8} {_versus(r.rto_seconds, r.rto_objective_seconds):>16} "
            f"{_versus(r.rpo_seconds, r.rpo_objective_seconds):>16}  {evidence[r.run_dir]}"
        )
    click.echo("")
    for (name, where), group in latest(runs):
        passed = sum(1 for r in group if r.passed)
        counted = [r for r in group if r.counts]
        click.echo(
            f"{name} on {where}: {passed}/{len(counted)} passed; RTO trend "
            f"{_spark([r.rto_seconds for r in counted])}; RPO trend "
            f"{_spark([r.rpo_seconds for r in counted])}"
        )


@click.command()
@_reports_option
@_key_option
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Readiness policy file. Default: policy.yaml in the repository, else tier 1 every "
    "90 days, tier 2 every 180, others every 365.",
)
@click.option("--drill", "drill", default=None, help="Only this drill.")
@click.option("--target", "-t", "target_name", default=None, help="Only this target.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the scorecard to this file instead of stdout.",
)
@click.pass_obj
def scorecard(
    state: Any,
    reports_dir: Path | None,
    keys: tuple[Path, ...],
    policy_file: Path | None,
    drill: str | None,
    target_name: str | None,
    output: str,
    output_file: Path | None,
) -> None:
    """For each drill and target: last pass, its age against the policy, objectives, evidence.

    \b
    Status per line: healthy, failing (newest run did not pass or missed an
    objective), overdue (last pass older than the policy allows), never-passed,
    never-run (a repository drill or a policy target without runs), unverified
    (the last pass's evidence does not verify with --key, or is unsigned).
    \b
    Exit codes: 0 every line healthy, 1 anything overdue, failing or unverified
    (or nothing to score), 2 bad input. Made to gate a release pipeline.
    """
    from drillkit.history.evidence_check import load_keys
    from drillkit.history.policy import load_policy
    from drillkit.history.records import environment_now
    from drillkit.history.scorecard import score

    repo = _repository_or_none(state)
    policy, origin = load_policy(policy_file, Path(repo.root) if repo is not None else None)
    public_keys = load_keys(keys)
    expected = _expected_drills(repo)
    with _index(state, reports_dir) as index:
        card = score(
            index,
            policy,
            environment_now(),
            keys=public_keys,
            expected=expected,
            policy_origin=origin,
            drill=drill,
            target=target_name,
        )
    if output == "json":
        import json

        text = json.dumps(card.to_json(), indent=2) + "\n"
    elif output == "html":
        from drillkit.history.scorecard_html import scorecard_html

        text = scorecard_html(card).decode()
    else:
        text = _scorecard_table(card)
    if output_file is not None:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output_file}")
        if output != "table":
            click.echo(_scorecard_table(card), nl=False)
    else:
        click.echo(text, nl=False)
    if not card.keys_given:
        click.echo("note: evidence not checked; pass --key to verify signatures", err=True)
    sys.exit(0 if card.ok else 1)


@click.command()
@_reports_option
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE atomically (for node_exporter's textfile collector) instead of stdout.",
)
@click.pass_obj
def metrics(state: Any, reports_dir: Path | None, output_file: Path | None) -> None:
    """Readiness as Prometheus metrics (text format) per drill and target.

    Last success time, last RTO and RPO and their objectives, objectives met
    and run counts. For the textfile collector, e.g. in a cron job:
    `drill metrics --output /var/lib/node_exporter/textfile/drillkit.prom`.
    """
    from drillkit.history.metrics import exposition, write_textfile

    with _index(state, reports_dir) as index:
        text = exposition(index.runs())
    if output_file is None:
        click.echo(text, nl=False)
        return
    write_textfile(output_file, text)
    click.echo(f"wrote {output_file}")


def _scorecard_table(card: Any) -> str:
    lines = [
        f"{'drill':<24} {'target':<16} {'tier':>4} {'status':<13} {'last pass':<12} "
        f"{'age/policy':<11} {'objectives':<10} evidence"
    ]
    for line in card.lines:
        last = line.last_pass
        age = (
            f"{line.age.days}d/{line.max_age.days}d"
            if line.age is not None
            else f"-/{line.max_age.days}d"
        )
        objectives = "-" if last is None else "met" if last.objectives_met else "NOT met"
        evidence = line.evidence.state if line.evidence is not None else "-"
        lines.append(
            f"{line.drill:<24} {line.target:<16} {line.tier:>4} {line.status:<13} "
            f"{(last.finished_at[:10] if last else 'never'):<12} {age:<11} {objectives:<10} "
            f"{evidence}"
        )
        for reason in line.reasons:
            lines.append(f"    {reason}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(card.counts().items()))
    verdict = "READY" if card.ok else "NOT READY"
    lines.append(
        f"Scorecard: {verdict} ({counts or 'no runs to score'}; policy: {card.policy_origin})"
    )
    return "\n".join(lines) + "\n"


def _repository_or_none(state: Any) -> Any:
    from drillkit.errors import DrillError

    try:
        return state.repository()
    except DrillError:
        return None


def _expected_drills(repo: Any) -> list[Any]:
    from drillkit.errors import DrillError
    from drillkit.history.scorecard import ExpectedDrill

    if repo is None:
        return []
    expected = []
    for path in repo.drill_paths():
        try:
            drill = repo.load_drill(path)
        except DrillError:
            continue  # `drill validate` reports it; the scorecard scores what loads
        expected.append(ExpectedDrill(drill.name, drill.drill.metadata.tier))
    return expected


def _versus(value: float | None, objective: float | None) -> str:
    shown = "-" if value is None else f"{value:.3g}s"
    return shown if objective is None else f"{shown}/{objective:.3g}s"


def _spark(values: list[float | None]) -> str:
    measured = [v for v in values if v is not None]
    if not measured:
        return "(not measured)"
    top = max(measured) or 1.0
    return "".join(
        " " if v is None else _SPARK[min(len(_SPARK) - 1, int(v / top * (len(_SPARK) - 1)))]
        for v in values[-20:]
    )
