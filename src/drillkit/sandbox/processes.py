"""Finding the sandbox's processes by what they run, so ``down`` can prove nothing is left.

Pid files go stale (a reboot, a kill -9); the command line does not lie:
every sandbox process runs ``python -m drillkit.sandbox.<part> --state <folder>``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def sandbox_pids(root: Path) -> list[int]:
    """Pids of every supervisor and replica process serving the state folder ``root``."""
    wanted = str(root.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if not any(w.startswith("drillkit.sandbox.") for w in words):
            continue
        if "--state" in words:
            index = words.index("--state")
            if index + 1 < len(words) and _same(words[index + 1], wanted):
                found.append(int(entry.name))
    return sorted(found)


def terminate(pids: list[int], grace: float = 5.0) -> list[int]:
    """SIGTERM, wait up to ``grace`` seconds, SIGKILL what is left; returns pids that survived."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[:1] == ["Z"]:
        # Our own child (``sandbox up`` started it): reap it.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _same(path: str, wanted: str) -> bool:
    try:
        return str(Path(path).resolve()) == wanted
    except OSError:
        return False
