"""Chaos Toolkit both ways: the shipped experiment imported as a drill and run against the
Kubernetes emulator (chaoslib really terminates a pod, the ReplicaSet controller replaces it),
then the run exported as a Chaos Toolkit journal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.drill_cli import drill_in
from tests.support.kube.catalogue import PODS
from tests.support.kube.fixtures import KubeCluster
from tests.support.session import SIGNING_KEY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def drill(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return drill_in(repo, *args, timeout=timeout)


@pytest.fixture
def repo(tmp_path: Path, kube_cluster: KubeCluster) -> Path:
    root = tmp_path / "repo"
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    registry = {
        "apiVersion": "drillkit.io/v1",
        "kind": "TargetRegistry",
        "targets": {
            "emulated": {
                "provider": "kubernetes",
                "tier": "staging",
                "kubernetes": kube_cluster.target_settings(),
            }
        },
    }
    (root / "targets.yaml").write_text(yaml.safe_dump(registry))
    return root


def test_an_imported_experiment_runs_as_a_drill_and_exports_as_a_journal(
    repo: Path, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    imported = drill(
        repo,
        "import",
        "experiments/kill-orders-pod.json",
        "--name",
        "kill-orders-pod",
        "--owner",
        "team-orders@example.com",
        "--within",
        "1m",
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "wrote drills/kill-orders-pod.yaml",
        "  probe orders-api-pods-running -> workload-ready probe",
        "Next: drill lock, then drill plan kill-orders-pod --target TARGET",
    ]
    document = yaml.safe_load((repo / "drills" / "kill-orders-pod.yaml").read_text())
    assert [s["name"] for s in document["spec"]["steps"]] == [
        "before-orders-api-pods-running",
        "run-experiment-method",
        "after-orders-api-pods-running",
    ]
    assert document["spec"]["steps"][1]["fault"] == {
        "type": "chaostoolkit",
        "experiment": "experiments/kill-orders-pod.json",
    }
    assert document["spec"]["steps"][0]["probe"] == {
        "type": "workload-ready",
        "namespace": "orders",
        "selector": {"app": "orders-api"},
    }
    assert drill(repo, "lock").returncode == 0
    pods_before = {p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders")}

    ran = drill(repo, "run", "kill-orders-pod", "--target", "emulated", timeout=180)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Verdict: PASSED" in ran.stdout
    pods_after = {p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders")}
    assert len(pods_before - pods_after) == 1  # chaosk8s terminated one, the controller replaced it
    [run_dir] = (repo / "reports" / "kill-orders-pod").iterdir()
    key = os.environ[SIGNING_KEY] + ".pub"
    assert drill(repo, "verify", str(run_dir), "--key", key).returncode == 0

    out = tmp_path / "journal.json"
    exported = drill(
        repo, "export", str(run_dir), "--format", "chaostoolkit-journal", "--output", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    journal = json.loads(out.read_text())
    assert journal["status"] == "completed"
    assert journal["deviated"] is False
    assert [r["activity"]["name"] for r in journal["steady_states"]["before"]["probes"]] == [
        "before-orders-api-pods-running"
    ]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert [(r["activity"]["name"], r["status"]) for r in journal["run"]] == [
        ("run-experiment-method", "succeeded"),
        ("after-orders-api-pods-running", "succeeded"),
    ]
    assert journal["experiment"]["extensions"][0]["runId"] == run_dir.name
    from chaoslib.experiment import ensure_experiment_is_valid

    ensure_experiment_is_valid(journal["experiment"])
    for run in journal["run"]:
        assert {"activity", "output", "status", "start", "end", "duration"} <= set(run)
