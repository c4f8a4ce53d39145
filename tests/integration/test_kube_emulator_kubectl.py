"""The real ``kubectl`` against the Kubernetes API emulator: a check that the emulator is faithful.

kubectl does discovery, asks for server-side tables, computes its own strategic
merge patches and drains through the Eviction API; if the emulator answered
anything a real API server would not, these commands would fail or print
something else.
"""

from __future__ import annotations

import json

import pytest

from tests.support.kube.access import AccessRule
from tests.support.kube.catalogue import NODES, PODS
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster

pytestmark = pytest.mark.slow


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_get_pods_by_label_as_json_lists_the_running_pods(kube_cluster: KubeCluster) -> None:
    result = kube_cluster.kubectl(
        "get", "pods", "-l", "app=orders-api", "-n", "orders", "-o", "json"
    )

    listed = json.loads(result.stdout)
    assert listed["kind"] == "List" and len(listed["items"]) == 3
    assert {p["kind"] for p in listed["items"]} == {"Pod"}
    assert {p["status"]["phase"] for p in listed["items"]} == {"Running"}
    assert {p["spec"]["nodeName"] for p in listed["items"]} == {"node-a-1", "node-b-1", "node-c-1"}


def test_get_nodes_and_deployments_print_the_api_servers_columns(kube_cluster: KubeCluster) -> None:
    nodes = rows(kube_cluster.kubectl("get", "nodes").stdout)
    deployments = rows(kube_cluster.kubectl("get", "deploy", "-n", "orders").stdout)

    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [(r[0], r[1], r[4]) for r in nodes[1:]] == [
        (name, "Ready", "v1.31.4-eks-aeac579") for name in ("node-a-1", "node-b-1", "node-c-1")
    ]
    assert deployments[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1][:4] == ["orders-api", "3/3", "3", "3"]


def test_cordon_marks_the_node_unschedulable(kube_cluster: KubeCluster) -> None:
    result = kube_cluster.kubectl("cordon", "node-a-1")

    assert result.stdout.strip() == "node/node-a-1 cordoned"
    assert kube_cluster.store.get(NODES, "", "node-a-1")["spec"]["unschedulable"] is True
    listed = rows(kube_cluster.kubectl("get", "nodes").stdout)
    assert listed[1][:2] == ["node-a-1", "Ready,SchedulingDisabled"]


def test_get_velero_backups_by_their_full_resource_name(kube_cluster: KubeCluster) -> None:
    listed = rows(kube_cluster.kubectl("get", "backups.velero.io", "-n", "velero").stdout)

    assert listed[0] == ["NAME", "AGE"]
    assert [r[0] for r in listed[1:]] == [kube_cluster.seeded.backup]  # type: ignore[union-attr]


def test_drain_evicts_through_the_eviction_api_and_the_pod_moves(kube_cluster: KubeCluster) -> None:
    result = kube_cluster.kubectl("drain", "node-b-1", "--ignore-daemonsets", "--timeout=30s")

    assert "node/node-b-1 drained" in result.stdout
    assert any(r.path.endswith("/eviction") for r in kube_cluster.server.requests)
    wait_for(
        lambda: (
            len(
                [
                    p
                    for p in kube_cluster.store.list(PODS, "orders")
                    if p["status"].get("phase") == "Running"
                ]
            )
            == 3
        )
    )
    placed = {p["spec"]["nodeName"] for p in kube_cluster.store.list(PODS, "orders")}
    assert "node-b-1" not in placed


def test_auth_can_i_answers_from_the_emulators_rules(kube_cluster: KubeCluster) -> None:
    kube_cluster.server.access.rules = [
        AccessRule("read", verbs=("get", "list"), users=("drill-operator",))
    ]

    allowed = kube_cluster.kubectl("auth", "can-i", "list", "pods", "-n", "orders", check=False)
    denied = kube_cluster.kubectl("auth", "can-i", "delete", "pods", "-n", "orders", check=False)

    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
