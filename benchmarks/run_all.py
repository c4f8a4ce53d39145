"""Every benchmark in one run, and one table of their figures and ratios.

``benchmarks/run`` calls this. Each benchmark runs as its own process (as a
person would run it alone, so no import or cache of one helps another), with
the settings below: the issue's workloads, with repeat counts cut so the
whole run takes a few minutes. Each records its figures through
``figures.record``; this prints them side by side, then every benchmark's own
report for detail. Exit 0 when every benchmark ran and every target held, 1
otherwise (the table says which).

Usage: benchmarks/run [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import FIGURES_ENV

HERE = Path(__file__).resolve().parent
BENCHMARKS: dict[str, list[str]] = {
    "cold_start": ["--runs", "5"],
    "engine_overhead": [],
    "journal_overhead": [],
    "sandbox_rto_truth": ["--trials", "5", "--interval-ms", "100"],
    "sampler_capacity": ["--endpoints", "1000", "--seconds", "30"],
    "plan_scale": ["--runs", "2"],
    "verify_throughput": ["--megabytes", "200", "--runs", "3"],
}
QUICK: dict[str, list[str]] = {
    "cold_start": ["--runs", "2"],
    "engine_overhead": [],
    "journal_overhead": ["--events", "5000", "--fsync-events", "500"],
    "sandbox_rto_truth": ["--trials", "2", "--interval-ms", "100"],
    "sampler_capacity": ["--endpoints", "200", "--seconds", "10"],
    "plan_scale": ["--runs", "1", "--nodes", "1000", "--pods", "20000"],
    "verify_throughput": ["--megabytes", "64", "--runs", "1"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument(
        "--quick", action="store_true", help="smaller workloads, to check the run itself works"
    )
    options = parser.parse_args()
    chosen = options.only or list(BENCHMARKS)
    settings = QUICK if options.quick else BENCHMARKS
    figures_file = Path(tempfile.mkstemp(prefix="drillkit-figures-", suffix=".jsonl")[1])
    environment = {**os.environ, FIGURES_ENV: str(figures_file)}
    reports: list[tuple[str, int, float, str]] = []
    for name in chosen:
        command = [sys.executable, str(HERE / f"{name}.py"), *settings[name]]
        print(f"== {name} {' '.join(settings[name])}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        reports.append((name, done.returncode, seconds, done.stdout + done.stderr))
        print(f"   exit {done.returncode} after {seconds:.0f} s", flush=True)
    figures = [json.loads(line) for line in figures_file.read_text().splitlines() if line]
    figures_file.unlink()

    print()
    print(
        f"drillkit benchmarks: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
        + (" (--quick: smaller workloads, not the targets' own)" if options.quick else "")
    )
    header = f"{'benchmark':<22}{'figure':<34}{'value':>14}  {'ratio':>7}  {'vs':<42}{'target':<22}"
    print(header)
    print("-" * len(header))
    missed = 0
    for f in figures:
        value = (
            f"{f['value']:,.3f} {f['unit']}"
            if f["value"] < 100
            else f"{f['value']:,.0f} {f['unit']}"
        )
        ratio = f"{f['ratio']:.2f}x" if f["ratio"] is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[f["met"]]
        missed += f["met"] is False
        target = f"{f['target']} {verdict}".strip()
        print(
            f"{f['benchmark']:<22}{f['figure']:<34}{value:>14}  {ratio:>7}  "
            f"{f['versus']:<42}{target:<22}"
        )
    without = [name for name, _, _, _ in reports if not _recorded(name, figures)]
    print()
    print(f"targets: {sum(f['met'] is True for f in figures)} met, {missed} missed")
    for name in without:
        print(f"error: {name} recorded no figure; its output follows")
    for name, code, seconds, output in reports:
        print(f"\n== {name} (exit {code}, {seconds:.0f} s)\n{output.rstrip()}")
    return 1 if missed or without else 0


def _recorded(name: str, figures: list[dict[str, object]]) -> bool:
    labels = {
        "cold_start": "cold start",
        "engine_overhead": "engine overhead",
        "journal_overhead": "journal",
        "sandbox_rto_truth": "RTO vs sandbox truth",
        "sampler_capacity": "sampler capacity",
        "plan_scale": "plan at scale",
        "verify_throughput": "verify",
    }
    return any(f["benchmark"] == labels[name] for f in figures)


if __name__ == "__main__":
    sys.exit(main())
