"""A game-day over three shipped drills on the real sandbox, with one failing gate.

readiness-orders passes; pod-kill-orders is given an RTO objective of 1 ms,
which no real recovery meets, so it fails; restore-orders sits behind the
default gate and is skipped. Two real signed run bundles and one signed
game-day bundle linking them are left, and both verify with the session key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.drill_cli import drill_in
from tests.support.groups import SANDBOX
from tests.support.session import SIGNING_KEY

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

ROOT = Path(__file__).resolve().parents[2]
PLAN = """\
apiVersion: drillkit.io/v1
kind: GameDay
metadata: {name: orders-day, description: "readiness, pod kill, restore"}
spec:
  entries:
    - drill: readiness-orders
    - drill: pod-kill-orders
    - drill: restore-orders
"""


def drill(repo: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return drill_in(repo, *args, timeout=timeout)


@pytest.mark.slow
def test_a_game_day_on_the_sandbox_skips_the_drill_behind_a_failed_gate(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, repo / folder)
    pod_kill = repo / "drills" / "pod-kill-orders.yaml"
    pod_kill.write_text(
        pod_kill.read_text()
        .replace("rto: 30s", "rto: 1ms")
        .replace("version: 1.0.0", "version: 1.0.1")
    )
    (repo / "orders-day.yaml").write_text(PLAN)

    result = drill(repo, "gameday", "run", "orders-day.yaml")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "[1/3] readiness-orders on sandbox: PASSED" in result.stdout, result.stdout
    assert "[2/3] pod-kill-orders on sandbox: FAILED" in result.stdout
    assert (
        "[3/3] restore-orders on sandbox: SKIPPED (gate: the previous drill `pod-kill-orders` "
        "ended failed)"
    ) in result.stdout
    assert not (repo / "reports" / "restore-orders").exists()
    [folder] = (repo / "reports" / "_gamedays" / "orders-day").iterdir()
    summary = json.loads((folder / "gameday.json").read_text())
    assert [e["status"] for e in summary["entries"]] == ["passed", "failed", "skipped"]
    pod_kill_objectives = summary["entries"][1]["run"]["objectives"]
    assert [(o["name"], o["target"], o["status"]) for o in pod_kill_objectives] == [
        ("rto", "1ms", "not-met")
    ]
    key = os.environ[SIGNING_KEY] + ".pub"
    verified = drill(repo, "gameday", "verify", str(folder), "--key", key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok      run-bundles  2 run bundles verify with the same key" in verified.stdout
