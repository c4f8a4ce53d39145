"""The evidence side of the CLI: which key signs a run, sealing it, ``drill report`` and
``drill verify``.

Thin like the rest of the CLI: parse, call ``drillkit.evidence``, print.
Imports happen inside the commands so ``drill --help`` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the reports into DIR instead of the run folder (a signed folder must not "
    "change: render it elsewhere).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "html", "json", "junit"]),
    default=None,
    help="Print this one rendering to stdout and write nothing (json is report.json's bytes).",
)
@click.pass_obj
def report(state: Any, run_ref: str, output_dir: Path | None, output_format: str | None) -> None:
    """Render a run's reports again from its folder: report.json, .md, .html and junit.xml.

    RUN is a run folder, or a run id looked up under $DRILLKIT_OUTPUT or reports/.
    Everything comes from the folder (journal, drill.yaml, samples), so a report
    can be rebuilt years later. With --format, one rendering goes to stdout and
    no file is written, which is safe on a signed folder too.
    """
    from drillkit.cli import _output_dir
    from drillkit.engine.recovery import find_run
    from drillkit.errors import UserInputError
    from drillkit.evidence.bundle import ATTESTATION
    from drillkit.evidence.reports import render_report, write_reports

    run_dir = (
        Path(run_ref) if Path(run_ref).is_dir() else find_run(_output_dir(state, None), run_ref)
    )
    if output_format is not None:
        if output_dir is not None:
            raise UserInputError(
                "give either --format (print one rendering) or --output (write all four)",
                fix=f"`drill report {run_ref} --format {output_format} > FILE` writes one file",
            )
        click.echo(render_report(run_dir, output_format), nl=False)
        return
    if output_dir is None and (run_dir / ATTESTATION).exists():
        raise UserInputError(
            f"{run_dir} is signed: rendering into it would change files the attestation covers",
            fix=f"render elsewhere: `drill report {run_ref} --output DIR`",
        )
    for path in write_reports(run_dir, output_dir):
        click.echo(f"wrote {path}")


@click.command()
@click.argument(
    "run_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The signer's public key (PEM; Ed25519 or ECDSA P-256), obtained separately.",
)
@click.option(
    "--trust-bundle-key",
    is_flag=True,
    help="Use the public key stored in the bundle instead: proves integrity, not origin.",
)
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def verify(run_dir: Path, key_path: Path | None, trust_bundle_key: bool, output: str) -> None:
    """Verify a run's signed evidence offline (DIR: reports/<drill>/<run-id>/).

    \b
    Checks in order and names the first that fails: envelope, payload type,
    signature, statement, subjects (sha256 of every file), completeness (no
    file added), journal (hash chain and head), definition (drill digest),
    report (report.json valid against the report schema, about this run).
    \b
    Exit codes: 0 verified, 1 verification failed, 2 bad input (no --key, unusable key).
    """
    from drillkit.errors import EXIT_FAILURE
    from drillkit.evidence.keys import read_public_key_file
    from drillkit.evidence.verification import verify_bundle

    pem = read_public_key_file(key_path) if key_path is not None else None
    result = verify_bundle(run_dir, pem, trust_bundle_key=trust_bundle_key)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output == "json":
        import json

        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_verification(result)
    sys.exit(0 if result.ok else EXIT_FAILURE)


def _print_verification(result: Any) -> None:
    """The checklist: one line per check, then the verdict (a failure on stderr)."""
    source = "from --key" if result.key_source == "--key" else "stored in the bundle"
    key = (
        f"{result.key_fingerprint} ({result.key_algorithm}) {source}"
        if result.key_fingerprint
        else f"none usable {source}"
    )
    click.echo(f"bundle  {result.run_dir}")
    click.echo(f"key     {key}")
    for check in result.checks:
        failed = check.status == "failed"
        where = f"{check.file}: " if failed and check.file else ""
        label = "FAILED" if failed else check.status
        click.echo(f"{label:<8}{check.name:<14}{where}{check.detail}")
    failure = result.first_failure
    if failure is None and result.ok and result.run is not None:
        run = result.run
        click.echo(
            f"verified: {run.drill} {run.version}, run {run.run_id} on {run.target}, "
            f"verdict {run.verdict}"
        )
        return
    if failure is not None:
        where = f"{failure.file}: " if failure.file else ""
        click.echo(
            f"error: verification failed at {failure.name}: {where}{failure.detail}", err=True
        )
        if failure.expected:
            click.echo(f"  expected: {failure.expected}", err=True)
        if failure.found:
            click.echo(f"  found:    {failure.found}", err=True)


def run_signer(repo_root: Path, flag: str | None, target_name: str, target_key: str | None) -> Any:
    """The signer of a run on ``target_name``: flag, environment, target's signingKey, default.

    Each of the first three may be a key file or a cloud key URI (``awskms://``,
    ``azurekms://``; see ``drillkit.cloud_keys``); the first one given wins.
    """
    from drillkit.cloud_keys import cloud_signer, is_key_uri
    from drillkit.evidence.key_choice import SIGNING_KEY_ENV, resolve_signer, target_key_path

    from_env = os.environ.get(SIGNING_KEY_ENV, "")
    for reference, origin in (
        (flag, "--signing-key"),
        (from_env, f"${SIGNING_KEY_ENV}"),
        (target_key, f"signingKey of target {target_name}"),
    ):
        if reference:
            if is_key_uri(reference):
                return cloud_signer(reference, origin=origin)
            break
    return resolve_signer(
        Path(flag) if flag else None,
        target_key=target_key_path(target_key, repo_root) if target_key else None,
        target=target_name,
        prompt=_passphrase_prompt(),
    )


def _passphrase_prompt() -> Any:
    """Asks for a key's passphrase without echo, when a person is at a terminal; else None."""
    if not sys.stdin.isatty():
        return None

    def ask(question: str) -> str:
        typed: str = click.prompt(question, hide_input=True, err=True)
        return typed

    return ask


def seal(run_dir: Path, signer: Any, shown: str) -> list[str]:
    """Render the reports and sign the bundle; returns the lines that say where it is.

    ``signer`` is None for a run made with --no-sign: the reports are written,
    nothing is signed. A failure here is reported and leaves the verdict
    standing: the journal is the record, and `drill report` can render it again.
    """
    from drillkit.errors import DrillError
    from drillkit.evidence.seal import seal_bundle

    files = "report.html, report.md, report.json, junit.xml"
    try:
        seal_bundle(run_dir, signer)
    except (DrillError, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, DrillError) else str(exc)
        if signer is None:
            click.echo(f"warning: the reports of {shown} were not written: {message}", err=True)
            return [f"Journal: {shown}/journal.jsonl (evidence NOT signed: --no-sign)"]
        click.echo(f"warning: the evidence in {shown} is NOT signed: {message}", err=True)
        return [f"Journal: {shown}/journal.jsonl (evidence NOT signed)"]
    if signer is None:
        return [f"Evidence: {shown}/ ({files}) (NOT signed: --no-sign)"]
    from drillkit.evidence.key_files import public_key_path

    path = getattr(signer, "path", None)
    if path is None:  # a cloud key: verifiers use its public key, exported once
        return [
            f"Evidence: {shown}/ ({files}) signed by {signer.key_id}",
            f"Verify:   drill verify {shown} --key PUBLIC.pem "
            f"(write it once: drill keys export-public {signer.key_id} --output PUBLIC.pem)",
        ]
    return [
        f"Evidence: {shown}/ ({files})",
        f"Verify:   drill verify {shown} --key {public_key_path(path)}",
    ]


def recovery_signer(state: Any, run_dir: Path, *, in_repository: bool) -> Any:
    """The key `drill run` would use for the run's target, bar --signing-key."""
    from drillkit.engine.journal import read_journal
    from drillkit.errors import DrillError

    target_name = str(read_journal(run_dir / "journal.jsonl").events[0].data.get("target", ""))
    if not (in_repository and target_name):
        return run_signer(Path.cwd(), None, target_name, None)
    repo = state.repository()
    try:
        target_key = repo.target(target_name).signing_key
    except DrillError:  # the target left the registry since: the rest of the order applies
        target_key = None
    return run_signer(repo.root, None, target_name, target_key)
