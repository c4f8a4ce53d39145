"""The scale subresource, deletion with propagation, and a namespace taking its content along."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiException, AppsV1Api, CoreV1Api, V1DeleteOptions, V1Scale

from tests.support.kube.catalogue import CONFIGMAPS, DEPLOYMENTS, PODS, REPLICASETS, SECRETS
from tests.support.kube.cluster import add_deployment, add_namespace, add_nodes, add_statefulset
from tests.support.kube.fixtures import KubeCluster


@pytest.fixture
def apps(kube: KubeCluster) -> AppsV1Api:
    add_nodes(kube.store)
    add_namespace(kube.store, "orders")
    add_deployment(kube.store, "orders", "api", replicas=3)
    return AppsV1Api(kube.client())


def test_the_scale_subresource_reads_spec_and_status_replicas_and_the_selector(
    apps: AppsV1Api,
) -> None:
    scale = apps.read_namespaced_deployment_scale("api", "orders")

    assert (scale.kind, scale.api_version) == ("Scale", "autoscaling/v1")
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (3, 3, "app=api")


def test_scaling_by_put_and_by_patch_changes_spec_replicas(
    kube: KubeCluster, apps: AppsV1Api
) -> None:
    scale = apps.read_namespaced_deployment_scale("api", "orders")
    scale.spec.replicas = 5

    replaced = apps.replace_namespaced_deployment_scale("api", "orders", scale)
    patched = apps.patch_namespaced_deployment_scale("api", "orders", {"spec": {"replicas": 1}})

    assert (replaced.spec.replicas, patched.spec.replicas) == (5, 1)
    deployment = kube.store.get(DEPLOYMENTS, "orders", "api")
    assert (deployment["spec"]["replicas"], deployment["metadata"]["generation"]) == (1, 3)


def test_a_scale_put_with_a_stale_version_is_409_and_a_negative_one_422(apps: AppsV1Api) -> None:
    scale = apps.read_namespaced_deployment_scale("api", "orders")
    apps.patch_namespaced_deployment_scale("api", "orders", {"spec": {"replicas": 4}})
    scale.spec.replicas = 2

    with pytest.raises(ApiException) as stale:
        apps.replace_namespaced_deployment_scale("api", "orders", scale)
    with pytest.raises(ApiException) as negative:
        apps.patch_namespaced_deployment_scale("api", "orders", {"spec": {"replicas": -1}})

    assert stale.value.status == 409
    assert json.loads(stale.value.body)["message"].startswith(
        'Operation cannot be fulfilled on deployments.apps "api"'
    )
    assert negative.value.status == 422


def test_statefulsets_scale_too(kube: KubeCluster, apps: AppsV1Api) -> None:
    add_statefulset(kube.store, "orders", "db", replicas=2)

    scale = apps.patch_namespaced_stateful_set_scale("db", "orders", V1Scale(spec={"replicas": 3}))

    assert scale.spec.replicas == 3
    assert [p["metadata"]["name"] for p in kube.store.list(PODS, "orders", labels="app=db")] == [
        "db-0",
        "db-1",
    ]


def test_deleting_a_deployment_takes_its_replicaset_and_pods_in_the_background(
    kube: KubeCluster, apps: AppsV1Api
) -> None:
    apps.delete_namespaced_deployment("api", "orders")

    assert kube.store.list(REPLICASETS, "orders") == []
    assert kube.store.list(PODS, "orders") == []


def test_orphan_propagation_keeps_dependents_without_the_owner_reference(
    kube: KubeCluster, apps: AppsV1Api
) -> None:
    apps.delete_namespaced_deployment(
        "api", "orders", body=V1DeleteOptions(propagation_policy="Orphan")
    )

    replicasets = kube.store.list(REPLICASETS, "orders")
    assert len(replicasets) == 1 and "ownerReferences" not in replicasets[0]["metadata"]
    assert len(kube.store.list(PODS, "orders")) == 3  # still owned by the replicaset


def test_deleting_a_namespace_deletes_everything_in_it(kube: KubeCluster, apps: AppsV1Api) -> None:
    kube.store.create(SECRETS, "orders", {"metadata": {"name": "db"}, "data": {}})
    core = CoreV1Api(apps.api_client)

    answer = core.delete_namespace("orders")

    assert answer["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as gone:
        core.read_namespace("orders")
    assert gone.value.status == 404
    assert [
        kube.store.list(kind, "orders") for kind in (PODS, REPLICASETS, SECRETS, CONFIGMAPS)
    ] == [[], [], [], []]
    assert core.list_namespaced_pod("orders").items == []


def test_deployment_and_replicaset_status_read_as_a_controller_wrote_them(apps: AppsV1Api) -> None:
    deployment = apps.read_namespaced_deployment("api", "orders")
    replicaset = apps.list_namespaced_replica_set("orders").items[0]

    assert (
        deployment.status.replicas,
        deployment.status.ready_replicas,
        deployment.status.available_replicas,
        deployment.status.observed_generation,
    ) == (3, 3, 3, 1)
    assert {c.type: c.status for c in deployment.status.conditions} == {
        "Available": "True",
        "Progressing": "True",
    }
    assert replicaset.metadata.owner_references[0].kind == "Deployment"
    assert replicaset.metadata.labels["pod-template-hash"] in replicaset.metadata.name
