"""`kill -9` of `drill run` at randomly chosen journal points, then `drill recover`: every
fault is undone, every time.

Eight of the crash suite's twenty trials, four of each of the zone-outage and
region-failover drills on the real sandbox (the other twelve are on the
emulated EKS and AKS setups, ``test_crash_cloud.py``, killed the same way by
``kill_points``). A reference run of each drill gives its journal length L; each trial
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
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.desired_state import read_desired
from drillkit.sandbox.layout import SandboxLayout
from tests.reliability.figures import tally
from tests.reliability.kill_points import (
    DEFAULT_SEED,
    chain_verifies,
    events_of,
    kill_points,
    run_and_kill,
)
from tests.reliability.sandbox_repo import drill, environment, make_repository, wait_healthy
from tests.support.groups import SANDBOX
from tests.support.session import SANDBOX_DIR

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", str(DEFAULT_SEED)))
TRIALS = {"zone-outage-orders": 4, "region-failover-orders": 4}
ARGS = {"zone-outage-orders": (), "region-failover-orders": ("--yes",)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repository(tmp_path_factory.mktemp("reliability-repo"))


@pytest.fixture(scope="module")
def layout() -> Iterator[SandboxLayout]:
    layout = SandboxLayout(Path(os.environ[SANDBOX_DIR]))
    yield layout
    SandboxControl(layout).down()


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
    types = events_of(next(iter((repo / "reports" / name).iterdir())) / "journal.jsonl")
    length = len(types)
    points = kill_points(SEED, f"sandbox/{name}", length, TRIALS[name])
    figures = tally("crash: kill -9 + recover")
    failures = []
    ended = []
    for point in points:
        wait_healthy(layout)
        killed = run_and_kill(repo, environment(), (name, *ARGS[name], "--no-sign"), point, types)
        during = applied_faults(layout)

        recovered = drill(repo, "recover", killed.journal.parent.name)
        left = applied_faults(layout)
        chain_ok = chain_verifies(killed.journal)
        ok = recovered.returncode == 0 and not left and chain_ok
        if not killed.killed:
            ended.append(point)
        figures.record(ok, survived=len(during) if ok else 0, left=len(left))
        if not ok:
            failures.append(
                f"sandbox {name} killed at line {point} (journal held {killed.lines}, last "
                f"event {killed.last_event}): recover exit {recovered.returncode}, still "
                f"applied {left}, chain ok {chain_ok}\n{recovered.stdout}{recovered.stderr}"
            )
    figures.notes.append(
        f"sandbox {name}: kill points {points} (seed {SEED}, journal of {length} lines)"
        + (f"; ended by itself before the kill at {ended}" if ended else "")
    )
    assert not failures, "\n".join(failures)

    # The target is usable again: a full run passes after the last trial.
    wait_healthy(layout)
    after = drill(repo, "run", name, *ARGS[name], "--no-sign")
    assert after.returncode == 0, after.stdout + after.stderr
