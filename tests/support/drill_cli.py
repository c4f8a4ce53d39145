"""`drill` as a user runs it: its own process, an environment free of the caller's drillkit
settings, and the exit code and output captured for the test to read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_drill(
    *args: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m drillkit ARGS`` in ``cwd``; ``env`` adds variables (``COLUMNS="200"``)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


ROOT = Path(__file__).resolve().parents[2]


def session_environment(**extra: str) -> dict[str, str]:
    """The caller's environment less its drillkit settings, plus the test session's own
    (sandbox folder, signing key, lock folder) and this checkout on ``PYTHONPATH``."""
    from tests.support.session import SESSION_VARIABLES

    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    environment.update({k: os.environ[k] for k in SESSION_VARIABLES if k in os.environ})
    environment.update({"PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    environment.update(extra)
    return environment


def drill_in(repo: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``drill ARGS`` in a drill repository with the session's environment."""
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=repo,
        env=session_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
