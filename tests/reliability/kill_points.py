"""Killing a ``drill run`` process (SIGKILL) once its journal holds a chosen number of lines.

Shared by the crash trials on the sandbox (``test_crash.py``) and on the emulated
EKS and AKS setups (``test_crash_cloud.py``), so every setup is crashed the same
way: the kill points are drawn from one seeded RNG per (setup, drill), uniformly
in [2, L - 1] where L is the length of a reference run's journal, so the first
line (run-started) is always there and the last (run-ended) never is.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from drillkit.engine.journal import read_journal

DEFAULT_SEED = 20261124


def journal_lines(journal: Path) -> int:
    """Complete lines in a journal (a line being written has no newline yet)."""
    try:
        with journal.open("rb") as handle:
            return sum(1 for line in handle if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0


def new_journal(runs: Path, known: set[Path]) -> Path | None:
    """The journal of the run folder under ``runs`` that is not in ``known``, if one appeared."""
    if not runs.is_dir():
        return None
    fresh = [p for p in runs.iterdir() if p not in known]
    return fresh[0] / "journal.jsonl" if fresh else None


def kill_points(seed: int, key: str, length: int, count: int) -> list[int]:
    """``count`` journal lines to kill at, uniform in [2, length - 1], replayable from
    ``seed`` and ``key`` (the setup and drill, so adding a setup moves no other's points)."""
    chooser = random.Random(f"{seed}/{key}")
    return sorted(chooser.randint(2, length - 1) for _ in range(count))


@dataclass
class Killed:
    """One ``drill run`` killed at a journal point."""

    journal: Path
    lines: int
    """Lines the journal held when the process died (at least the point asked for, or
    fewer if the run ended on its own first)."""
    last_event: str
    """The type of the journal's last event: where in the drill the kill struck."""
    killed: bool
    """False when the run exited by itself before the SIGKILL landed: possible only for
    points among a run's last lines, written within milliseconds of each other after every
    fault is reverted and the lock released."""
    stderr: str


TIMING_EVENTS = frozenset({"sample", "canary-write"})
"""Events whose number depends on how long things took (samplers and the RPO canary), not
on where the run is: two runs of one drill differ only in these."""


def events_of(journal: Path) -> list[str]:
    """The types of the journal's complete lines, read while the run may still write.

    A large event (a plan's list of every pod a zone holds) is one ``write``, but a
    reader racing it can see its bytes arrive in pieces; reading stops at the first line
    that does not parse yet, and the next look reads it whole."""
    try:
        with journal.open("rb") as handle:
            complete = [line for line in handle if line.endswith(b"\n")]
    except FileNotFoundError:
        return []
    types: list[str] = []
    for line in complete:
        try:
            types.append(str(json.loads(line).get("type")))
        except ValueError:
            break
    return types


def milestones(types: list[str]) -> int:
    """How many of the events are not timing events (see ``TIMING_EVENTS``)."""
    return sum(1 for t in types if t not in TIMING_EVENTS)


def run_and_kill(
    repo: Path,
    env: dict[str, str],
    args: tuple[str, ...],
    point: int,
    reference: list[str],
    timeout: float = 120,
) -> Killed:
    """Start ``drill run ARGS`` in ``repo`` as a real process and SIGKILL it as soon as its
    (new) journal holds ``point`` lines, or holds as many non-timing events as the
    reference run's (``reference``: its event types) first ``point`` lines did. The second
    condition matters because runs differ in how many samples they journal: a run shorter
    than the reference would otherwise end before its journal reaches ``point`` and never
    be killed. No signal handler or ``finally`` of drillkit runs, which is the point:
    recovery must work from the journal alone."""
    runs = repo / "reports" / args[0]
    known = set(runs.iterdir()) if runs.is_dir() else set()
    wanted = milestones(reference[:point])
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", "run", *args],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = None
    size = -1
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        journal = journal or new_journal(runs, known)
        grown = journal is not None and journal.exists() and journal.stat().st_size != size
        if journal is not None and grown:
            size = journal.stat().st_size
            types = events_of(journal)
            if len(types) >= point or milestones(types) >= wanted:
                break
        time.sleep(0.002)
    killed = process.poll() is None
    process.kill()
    _, stderr = process.communicate(timeout=30)
    journal = journal or new_journal(runs, known)
    assert journal is not None, f"no journal appeared for the trial at line {point}:\n{stderr}"
    events = read_journal(journal, verify=False).events
    return Killed(
        journal=journal,
        lines=journal_lines(journal),
        last_event=events[-1].type if events else "(empty)",
        killed=killed,
        stderr=stderr,
    )


def chain_verifies(journal: Path) -> bool:
    """Whether the journal's hash chain still verifies after the kill and the recovery."""
    try:
        read_journal(journal)
    except Exception:  # the trial's report says which journal broke
        return False
    return True
