"""`kill -9` of `drill run` at randomly chosen journal points, then `drill recover`: every
fault is undone, every time.

Twenty trials over the zone-outage and region-failover drills on the real
sandbox. A reference run of each drill gives its journal length L; each trial
starts the drill again and kills the process (SIGKILL, no handler runs) as
soon as its journal holds k lines, k drawn uniformly from [2, L - 1] with a
recorded seed (``DRILLKIT_RELIABILITY_SEED`` replays a failure). What is still
applied is read from the sandbox's own desired state, not from anything drillkit
says: after `drill recover` no zone, node or region may be down, the active
region must be the one the drill started from, the journal chain must still
verify, and the next trial must be able to take the target's lock.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.desired_state import read_desired
from drillkit.sandbox.layout import SandboxLayout
from tests.reliability.figures import tally
from tests.reliability.sandbox_repo import drill, make_repository, start, wait_healthy
from tests.support.groups import SANDBOX
from tests.support.session import SANDBOX_DIR

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", "20261124"))
TRIALS = {"zone-outage-orders": 10, "region-failover-orders": 10}
ARGS = {"zone-outage-orders": (), "region-failover-orders": ("--yes",)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repository(tmp_path_factory.mktemp("reliability-repo"))


@pytest.fixture(scope="module")
def layout() -> Iterator[SandboxLayout]:
    layout = SandboxLayout(Path(os.environ[SANDBOX_DIR]))
    yield layout
    SandboxControl(layout).down()


def lines(journal: Path) -> int:
    try:
        with journal.open("rb") as handle:
            return sum(1 for line in handle if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0


def newest_journal(repo: Path, name: str, known: set[Path]) -> Path | None:
    folder = repo / "reports" / name
    if not folder.is_dir():
        return None
    fresh = [p for p in folder.iterdir() if p not in known]
    return fresh[0] / "journal.jsonl" if fresh else None


def applied_faults(layout: SandboxLayout) -> list[str]:
    desired = read_desired(layout)
    faults = list(desired.faults)
    if desired.active_region != "primary":
        faults.append(f"traffic on {desired.active_region}")
    return faults


@pytest.mark.parametrize("name", list(TRIALS))
def test_kill_9_at_random_journal_points_then_recover_leaves_nothing_applied(
    repo: Path, layout: SandboxLayout, name: str
) -> None:
    reference = drill(repo, "run", name, *ARGS[name], "--no-sign")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    known = set((repo / "reports" / name).iterdir())
    length = lines(next(iter(known)) / "journal.jsonl")
    chooser = random.Random(f"{SEED}/{name}")
    points = sorted(chooser.randint(2, length - 1) for _ in range(TRIALS[name]))
    figures = tally("crash: kill -9 + recover")
    failures = []
    for point in points:
        wait_healthy(layout)
        process = start(repo, "run", name, *ARGS[name], "--no-sign")
        journal = None
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            journal = journal or newest_journal(repo, name, known)
            if journal is not None and lines(journal) >= point:
                break
            time.sleep(0.005)
        process.kill()
        process.communicate(timeout=30)
        assert journal is not None, f"no journal appeared for the trial at line {point}"
        known.add(journal.parent)
        events = read_journal(journal, verify=False).events
        at = events[-1].type if events else "(empty)"
        during = applied_faults(layout)

        recovered = drill(repo, "recover", journal.parent.name)
        left = applied_faults(layout)
        chain_ok = True
        try:
            read_journal(journal)
        except Exception:  # the report below names the trial
            chain_ok = False
        ok = recovered.returncode == 0 and not left and chain_ok
        figures.record(ok, survived=len(during) if ok else 0, left=len(left))
        if not ok:
            failures.append(
                f"{name} killed at line {point} (after {at}): recover exit "
                f"{recovered.returncode}, still applied {left}, chain ok {chain_ok}\n"
                f"{recovered.stdout}{recovered.stderr}"
            )
    figures.notes.append(f"{name}: kill points {points} (seed {SEED}, journal of {length} lines)")
    assert not failures, "\n".join(failures)

    # The target is usable again: a full run passes after the last trial.
    wait_healthy(layout)
    after = drill(repo, "run", name, *ARGS[name], "--no-sign")
    assert after.returncode == 0, after.stdout + after.stderr
