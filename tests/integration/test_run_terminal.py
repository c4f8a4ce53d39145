"""`drill run` on a real pseudo-terminal: the live view, and the typed prod confirmation."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.lab import TARGET, Lab

STEPS = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
- name: hold
  wait: 500ms
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A `drill` process whose stdin, stdout and stderr are a pseudo-terminal."""

    def __init__(self, lab: Lab, *args: str) -> None:
        self.master, slave = os.openpty()
        env = lab.env() | {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drillkit", *args],
            cwd=lab.root,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        self.screen = ""

    def read_until(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pattern in ANSI.sub("", self.screen):
                return self.screen
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        text = ANSI.sub("", self.screen)
        if pattern not in text:
            self.process.kill()
            pytest.fail(f"`{pattern}` never appeared on the terminal:\n{text[-3000:]}")
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 30) -> int:
        try:
            self.read_until("Verdict:", timeout)
        finally:
            code = self.process.wait(timeout)
            os.close(self.master)
        return code

    @property
    def text(self) -> str:
        return ANSI.sub("", self.screen)


def test_the_live_view_shows_phase_rto_clock_and_probe_status_then_the_verdict(
    tmp_path: Path,
) -> None:
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.2)
    lab.add_drill("zone", STEPS)
    terminal = Terminal(lab, "run", "zone", "-t", TARGET)
    assert terminal.finish() == 0, terminal.text
    text = terminal.text
    assert "zone 1.0.0 on staging-lab" in text  # the live panel's title line
    assert "RTO clock" in text and "phase" in text
    assert "step 1/3 lose-zone-a (fault)" in text
    assert "Verdict: PASSED" in text
    assert "\x1b[" in terminal.screen  # a terminal gets colour and redraws; CI logs do not


def test_a_prod_target_runs_after_the_operator_types_its_name(tmp_path: Path) -> None:
    lab = Lab.create(tmp_path / "lab", tier="prod", recoverSeconds=0.2)
    lab.add_drill("zone", STEPS)
    (lab.root / "drills" / "drills.lock").write_text("lockVersion: 1\ndrills: {}\n")
    locked = lab.drill("lock")
    assert locked.returncode == 0, locked.stderr
    terminal = Terminal(lab, "run", "zone", "-t", TARGET)
    terminal.read_until(f"Type {TARGET} to continue")
    terminal.type(f"{TARGET}\n")
    assert terminal.finish() == 0, terminal.text
    assert "Verdict: PASSED" in terminal.text
    assert lab.world["applied"] == {}


def test_a_prod_target_is_refused_when_the_typed_name_is_wrong(tmp_path: Path) -> None:
    lab = Lab.create(tmp_path / "lab", tier="prod")
    lab.add_drill("zone", STEPS)
    (lab.root / "drills" / "drills.lock").write_text("lockVersion: 1\ndrills: {}\n")
    assert lab.drill("lock").returncode == 0
    terminal = Terminal(lab, "run", "zone", "-t", TARGET)
    terminal.read_until(f"Type {TARGET} to continue")
    terminal.type("prod\n")
    assert terminal.finish() == 2, terminal.text
    assert "Verdict: REFUSED" in terminal.text
    assert f"target `{TARGET}` is tier prod and the run was not confirmed" in terminal.text
    assert lab.world["calls"] == ["open", "close"]


def test_a_prod_target_runs_only_locked_drill_versions(tmp_path: Path) -> None:
    lab = Lab.create(tmp_path / "lab", tier="prod")
    lab.add_drill("zone", STEPS)
    result = lab.drill("run", "zone", "-t", TARGET, "--yes")
    assert result.returncode == 2
    assert "error: refused: version 1.0.0 of zone is not recorded in drills.lock" in result.stderr
    assert "prod targets run only locked versions" in result.stderr
