"""Least privilege from the steps: each intent's API calls, in the namespace it names."""

from __future__ import annotations

from pathlib import Path

import yaml

from drillkit.engine.plan import make_plan
from drillkit.schedule.rbac import CLUSTER, permissions
from drillkit.spec.faults import ChaosToolkit
from drillkit.spec.repository import DrillRepository
from drillkit.spec.targets import Target

TARGET = Target.model_validate(
    {
        "provider": "kubernetes",
        "tier": "staging",
        "kubernetes": {"inCluster": True, "lockNamespace": "drill-locks"},
        "zones": {"a": "us-east-1a"},
        "regions": {"primary": "us-east-1", "standby": "us-west-2"},
        "variables": {
            "orders_url": "https://orders.example.com",
            "orders_host": "orders.example.com",
            "orders_port": "443",
            "dns_server": "10.0.0.10",
        },
    }
)


def plan_of(repository: DrillRepository, name: str) -> object:
    return make_plan(repository.load_named(name), "staging-k8s", TARGET)


def test_a_restore_drill_needs_velero_restores_and_to_delete_its_namespace(
    repository: DrillRepository,
) -> None:
    merged = permissions([plan_of(repository, "restore-orders")], "drill-locks", "velero").merged()

    assert merged[CLUSTER][("", "namespaces")] == {"get", "delete"}
    assert merged["velero"][("velero.io", "restores")] == {"create", "get", "list", "watch"}
    assert merged["drill-locks"][("coordination.k8s.io", "leases")] == {"create", "get", "update"}
    assert ("", "nodes") not in merged[CLUSTER]
    assert merged["orders"][("", "secrets")] == {"get"}


def test_a_chaostoolkit_pod_termination_needs_pods_in_the_experiments_namespace(
    repository: DrillRepository, repo_root: Path
) -> None:
    experiment = yaml.safe_load((repo_root / "experiments" / "kill-orders-pod.json").read_text())
    intent = ChaosToolkit(type="chaostoolkit", experiment="experiments/kill-orders-pod.json")
    bound = intent.with_document(experiment)

    class Step:
        name = "kill"
        actions = (type("Action", (), {"intent": bound})(),)

    class Plan:
        drill = type("Drill", (), {"name": "kill-orders-pod"})()
        steps = (Step(),)

    result = permissions([Plan()], "default", "velero")

    assert result.unknown == []
    assert result.merged()["orders"][("", "pods")] == {"list", "delete"}

    experiment["method"][0]["provider"]["func"] = "delete_nodes"
    result = permissions([Plan()], "default", "velero")
    assert result.unknown == ["kill-orders-pod: step kill (chaostoolkit)"]
