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
