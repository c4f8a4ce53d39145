"""The reliability suite prints its own figures at the end of the run.

One line per kind of trial (crash, bad input, local faults, secrets), then the
totals in the plain ``N passed, N failed`` form that CI logs and people read.
"""

from __future__ import annotations

import pytest

from tests.reliability.figures import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures")
    trials = passed = survived = left = 0
    for name, figures in FIGURES.items():
        write(
            f"{name:<28} {figures.trials:>6} trials  {figures.passed:>6} passed  "
            f"{figures.trials - figures.passed:>4} failed  faults survived "
            f"{figures.faults_survived:>3}  faults left applied {figures.faults_left_applied}"
        )
        for note in figures.notes:
            write(f"    {note}")
        trials += figures.trials
        passed += figures.passed
        survived += figures.faults_survived
        left += figures.faults_left_applied
    write(f"reliability: {trials} trials, {survived} faults survived, faults left applied = {left}")
    write(f"{passed} passed, {trials - passed} failed")
