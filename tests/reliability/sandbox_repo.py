"""A drill repository for reliability trials on the sandbox: the shipped drills, held briefly.

The shipped zone-outage drill holds the outage for 30 s, which is right for a
drill and wasteful for twenty crash trials; its copy here holds it for 2 s (a
new version, locked, as the tool requires of a changed drill). Everything
else is exactly as shipped.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.layout import SandboxLayout
from tests.support.drill_cli import drill_in, session_environment

ROOT = Path(__file__).resolve().parents[2]


def make_repository(root: Path) -> Path:
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    hold_briefly(root)
    locked = drill(root, "lock")
    assert locked.returncode == 0, locked.stderr
    return root


def hold_briefly(root: Path, *, warmup: bool = False) -> None:
    """Shorten the zone-outage drill's 30 s hold to 2 s in the copy at ``root``, as a new
    version (the caller runs ``drill lock``, as the tool requires of a changed drill).

    With ``warmup``, the region-failover drill's 5 s canary warm-up becomes 1 s too: the
    crash trials on the cloud setups run it a dozen times and measure recovery, not RPO.
    """
    zone = root / "drills" / "zone-outage-orders.yaml"
    text = zone.read_text()
    assert "wait: 30s" in text and "version: 1.0.0" in text
    zone.write_text(
        text.replace("wait: 30s", "wait: 2s").replace("version: 1.0.0", "version: 1.0.1")
    )
    if warmup:
        region = root / "drills" / "region-failover-orders.yaml"
        text = region.read_text()
        assert "warmup: 5s" in text and "version: 1.1.0" in text
        region.write_text(
            text.replace("warmup: 5s", "warmup: 1s").replace("version: 1.1.0", "version: 1.1.1")
        )


def environment(**extra: str) -> dict[str, str]:
    return session_environment(**extra)


def drill(repo: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return drill_in(repo, *args, timeout=timeout)


def wait_healthy(layout: SandboxLayout, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    status = SandboxControl(layout).status()
    while not status.healthy and time.monotonic() < deadline:
        time.sleep(0.2)
        status = SandboxControl(layout).status()
    assert status.healthy, [c for c in status.components if not c.healthy] or status.faults
