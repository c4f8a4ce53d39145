"""Plan at scale: `drill plan zone-outage-orders` against 5,000 nodes and 100,000 pods.

A zone outage touches every node of a zone and every pod on those nodes; on
a large cluster the plan must find them with server-side selectors and
paginated lists, never by pulling the whole cluster into memory. This starts
the Kubernetes API emulator in a process of its own (``python -m
tests.support.kube --scale``: nodes spread over three zones, Deployments of 50
pods with a PDB each, every pod Running on a node), writes a drill repository
made of the shipped ``drills/`` and ``probes/`` plus a ``targets.yaml`` with
one ``kubernetes`` target pointing at it, and runs the real ``drill plan``
CLI in a subprocess, ``--runs`` times. Printed per run: wall seconds and the
plan process's own peak RSS (``ru_maxrss`` from ``wait4`` on that child, as
``/usr/bin/time`` reads it); then the objects the plan says the fault touches,
the best time, the worst memory, and whether the target holds: under 10 s and
under 500 MB. The machine has two cores and the emulator runs on them too,
answering the plan's requests, as a real API server would not.

The emulator's own seeding (about 10 s) is not counted: it stands in for a
cluster that already exists.

Usage: python benchmarks/plan_scale.py [--nodes N] [--pods N] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.kube.scale import EmulatorProcess  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_MEGABYTES = 500.0
REGION = "us-east-1"


def write_repository(root: Path, kubeconfig: Path) -> None:
    """The shipped drills and probes, and a registry with one Kubernetes target."""
    for folder in ("drills", "probes", "runbooks", "experiments"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, root / folder)
    target = {
        "provider": "kubernetes",
        "tier": "staging",
        "description": "The Kubernetes API emulator seeded at scale.",
        "kubernetes": {"kubeconfig": str(kubeconfig), "context": "emulator"},
        "zones": {z: f"{REGION}{z}" for z in "abc"},
        "regions": {"primary": REGION},
        "variables": {
            "orders_url": "https://orders.invalid:8443",
            "orders_host": "orders.invalid",
            "orders_port": "8443",
            "dns_server": "127.0.0.1",
        },
    }
    registry = {
        "apiVersion": "drillkit.io/v1",
        "kind": "TargetRegistry",
        "targets": {"staging-scale": target},
    }
    (root / "targets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))


def plan_once(root: Path, drill: str) -> tuple[float, float, str, int]:
    """Run `drill plan` once: (seconds, peak RSS in MB, output, exit code)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    environment["COLUMNS"] = "160"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", "plan", drill, "--target", "staging-scale"],
        cwd=root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, output, process.returncode


def touched(output: str) -> str:
    """The plan's own count of what the zone outage touches, for the table."""
    found = re.search(r"^  faults in total: (.+)$", output, re.MULTILINE)
    return found.group(1) if found else "(no totals printed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drill", default="zone-outage-orders")
    parser.add_argument("--keep", action="store_true", help="keep the repository and print it")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="drillkit-plan-scale-"))
    try:
        kubeconfig = work / "kubeconfig.yaml"
        print(f"seeding the emulator: {options.nodes:,} nodes, {options.pods:,} pods ...")
        seeded = time.perf_counter()
        with EmulatorProcess(kubeconfig, nodes=options.nodes, pods=options.pods) as emulator:
            print(f"  ready at {emulator.url} after {time.perf_counter() - seeded:.1f}s")
            repository = work / "repo"
            repository.mkdir()
            write_repository(repository, kubeconfig)
            results = []
            for number in range(1, options.runs + 1):
                seconds, megabytes, output, code = plan_once(repository, options.drill)
                if code != 0:
                    print(output)
                    print(f"drill plan exited {code}", file=sys.stderr)
                    return 1
                results.append((seconds, megabytes))
                print(f"  run {number}: {seconds:.2f}s, peak RSS {megabytes:.0f} MB")
            if options.keep:
                print(output)
        best = min(s for s, _ in results)
        worst_memory = max(m for _, m in results)
        print()
        python = sys.version.split()[0]
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {python}")
        print(f"drill plan {options.drill} on {options.nodes:,} nodes / {options.pods:,} pods")
        print(f"  faults touch (the plan):   {touched(output)}")
        print(
            f"  seconds (best of {len(results)}):     {best:.2f}  (target < {TARGET_SECONDS:g}, "
            f"ratio {best / TARGET_SECONDS:.2f})"
        )
        print(
            f"  peak RSS (worst):          {worst_memory:.0f} MB  (target < {TARGET_MEGABYTES:g}, "
            f"ratio {worst_memory / TARGET_MEGABYTES:.2f})"
        )
        held = best < TARGET_SECONDS and worst_memory < TARGET_MEGABYTES
        scale = f"{options.nodes:,} nodes / {options.pods:,} pods"
        record(
            "plan at scale",
            "drill plan seconds",
            best,
            "s",
            versus=scale,
            ratio=best / TARGET_SECONDS,
            target=f"< {TARGET_SECONDS:g} s",
            met=best < TARGET_SECONDS,
        )
        record(
            "plan at scale",
            "drill plan peak RSS",
            worst_memory,
            "MB",
            versus=scale,
            ratio=worst_memory / TARGET_MEGABYTES,
            target=f"< {TARGET_MEGABYTES:g} MB",
            met=worst_memory < TARGET_MEGABYTES,
        )
        print(f"  target {'held' if held else 'MISSED'}")
        return 0 if held else 1
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
