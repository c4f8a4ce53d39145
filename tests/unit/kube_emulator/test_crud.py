"""Create, read, update and delete answer as the API server does, through the real client."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiException, AppsV1Api, CoreV1Api, V1Namespace, V1ObjectMeta

from tests.support.kube.catalogue import DEPLOYMENTS, PODS
from tests.support.kube.cluster import add_deployment, add_namespace, add_nodes, deployment_object
from tests.support.kube.fixtures import KubeCluster


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def pod(name: str = "", **labels: str) -> dict:
    meta = {"name": name} if name else {"generateName": "web-"}
    return {
        "metadata": {**meta, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }


@pytest.fixture
def core(kube: KubeCluster) -> CoreV1Api:
    add_namespace(kube.store, "orders")
    return CoreV1Api(kube.client())


def test_create_answers_201_with_server_set_fields_and_generated_name(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    created, code, _ = core.create_namespaced_pod_with_http_info("orders", pod())

    assert code == 201
    assert (
        created.metadata.name.startswith("web-") and len(created.metadata.name) == len("web-") + 5
    )
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    assert created.status.phase == "Pending"  # status a client sends on create is reset
    assert created.spec.volumes[0].name.startswith("kube-api-access-")  # the token volume


def test_a_second_create_of_one_name_is_409_already_exists(core: CoreV1Api) -> None:
    core.create_namespaced_pod("orders", pod("web-1"))

    with pytest.raises(ApiException) as failed:
        core.create_namespaced_pod("orders", pod("web-1"))

    assert failed.value.status == 409
    assert status_of(failed.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "web-1" already exists',
        "reason": "AlreadyExists",
        "code": 409,
        "details": {"name": "web-1", "kind": "pods"},
    }


def test_reading_a_missing_object_is_a_404_status_naming_it(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        AppsV1Api(core.api_client).read_namespaced_deployment("nope", "orders")

    body = status_of(failed.value)
    assert (failed.value.status, body["reason"], body["message"]) == (
        404,
        "NotFound",
        'deployments.apps "nope" not found',
    )
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_creating_in_a_missing_namespace_is_404_for_the_namespace(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_pod("ghost", pod("web-1"))

    assert failed.value.status == 404
    assert status_of(failed.value)["message"] == 'namespaces "ghost" not found'


def test_an_update_with_a_stale_resource_version_is_409_conflict(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    first = core.create_namespaced_pod("orders", pod("web-1"))
    kube.store.edit(PODS, "orders", "web-1", lambda p: p["metadata"]["labels"].update(tier="front"))
    first.metadata.labels["edited"] = "yes"

    with pytest.raises(ApiException) as failed:
        core.replace_namespaced_pod("web-1", "orders", first)

    assert failed.value.status == 409
    assert status_of(failed.value)["message"] == (
        'Operation cannot be fulfilled on pods "web-1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_an_update_with_the_current_version_succeeds_and_bumps_it(core: CoreV1Api) -> None:
    first = core.create_namespaced_pod("orders", pod("web-1"))
    first.metadata.labels["edited"] = "yes"

    second = core.replace_namespaced_pod("web-1", "orders", first)

    assert second.metadata.labels["edited"] == "yes"
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


def test_invalid_objects_are_422_with_field_causes(kube: KubeCluster, core: CoreV1Api) -> None:
    body = deployment_object("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}

    with pytest.raises(ApiException) as failed:
        AppsV1Api(core.api_client).create_namespaced_deployment("orders", body)

    status = status_of(failed.value)
    assert failed.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith(
        'Deployment.apps "web" is invalid: spec.template.metadata.labels'
    )
    assert status["details"]["causes"][0]["field"] == "spec.template.metadata.labels"


def test_a_name_that_is_not_a_dns_subdomain_is_refused(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_pod("orders", pod("Web_1"))

    assert failed.value.status == 422
    assert (
        'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain'
        in status_of(failed.value)["message"]
    )


def test_writes_to_the_main_resource_leave_status_alone_and_status_writes_only_status(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    add_nodes(kube.store)
    add_deployment(kube.store, "orders", "web", replicas=2)
    apps = AppsV1Api(core.api_client)
    before = apps.read_namespaced_deployment("web", "orders")

    apps.patch_namespaced_deployment(
        "web", "orders", {"status": {"readyReplicas": 0}, "metadata": {"labels": {"x": "y"}}}
    )
    after_main = apps.read_namespaced_deployment("web", "orders")
    apps.patch_namespaced_deployment_status(
        "web", "orders", {"status": {"readyReplicas": 1}, "spec": {"replicas": 9}}
    )
    after_status = apps.read_namespaced_deployment("web", "orders")

    assert after_main.status.ready_replicas == before.status.ready_replicas == 2
    assert after_main.metadata.labels["x"] == "y"
    assert (after_status.status.ready_replicas, after_status.spec.replicas) == (1, 2)


def test_generation_follows_spec_changes_only(kube: KubeCluster, core: CoreV1Api) -> None:
    apps = AppsV1Api(core.api_client)
    apps.create_namespaced_deployment("orders", deployment_object("web"))

    apps.patch_namespaced_deployment("web", "orders", {"metadata": {"labels": {"x": "y"}}})
    labelled = apps.read_namespaced_deployment("web", "orders")
    apps.patch_namespaced_deployment("web", "orders", {"spec": {"replicas": 5}})
    scaled = apps.read_namespaced_deployment("web", "orders")

    assert (labelled.metadata.generation, scaled.metadata.generation) == (1, 2)


def test_dry_run_validates_without_storing(kube: KubeCluster, core: CoreV1Api) -> None:
    answer = core.create_namespaced_pod("orders", pod("web-1"), dry_run="All")

    assert answer.metadata.name == "web-1"
    assert kube.store.find(PODS, "orders", "web-1") is None


def test_a_body_of_another_kind_is_a_400(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_pod(
            "orders", {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "x"}}
        )

    assert failed.value.status == 400
    assert "cannot be handled as a Pod" in status_of(failed.value)["message"]


def test_deleting_a_pod_returns_it_and_a_deployment_a_success_status(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    core.create_namespaced_pod("orders", pod("web-1"))
    AppsV1Api(core.api_client).create_namespaced_deployment("orders", deployment_object("api"))

    deleted_pod = core.delete_namespaced_pod("web-1", "orders", grace_period_seconds=0)
    deleted_deployment = AppsV1Api(core.api_client).delete_namespaced_deployment("api", "orders")

    assert deleted_pod.metadata.name == "web-1"
    assert deleted_deployment["status"] == "Success"
    assert deleted_deployment["details"] == {
        "name": "api",
        "group": "apps",
        "kind": "deployments",
        "uid": deleted_deployment["details"]["uid"],
    }
    assert kube.store.find(DEPLOYMENTS, "orders", "api") is None


def test_a_delete_with_a_stale_uid_precondition_is_409(core: CoreV1Api) -> None:
    core.create_namespaced_pod("orders", pod("web-1"))

    with pytest.raises(ApiException) as failed:
        core.delete_namespaced_pod(
            "web-1", "orders", body={"preconditions": {"uid": "not-the-uid"}}
        )

    assert failed.value.status == 409
    assert (
        "Precondition failed: UID in precondition: not-the-uid"
        in status_of(failed.value)["message"]
    )


def test_namespaces_are_cluster_scoped_with_a_stable_kube_system_uid(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name="payments")))

    system = core.read_namespace("kube-system")
    created = core.read_namespace("payments")

    assert system.metadata.uid == kube.server.cluster_uid
    assert created.status.phase == "Active"
    assert created.metadata.labels == {"kubernetes.io/metadata.name": "payments"}


def test_a_request_the_emulator_fails_on_would_show_as_internal_error(kube: KubeCluster) -> None:
    assert kube.server.internal_errors == []
