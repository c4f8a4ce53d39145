"""The Eviction API and PodDisruptionBudgets, as ``kubectl drain`` and chaosk8s meet them."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import (
    ApiException,
    CoreV1Api,
    PolicyV1Api,
    V1DeleteOptions,
    V1Eviction,
    V1ObjectMeta,
)

from tests.support.kube.catalogue import PODS
from tests.support.kube.cluster import add_deployment, add_namespace, add_nodes, add_pdb
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster

BLOCKED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Cannot evict pod as it would violate the pod's disruption budget.",
    "reason": "TooManyRequests",
    "code": 429,
    "details": {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget orders-api needs 2 healthy pods and has 2 currently",
            }
        ]
    },
}


def evict(core: CoreV1Api, name: str, namespace: str = "orders", **options: object) -> object:
    body = V1Eviction(
        metadata=V1ObjectMeta(name=name, namespace=namespace),
        delete_options=V1DeleteOptions(**options) if options else None,
    )
    return core.create_namespaced_pod_eviction_with_http_info(name, namespace, body)


def pod_names(kube: KubeCluster) -> list[str]:
    return [p["metadata"]["name"] for p in kube.store.list(PODS, "orders")]


@pytest.fixture
def core(kube: KubeCluster) -> CoreV1Api:
    add_nodes(kube.store)
    add_namespace(kube.store, "orders")
    add_deployment(kube.store, "orders", "orders-api", replicas=3)
    add_pdb(kube.store, "orders", "orders-api", {"app": "orders-api"}, min_available=2)
    return CoreV1Api(kube.client())


def test_the_budget_status_is_computed_from_the_pods_it_selects(core: CoreV1Api) -> None:
    pdb = PolicyV1Api(core.api_client).read_namespaced_pod_disruption_budget("orders-api", "orders")

    assert (
        pdb.status.current_healthy,
        pdb.status.desired_healthy,
        pdb.status.expected_pods,
        pdb.status.disruptions_allowed,
    ) == (3, 2, 3, 1)
    assert pdb.status.observed_generation == pdb.metadata.generation


def test_an_eviction_within_budget_is_201_and_deletes_the_pod_then_the_next_is_429(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    first, second = pod_names(kube)[:2]

    _, code, _ = evict(core, first)
    with pytest.raises(ApiException) as blocked:
        evict(core, second)

    assert code == 201 and first not in pod_names(kube)
    assert blocked.value.status == 429 and json.loads(blocked.value.body) == BLOCKED
    assert second in pod_names(kube)


def test_an_eviction_blocked_by_a_budget_succeeds_once_a_replacement_is_ready(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    first, second = pod_names(kube)[:2]
    evict(core, first)
    with pytest.raises(ApiException):
        evict(core, second)

    kube.run_controllers()
    wait_for(
        lambda: (
            PolicyV1Api(core.api_client)
            .read_namespaced_pod_disruption_budget("orders-api", "orders")
            .status.disruptions_allowed
            == 1
        )
    )
    _, code, _ = evict(core, second)

    assert code == 201


def test_max_unavailable_counts_the_controllers_replicas(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    add_deployment(kube.store, "orders", "worker", replicas=4)
    add_pdb(kube.store, "orders", "worker", {"app": "worker"}, max_unavailable="50%")

    pdb = PolicyV1Api(core.api_client).read_namespaced_pod_disruption_budget("worker", "orders")

    assert (
        pdb.status.expected_pods,
        pdb.status.desired_healthy,
        pdb.status.disruptions_allowed,
    ) == (4, 2, 2)


def test_a_pod_no_budget_covers_is_evicted_freely(kube: KubeCluster, core: CoreV1Api) -> None:
    add_deployment(kube.store, "orders", "batch", replicas=1)
    (name,) = [p["metadata"]["name"] for p in kube.store.list(PODS, "orders", labels="app=batch")]

    _, code, _ = evict(core, name)

    assert code == 201 and name not in pod_names(kube)


def test_a_dry_run_eviction_checks_the_budget_but_deletes_nothing(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    first = pod_names(kube)[0]

    _, code, _ = evict(core, first, dry_run=["All"])

    assert code == 201 and first in pod_names(kube)


def test_evicting_a_missing_pod_is_404(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        evict(core, "nope")

    assert failed.value.status == 404
