"""The shipped drills end to end on the real sandbox: real processes die, real data is lost,
the evidence verifies, and nothing is left running or applied afterwards.

Every test shares the session's sandbox folder (tests/conftest.py), so the
sandbox starts once; the last test stops it and proves no process remains.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.desired_state import read_desired
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.processes import sandbox_pids
from drillkit.sandbox.truth import availability
from tests.support.drill_cli import drill_in, session_environment
from tests.support.groups import SANDBOX
from tests.support.session import SANDBOX_DIR, SIGNING_KEY

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox-repo")
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


@pytest.fixture(scope="module")
def layout() -> Iterator[SandboxLayout]:
    yield SandboxLayout(Path(os.environ[SANDBOX_DIR]))


def environment() -> dict[str, str]:
    return session_environment()


def drill(repo: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return drill_in(repo, *args, timeout=timeout)


def newest_run(repo: Path, name: str) -> Path:
    return sorted((repo / "reports" / name).iterdir())[-1]


def verified(repo: Path, run_dir: Path) -> subprocess.CompletedProcess[str]:
    key = os.environ[SIGNING_KEY] + ".pub"
    return drill(repo, "verify", str(run_dir), "--key", key)


def summary_of(run_dir: Path) -> dict[str, object]:
    events = read_journal(run_dir / "journal.jsonl").events
    ended = next(e for e in events if e.type == "run-ended")
    summary: dict[str, object] = ended.data["summary"]
    return summary


def wait_healthy(layout: SandboxLayout, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    status = SandboxControl(layout).status()
    while not status.healthy and time.monotonic() < deadline:
        time.sleep(0.2)
        status = SandboxControl(layout).status()
    assert status.healthy, [c for c in status.components if not c.healthy] or status.faults


def test_sandbox_up_starts_every_component_and_status_says_healthy(
    repo: Path, layout: SandboxLayout
) -> None:
    started = drill(repo, "sandbox", "up")
    assert started.returncode == 0, started.stderr
    wait_healthy(layout)

    status = drill(repo, "sandbox", "status", "--format", "json")

    assert status.returncode == 0, status.stdout
    document = json.loads(status.stdout)
    names = {c["name"] for c in document["components"]}
    assert {"supervisor", "dns", "orders service", "replicas", "backups", "certificate"} <= names
    assert document["faults"] == []


def test_restore_orders_loses_the_namespace_restores_it_and_the_evidence_verifies(
    repo: Path, layout: SandboxLayout
) -> None:
    result = drill(repo, "run", "restore-orders")

    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = newest_run(repo, "restore-orders")
    summary = summary_of(run_dir)
    assert summary["verdict"] == "passed"
    assert isinstance(summary["rtoSeconds"], float) and summary["rtoSeconds"] > 0
    assert summary["rpoSeconds"] is not None
    check = verified(repo, run_dir)
    assert check.returncode == 0, check.stdout + check.stderr
    # Ground truth: the sandbox itself saw the service go down and come back during the run.
    changes = availability(layout)
    assert any(not c["available"] for c in changes) and changes[-1]["available"]
    wait_healthy(layout)


def test_region_failover_loses_unshipped_writes_and_measures_a_positive_rpo(
    repo: Path, layout: SandboxLayout
) -> None:
    result = drill(repo, "run", "region-failover-orders", "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = newest_run(repo, "region-failover-orders")
    summary = summary_of(run_dir)
    rpo = summary["rpoSeconds"]
    assert isinstance(rpo, float) and 0 < rpo < 5 * 60
    assert isinstance(summary["canaryWritesLost"], int) and summary["canaryWritesLost"] >= 1
    assert verified(repo, run_dir).returncode == 0
    # Undo failed traffic back to the primary, with the standby's writes.
    assert read_desired(layout).active_region == "primary"
    wait_healthy(layout)


def test_zone_outage_keeps_serving_from_the_other_zones(repo: Path, layout: SandboxLayout) -> None:
    result = drill(repo, "run", "zone-outage-orders", timeout=240)

    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = newest_run(repo, "zone-outage-orders")
    summary = summary_of(run_dir)
    assert summary["verdict"] == "passed"
    assert summary["rpoSeconds"] == 0.0 and summary["canaryWritesLost"] == 0
    assert verified(repo, run_dir).returncode == 0
    wait_healthy(layout)


def test_a_drill_whose_objective_fails_exits_non_zero_and_says_why(
    repo: Path, tmp_path: Path
) -> None:
    drill_file = repo / "drills" / "pod-kill-orders.yaml"
    original = drill_file.read_text()
    try:
        drill_file.write_text(
            original.replace("rto: 30s", "rto: 1ms").replace("version: 1.0.0", "version: 1.0.1")
        )
        result = drill(repo, "run", "pod-kill-orders")
    finally:
        drill_file.write_text(original)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "objective rto: target 1ms" in result.stdout
    assert "NOT MET" in result.stdout
    assert "Verdict: FAILED" in result.stdout


def test_kill_9_during_a_zone_outage_then_recover_returns_the_sandbox_to_steady_state(
    repo: Path, layout: SandboxLayout
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", "run", "zone-outage-orders"],
        cwd=repo,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not read_desired(layout).down_zones and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_desired(layout).down_zones == ["primary/a"]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert read_desired(layout).down_zones == ["primary/a"]  # nothing undid it

    recovered = drill(repo, "recover", "--target", "sandbox")

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert read_desired(layout).faults == []
    wait_healthy(layout)


def test_sandbox_down_leaves_no_process_behind(repo: Path, layout: SandboxLayout) -> None:
    pids = sandbox_pids(layout.root)
    assert len(pids) >= 5  # supervisor and replicas

    result = drill(repo, "sandbox", "down")

    assert result.returncode == 0, result.stderr
    assert sandbox_pids(layout.root) == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), pid
    status = drill(repo, "sandbox", "status")
    assert status.returncode == 1
    assert "not running" in status.stdout


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True
