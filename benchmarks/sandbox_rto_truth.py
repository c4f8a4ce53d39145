"""RTO measured by drillkit on the sandbox against the sandbox's own ground truth.

Each trial runs the shipped ``restore-orders`` drill (namespace loss, then
restore from backup) as a real ``drill run`` process against a private
sandbox. The sandbox's truth recorder asks the service's readiness through the
edge every 20 ms and logs when it really went down and really came back; the
true RTO is "back" minus the journal's fault start (both on the system-wide
monotonic clock). The measured RTO is the run's own figure. A sampler only
sees recovery at its next sample, so the error should stay within one
sampling interval plus 20 ms, give or take the truth recorder's own 20 ms
resolution. The drill samples every 250 ms as shipped; ``--interval-ms``
(default 100) runs a copy of the repository whose restore-orders samples at
that interval instead (a new version, locked, as drillkit requires).

Usage: python benchmarks/sandbox_rto_truth.py [--trials N] [--interval-ms MS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import record

from drillkit.engine.journal import read_journal
from drillkit.evidence.key_files import generate_key_file
from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.truth import availability

ROOT = Path(__file__).resolve().parents[1]
SLACK_SECONDS = 0.020


def trial(repo: Path, env: dict[str, str], layout: SandboxLayout) -> tuple[float, float, float]:
    """(measured RTO, true RTO, sampling interval) of one restore-orders run."""
    output = Path(tempfile.mkdtemp(prefix="rto-truth-"))
    result = subprocess.run(
        [sys.executable, "-m", "drillkit", "run", "restore-orders", "--output", str(output)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    run_dir = next((output / "restore-orders").iterdir())
    events = read_journal(run_dir / "journal.jsonl").events
    ended = next((e for e in events if e.type == "run-ended"), None)
    if ended is None or ended.data["summary"]["rtoSeconds"] is None:
        raise SystemExit(f"the run did not measure an RTO:\n{result.stdout}\n{result.stderr}")
    summary = ended.data["summary"]
    fault_start = next(e.mono for e in events if e.type == "fault-undo-planned")
    finished = ended.mono
    changes = [c for c in availability(layout) if fault_start <= c["mono"] <= finished]
    back = next((c["mono"] for c in changes if c["available"]), None)
    down = next((c["mono"] for c in changes if not c["available"]), None)
    true_rto = 0.0 if down is None or back is None else back - fault_start
    return float(summary["rtoSeconds"]), true_rto, float(summary["samplingIntervalSeconds"])


def repository(work: Path, interval_ms: int) -> Path:
    """The shipped repository, with restore-orders sampling every ``interval_ms``."""
    repo = work / "repo"
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, repo / folder)
    drill = repo / "drills" / "restore-orders.yaml"
    text = drill.read_text()
    text = re.sub(
        r"(\n    rto:\n(?:      .*\n)*?      interval: )\S+", rf"\g<1>{interval_ms}ms", text
    )
    text = re.sub(  # above the locked version: 1.0.0 becomes 1.0.1-interval100
        r"(\n  version: )(\d+)\.(\d+)\.(\d+)",
        lambda m: f"{m[1]}{m[2]}.{m[3]}.{int(m[4]) + 1}-interval{interval_ms}",
        text,
        count=1,
    )
    drill.write_text(text)
    locked = subprocess.run(
        [sys.executable, "-m", "drillkit", "lock"], cwd=repo, capture_output=True, check=False
    )
    if locked.returncode != 0:
        raise SystemExit(f"drill lock failed in {repo}: {locked.stderr.decode()}")
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--interval-ms", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sandbox-truth-"))
    repo = repository(work, args.interval_ms)
    layout = SandboxLayout(work / "sandbox")
    key = work / "signing.key"
    generate_key_file(key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    env.update({"DRILLKIT_SANDBOX_DIR": str(layout.root), "DRILLKIT_SIGNING_KEY": str(key)})
    os.environ["DRILLKIT_SANDBOX_DIR"] = str(layout.root)
    control = SandboxControl(layout)
    control.up()
    rows = []
    try:
        for number in range(1, args.trials + 1):
            measured, true, interval = trial(repo, env, layout)
            rows.append((measured, true, interval))
            print(
                f"trial {number:>2}: measured {measured:6.3f} s  true {true:6.3f} s  "
                f"error {1000 * (measured - true):+7.1f} ms",
                flush=True,
            )
            time.sleep(0.5)
    finally:
        control.down()
        shutil.rmtree(work, ignore_errors=True)
    errors = [m - t for m, t, _ in rows]
    interval = rows[0][2]
    within = sum(1 for e in errors if abs(e) <= interval + SLACK_SECONDS)
    ordered = sorted(abs(e) for e in errors)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"sandbox RTO vs ground truth: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}, "
        f"{len(rows)} restore-orders runs, sampling every {interval * 1000:.0f} ms"
    )
    print(f"  true RTO           median {statistics.median(t for _, t, _ in rows):.3f} s")
    print(
        f"  |error|            p50 {1000 * statistics.median(ordered):.1f} ms, "
        f"p95 {1000 * p95:.1f} ms, max {1000 * ordered[-1]:.1f} ms"
    )
    print(
        f"  within one interval + {SLACK_SECONDS * 1000:.0f} ms: {within}/{len(rows)} "
        f"({100 * within / len(rows):.0f}%)"
    )
    print(json.dumps({"errorsMs": [round(1000 * e, 1) for e in errors]}))
    sampling = f"{interval * 1000:.0f} ms sampling, {len(rows)} runs"
    for label, value in (
        ("RTO |error| p50", statistics.median(ordered)),
        ("RTO |error| p95", p95),
        ("RTO |error| max", ordered[-1]),
    ):
        record(
            "RTO vs sandbox truth",
            label,
            1000 * value,
            "ms",
            versus=sampling,
            ratio=value / interval,
            target="ratio = error / sampling interval",
        )


if __name__ == "__main__":
    main()
