"""What the reliability suite counts, printed at the end of the run (see conftest.py).

Each test adds its trials here: how many ran, how many faults a trial left
applied on the target (the number that must stay 0), and for the crash trials
how many faults were applied when the process died and were undone after.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    trials: int = 0
    passed: int = 0
    faults_survived: int = 0
    """Faults that were applied when the trial's failure struck and were undone after."""
    faults_left_applied: int = 0
    notes: list[str] = field(default_factory=list)

    def record(self, ok: bool, *, survived: int = 0, left: int = 0) -> None:
        self.trials += 1
        self.passed += 1 if ok else 0
        self.faults_survived += survived
        self.faults_left_applied += left


FIGURES: dict[str, Tally] = {}


def tally(name: str) -> Tally:
    """The tally of one kind of trial, created on first use."""
    return FIGURES.setdefault(name, Tally())
