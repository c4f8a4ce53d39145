"""What the reliability suite counts, printed at the end of the run (see conftest.py).

Each test adds its trials here: how many ran, how many faults a trial left
applied on the target (the number that must stay 0), and for the crash trials
how many faults were applied when the process died and were undone after.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


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
FIGURES_DIR_ENV = "DRILLKIT_TEST_FIGURES_DIR"
"""Where each test process leaves its tallies when the suite runs on several workers."""


def tally(name: str) -> Tally:
    """The tally of one kind of trial, created on first use."""
    return FIGURES.setdefault(name, Tally())


def save(worker: str) -> None:
    """Leave this process's tallies for the process that prints the summary."""
    folder = os.environ.get(FIGURES_DIR_ENV)
    if folder and FIGURES:
        data = {name: asdict(figures) for name, figures in FIGURES.items()}
        (Path(folder) / f"{worker}.json").write_text(json.dumps(data))


def gathered() -> dict[str, Tally]:
    """This process's tallies and every worker's, merged by kind of trial."""
    merged = {name: Tally(**asdict(figures)) for name, figures in FIGURES.items()}
    folder = os.environ.get(FIGURES_DIR_ENV)
    for path in sorted(Path(folder).glob("*.json")) if folder else []:
        for name, data in json.loads(path.read_text()).items():
            into = merged.setdefault(name, Tally())
            into.trials += data["trials"]
            into.passed += data["passed"]
            into.faults_survived += data["faults_survived"]
            into.faults_left_applied += data["faults_left_applied"]
            into.notes += data["notes"]
    return merged
