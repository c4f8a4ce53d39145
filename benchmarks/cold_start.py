"""Cold-start times of the CLI, side by side with Chaos Toolkit, in one run.

Prints the median and best wall-clock time of each command over N runs (new
process each time, so every import is paid), the ratio against Chaos
Toolkit's equivalent command, and whether drillkit meets its targets:
``drill --help`` <= 0.15 s and ``drill validate drills/`` <= 0.5 s.

Usage: python benchmarks/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import record

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXPERIMENT = ROOT / "experiments" / "kill-orders-pod.json"
TARGETS = {"drill --help": 0.15, "drill validate drills/": 0.5}


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        sys.exit(f"{name} is not installed; run `bash scripts/test` first to create .venv")
    return which


def _time(command: list[str], runs: int, cwd: Path) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
        if completed.returncode != 0:
            sys.exit(
                f"{' '.join(command)} failed ({completed.returncode}):\n"
                f"{completed.stderr.decode(errors='replace')[-2000:]}"
            )
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    drill, chaos = _tool("drill"), _tool("chaos")
    # chaos writes chaostoolkit.log into its working directory: keep it out of the repo.
    scratch = Path(tempfile.mkdtemp(prefix="drillkit-bench-"))
    pairs = [
        ("drill --help", [drill, "--help"], "chaos --help", [chaos, "--help"]),
        (
            "drill validate drills/",
            [drill, "--repo", str(ROOT), "validate", str(ROOT / "drills")],
            "chaos validate experiment",
            [chaos, "validate", str(EXPERIMENT)],
        ),
    ]
    print(
        f"cold start, {args.runs} runs each: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"{'command':<28}{'median s':>10}{'best s':>9}   {'vs':<28}{'median s':>10}"
        f"{'ratio':>8}   target"
    )
    failed = False
    for label, command, other_label, other in pairs:
        mine, mine_best = _time(command, args.runs, scratch)
        theirs, _ = _time(other, args.runs, scratch)
        target = TARGETS[label]
        verdict = "met" if mine <= target else "MISSED"
        failed |= mine > target
        print(
            f"{label:<28}{mine:>10.3f}{mine_best:>9.3f}   {other_label:<28}{theirs:>10.3f}"
            f"{theirs / mine:>7.1f}x   <= {target:.2f} s {verdict}"
        )
        record(
            "cold start",
            label,
            mine,
            "s",
            versus=f"{other_label} {theirs:.3f} s",
            ratio=theirs / mine,
            target=f"<= {target:.2f} s",
            met=mine <= target,
        )
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
