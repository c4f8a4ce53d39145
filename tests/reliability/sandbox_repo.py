"""A drill repository for reliability trials on the sandbox: the shipped drills, held briefly.

The shipped zone-outage drill holds the outage for 30 s, which is right for a
drill and wasteful for twenty crash trials; its copy here holds it for 2 s (a
new version, locked, as the tool requires of a changed drill). Everything
else is exactly as shipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.layout import SandboxLayout
from tests.support.session import SESSION_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


def make_repository(root: Path) -> Path:
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    zone = root / "drills" / "zone-outage-orders.yaml"
    text = zone.read_text()
    assert "wait: 30s" in text and "version: 1.0.0" in text
    zone.write_text(
        text.replace("wait: 30s", "wait: 2s").replace("version: 1.0.0", "version: 1.0.1")
    )
    locked = drill(root, "lock")
    assert locked.returncode == 0, locked.stderr
    return root


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    env.update({k: os.environ[k] for k in SESSION_VARIABLES})
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    env.update(extra)
    return env


def drill(repo: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=repo,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "drillkit", *args],
        cwd=repo,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(layout: SandboxLayout, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    status = SandboxControl(layout).status()
    while not status.healthy and time.monotonic() < deadline:
        time.sleep(0.2)
        status = SandboxControl(layout).status()
    assert status.healthy, [c for c in status.components if not c.healthy] or status.faults
