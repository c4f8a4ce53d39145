"""Engine overhead per step, excluding provider time, and journal cost per event.

Runs real drills through the real runner against an in-process provider whose
handlers return at once, so what is measured is the engine: plan binding, the
step worker thread, timeout/abort supervision, journal events and the final
measurement from the journal. Prints per-step milliseconds for wait, probe
and fault (with its undo) steps next to the target of 2 ms per step.

Usage: python benchmarks/engine_overhead.py [--steps N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from figures import record
from instant_provider import InstantProvider, register_instant_provider

from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.spec.repository import DrillRepository

TARGET_MS = 2.0
FAULT_STEP = "    - {{name: s{i}, fault: {{type: pod-kill, namespace: a, selector: {{a: b}}}}}}\n"


def _drill(name: str, step: str, count: int) -> str:
    steps = "".join(step.format(i=i) for i in range(count))
    return (
        "apiVersion: drillkit.io/v1\nkind: Drill\n"
        f"metadata: {{name: {name}, version: 1.0.0, owner: bench, tier: 3}}\n"
        "spec:\n  objectives: {}\n  targets: ['*']\n"
        "  safety: {blastRadius: {maxPods: 100000, maxNodes: 100000, maxZones: 100000}}\n"
        f"  steps:\n{steps}"
    )


def _time_drill(root: Path, name: str, step: str, count: int) -> float:
    (root / "drills" / f"{name}.yaml").write_text(_drill(name, step, count))
    repo = DrillRepository.discover(root)
    drill = repo.load_named(name)
    target = repo.target("bench")
    plan = make_plan(drill, "bench", target)
    runner = Runner(
        plan,
        InstantProvider("bench", target),
        RunOptions(output_dir=root / "reports"),
        SilentProgress(),
    )
    started = time.perf_counter()
    result = runner.run()
    elapsed = time.perf_counter() - started
    if result.summary.verdict != "passed":
        sys.exit(f"{name}: {result.summary.to_json()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="drillkit-engine-bench-"))
    os.environ["DRILLKIT_LOCK_DIR"] = str(root / "locks")
    (root / "drills").mkdir()
    (root / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\n"
        "targets:\n  bench: {provider: bench-instant, tier: dev}\n"
    )
    register_instant_provider()
    n = args.steps
    baseline = _time_drill(root, "one", "    - {{name: s{i}, wait: 0s}}\n", 1)
    rows = [
        ("wait step", _time_drill(root, "waits", "    - {{name: s{i}, wait: 0s}}\n", n)),
        (
            "probe step",
            _time_drill(root, "probes", "    - {{name: s{i}, probe: {{type: tls, host: x}}}}\n", n),
        ),
        (
            "fault step + undo",
            _time_drill(
                root,
                "faults",
                FAULT_STEP,
                n,
            ),
        ),
    ]
    print(
        f"engine overhead per step: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}, {n} steps per drill"
    )
    print(f"  fixed cost of a run (1 step): {baseline * 1000:8.1f} ms")
    print(f"  {'step kind':<20}{'ms/step':>10}   target")
    failed = False
    for label, elapsed in rows:
        per_step = (elapsed - baseline) / (n - 1) * 1000
        verdict = "met" if per_step <= TARGET_MS else "MISSED"
        failed |= per_step > TARGET_MS
        print(f"  {label:<20}{per_step:>10.3f}   <= {TARGET_MS:.1f} ms {verdict}")
        record(
            "engine overhead",
            f"per {label}",
            per_step,
            "ms",
            target=f"<= {TARGET_MS:.1f} ms",
            met=per_step <= TARGET_MS,
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
