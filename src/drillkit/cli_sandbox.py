"""``drill sandbox up|down|status``: the embedded environment every drill can run against.

Thin like the rest of the CLI: parse, call ``drillkit.sandbox.control``,
print. Imports happen inside the commands so ``drill --help`` stays instant.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

import click


def _control() -> Any:
    from drillkit.sandbox.control import SandboxControl
    from drillkit.sandbox.layout import SandboxLayout

    return SandboxControl(SandboxLayout.default())


@click.group()
def sandbox() -> None:
    """Start, stop and check the built-in sandbox (the default target).

    \b
    The sandbox runs on this machine: an "orders" HTTPS service with replicas
    as processes over two regions (primary, standby) and three zones, a data
    store per region with asynchronous shipping, scheduled backups, a DNS name
    on 127.0.0.1:8053, a local certificate authority, a secret store and an
    access policy. `drill run` starts it when a drill targets `sandbox`.
    State lives in $DRILLKIT_SANDBOX_DIR, else the user's data folder.
    """


@sandbox.command()
@click.option(
    "--certificate-days",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Validity of the service certificate on first start (default 90), e.g. 7 to "
    "see a readiness drill fail its minCertificateDays objective.",
)
@click.option(
    "--backup-interval",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds between scheduled backups on first start (default 10).",
)
@click.option(
    "--restart-delay",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a killed replica stays down before it is restarted (default 1.5).",
)
def up(
    certificate_days: float | None, backup_interval: float | None, restart_delay: float | None
) -> None:
    """Start the sandbox (no-op when it already runs) and wait until it serves."""
    from dataclasses import replace

    from drillkit.errors import UserInputError
    from drillkit.sandbox.topology import SandboxConfig

    control = _control()
    chosen = (certificate_days, backup_interval, restart_delay)
    config = None
    if any(value is not None for value in chosen):
        if (control.layout.root / "desired.json").exists():
            raise UserInputError(
                f"the sandbox in {control.layout.root} exists; settings apply on first start",
                fix="run `drill sandbox down --purge` first, then `drill sandbox up` with them",
            )
        defaults = SandboxConfig()
        config = replace(
            defaults,
            certificate_days=certificate_days or defaults.certificate_days,
            backup_interval_seconds=backup_interval or defaults.backup_interval_seconds,
            restart_delay_seconds=(
                defaults.restart_delay_seconds if restart_delay is None else restart_delay
            ),
        )
    started = control.up(lambda line: click.echo(line, err=True), config)
    if not started:
        click.echo(f"the sandbox already runs ({control.layout.root})", err=True)
    _print_status(control.status(), as_json=False)


@sandbox.command()
@click.option("--purge", is_flag=True, help="Also delete the sandbox's state folder.")
def down(purge: bool) -> None:
    """Stop every sandbox process; with --purge, delete its state too."""
    from drillkit.sandbox.processes import sandbox_pids

    control = _control()
    stopped = control.down(lambda line: click.echo(line, err=True))
    left = sandbox_pids(control.layout.root)
    if left:
        click.echo(f"error: sandbox processes still running: {left}", err=True)
        sys.exit(1)
    click.echo(f"stopped {len(stopped)} processes; none left" if stopped else "nothing was running")
    if purge and control.layout.root.exists():
        shutil.rmtree(control.layout.root)
        click.echo(f"deleted {control.layout.root}")


@sandbox.command()
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
def status(output: str) -> None:
    """Health of every component; exits 1 when anything is unhealthy or a fault is applied."""
    control = _control()
    result = control.status()
    _print_status(result, as_json=output == "json")
    sys.exit(0 if result.healthy else 1)


def _print_status(result: Any, *, as_json: bool) -> None:
    if as_json:
        document = {
            "running": result.running,
            "healthy": result.healthy,
            "components": [vars(c) for c in result.components],
            "faults": result.faults,
        }
        click.echo(json.dumps(document, indent=2))
        return
    width = max((len(c.name) for c in result.components), default=10)
    for component in result.components:
        mark = "ok  " if component.healthy else "FAIL"
        click.echo(f"  {mark}  {component.name:<{width}}  {component.detail}")
    if result.faults:
        click.echo("  faults still applied: " + "; ".join(result.faults))
        click.echo("  undo them with `drill recover`")
    click.echo("healthy" if result.healthy else "NOT healthy")
