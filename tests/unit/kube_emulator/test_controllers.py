"""The workload controllers: pods kept at ``replicas``, placed and moved as a cluster would."""

from __future__ import annotations

from kubernetes.client import AppsV1Api, CoreV1Api

from tests.support.kube.catalogue import DEPLOYMENTS, NODES, PODS, REPLICASETS, STATEFULSETS
from tests.support.kube.cluster import add_namespace, add_nodes, add_statefulset, deployment_object
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.scheduling import ZONE_LABEL
from tests.support.kube.workloads import WorkloadTiming

OUTAGE = {"key": "drillkit.io/zone-outage", "value": "us-east-1a", "effect": "NoExecute"}


def running(kube: KubeCluster, selector: str = "app=orders-api") -> list[dict]:
    return [
        p
        for p in kube.store.list(PODS, "orders", labels=selector)
        if p["status"].get("phase") == "Running"
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
    ]


def nodes_of(pods: list[dict]) -> set[str]:
    return {p["spec"]["nodeName"] for p in pods}


def test_a_new_deployment_gets_a_replicaset_and_ready_pods_spread_over_zones(
    kube: KubeCluster,
) -> None:
    add_nodes(kube.store)
    add_namespace(kube.store, "orders")
    kube.run_controllers()

    AppsV1Api(kube.client()).create_namespaced_deployment(
        "orders", deployment_object("orders-api", replicas=3)
    )
    wait_for(lambda: len(running(kube)) == 3)

    pods = running(kube)
    zones = {
        kube.store.get(NODES, "", p["spec"]["nodeName"])["metadata"]["labels"][ZONE_LABEL]
        for p in pods
    }
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}
    replicaset = kube.store.list(REPLICASETS, "orders")[0]
    assert all(
        p["metadata"]["ownerReferences"][0]["uid"] == replicaset["metadata"]["uid"] for p in pods
    )
    assert all(
        p["spec"]["volumes"]
        and p["metadata"]["name"].startswith(replicaset["metadata"]["name"] + "-")
        for p in pods
    )
    wait_for(
        lambda: (
            kube.store.get(DEPLOYMENTS, "orders", "orders-api")["status"].get("availableReplicas")
            == 3
        )
    )


def test_pods_leave_a_tainted_zone_and_avoid_a_cordoned_node(kube_cluster: KubeCluster) -> None:
    kube = kube_cluster
    core = CoreV1Api(kube.client())

    core.patch_node("node-b-1", {"spec": {"unschedulable": True}})
    core.patch_node("node-a-1", {"spec": {"taints": [OUTAGE]}})
    wait_for(
        lambda: len(running(kube)) == 3 and nodes_of(running(kube)) == {"node-b-1", "node-c-1"}
    )
    on_cordoned = next(
        p["metadata"]["name"] for p in running(kube) if p["spec"]["nodeName"] == "node-b-1"
    )
    core.delete_namespaced_pod(on_cordoned, "orders")
    wait_for(
        lambda: (
            len(running(kube)) == 3
            and on_cordoned not in {p["metadata"]["name"] for p in running(kube)}
        )
    )

    assert nodes_of(running(kube)) == {
        "node-c-1"
    }  # the cordoned node keeps its pod but takes no new one


def test_a_deleted_pod_is_replaced_only_after_the_recreate_delay(kube: KubeCluster) -> None:
    kube.seed()
    controllers = kube.run_controllers(
        workloads=WorkloadTiming(recreate_seconds=30, start_seconds=0.0)
    )
    victim = running(kube)[0]["metadata"]["name"]
    revision = kube.store.revision

    kube.store.delete(PODS, "orders", victim)
    wait_for(lambda: kube.store.revision > revision + 1)  # the controllers' pass after the delete
    waiting = len(kube.store.list(PODS, "orders", labels="app=orders-api"))
    assert controllers.workloads is not None
    controllers.workloads.timing = WorkloadTiming(recreate_seconds=0.0)  # the delay is over
    wait_for(lambda: len(running(kube)) == 3)

    assert waiting == 2
    assert victim not in {p["metadata"]["name"] for p in running(kube)}


def test_pods_wait_pending_with_the_schedulers_reason_when_no_node_fits(kube: KubeCluster) -> None:
    kube.seed()
    for node in kube.seeded.nodes:  # type: ignore[union-attr]
        kube.store.edit(NODES, "", node, lambda n: n["spec"].update(unschedulable=True))
    kube.run_controllers()

    kube.store.delete(PODS, "orders", running(kube)[0]["metadata"]["name"])

    def stuck() -> list[dict]:
        return [
            p
            for p in kube.store.list(PODS, "orders")
            if p["status"].get("conditions")
            and p["status"]["conditions"][0].get("reason") == "Unschedulable"
        ]

    (pod,) = wait_for(stuck)  # type: ignore[misc]
    assert (
        pod["status"]["conditions"][0]["message"]
        == "0/3 nodes are available: 3 node(s) were unschedulable."
    )


def test_scaling_a_deployment_adds_and_removes_pods(kube_cluster: KubeCluster) -> None:
    kube = kube_cluster
    apps = AppsV1Api(kube.client())

    apps.patch_namespaced_deployment_scale("orders-api", "orders", {"spec": {"replicas": 5}})
    wait_for(lambda: len(running(kube)) == 5)
    apps.patch_namespaced_deployment_scale("orders-api", "orders", {"spec": {"replicas": 2}})
    wait_for(lambda: len(kube.store.list(PODS, "orders", labels="app=orders-api")) == 2)

    wait_for(
        lambda: apps.read_namespaced_deployment_status("orders-api", "orders").status.replicas == 2
    )


def test_a_template_change_rolls_to_a_new_replicaset(kube_cluster: KubeCluster) -> None:
    kube = kube_cluster
    apps = AppsV1Api(kube.client())
    old = kube.store.list(REPLICASETS, "orders")[0]["metadata"]["name"]

    apps.patch_namespaced_deployment(
        "orders-api",
        "orders",
        {"spec": {"template": {"metadata": {"annotations": {"restartedAt": "now"}}}}},
    )

    wait_for(
        lambda: (
            len(running(kube)) == 3
            and all(not p["metadata"]["name"].startswith(old) for p in running(kube))
        )
    )
    deployment = wait_for(
        lambda: (
            (d := apps.read_namespaced_deployment("orders-api", "orders")).metadata.annotations.get(
                "deployment.kubernetes.io/revision"
            )
            == "2"
            and d
        )
    )
    assert deployment.status.observed_generation == deployment.metadata.generation  # type: ignore[attr-defined]


def test_statefulsets_keep_stable_pod_names(kube: KubeCluster) -> None:
    add_nodes(kube.store)
    add_namespace(kube.store, "orders")
    add_statefulset(kube.store, "orders", "db", replicas=3)
    kube.run_controllers()

    kube.store.delete(PODS, "orders", "db-1")
    wait_for(lambda: len(running(kube, "app=db")) == 3)

    assert sorted(p["metadata"]["name"] for p in running(kube, "app=db")) == [
        "db-0",
        "db-1",
        "db-2",
    ]
    wait_for(
        lambda: kube.store.get(STATEFULSETS, "orders", "db")["status"].get("readyReplicas") == 3
    )
