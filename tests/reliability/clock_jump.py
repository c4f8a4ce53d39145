"""Run a drill in-process twice, once with the wall clock jumping mid-run, and compare RTOs.

``JumpingClock`` is the real system clock whose wall time jumps by ``jump`` a
moment after the run starts (NTP stepping the clock, a VM resumed): monotonic
time is untouched, as the kernel's is. The RTO is measured on the monotonic
clock, so both runs must agree within sampling noise.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from drillkit.engine.clock import SystemClock
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.spec.repository import DrillRepository
from tests.support.lab import TARGET, Lab
from tests.support.test_provider import TestProvider

STEPS = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
"""


class JumpingClock(SystemClock):
    def __init__(self, jump: timedelta, after_seconds: float) -> None:
        self._jump = jump
        self._at = time.monotonic() + after_seconds

    def wall(self) -> datetime:
        now = super().wall()
        return now + self._jump if time.monotonic() >= self._at else now


def _rto(root: Path, clock: SystemClock) -> float | None:
    lab = Lab.create(root, recoverSeconds=0.6)
    lab.add_drill("jump", STEPS)
    repo = DrillRepository.discover(lab.root)
    target = repo.target(TARGET)
    plan = make_plan(repo.load_named("jump"), TARGET, target)
    runner = Runner(
        plan,
        TestProvider(TARGET, target),
        RunOptions(output_dir=lab.root / "reports", undo_grace_seconds=2.0),
        SilentProgress(),
        clock=clock,
    )
    result = runner.run()
    assert result.summary.verdict == "passed", result.summary
    return result.summary.rto_seconds


def rto_with_wall_clock_jump(tmp: Path, *, jump: timedelta) -> tuple[float | None, float | None]:
    steady = _rto(tmp / "steady", SystemClock())
    jumped = _rto(tmp / "jumped", JumpingClock(jump, after_seconds=0.3))
    return steady, jumped
