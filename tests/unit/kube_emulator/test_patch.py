"""PATCH in its three JSON kinds, as the real clients send them and the server applies them."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi

from tests.support.kube.catalogue import NODES
from tests.support.kube.cluster import add_deployment, add_namespace, add_nodes, seed_cluster
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.patches import json_patch, merge_patch, strategic_merge_patch

TAINT = {"key": "drillkit.io/zone-outage", "value": "us-east-1a", "effect": "NoExecute"}


@pytest.fixture
def core(kube: KubeCluster) -> CoreV1Api:
    add_nodes(kube.store)
    return CoreV1Api(kube.client())


def test_a_dict_patch_is_a_strategic_merge_that_cordons_and_labels(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    core.patch_node(
        "node-a-1", {"spec": {"unschedulable": True}, "metadata": {"labels": {"drill": "on"}}}
    )

    node = core.read_node("node-a-1")
    assert node.spec.unschedulable is True
    assert (
        node.metadata.labels["drill"] == "on"
        and node.metadata.labels["topology.kubernetes.io/zone"] == "us-east-1a"
    )
    assert kube.server.requests[-2].content_type == "application/strategic-merge-patch+json"


def test_taints_are_replaced_whole_by_a_strategic_merge(kube: KubeCluster, core: CoreV1Api) -> None:
    kube.store.edit(
        NODES,
        "",
        "node-a-1",
        lambda n: n["spec"].update(taints=[{"key": "old", "effect": "NoSchedule"}]),
    )

    core.patch_node("node-a-1", {"spec": {"taints": [TAINT]}})
    tainted = core.read_node("node-a-1").spec.taints
    core.patch_node("node-a-1", {"spec": {"taints": None}})

    assert [(t.key, t.effect) for t in tainted] == [("drillkit.io/zone-outage", "NoExecute")]
    assert core.read_node("node-a-1").spec.taints is None


def test_a_json_patch_adds_a_taint_and_tests_a_precondition(core: CoreV1Api) -> None:
    core.patch_node("node-b-1", [{"op": "add", "path": "/spec/taints", "value": [TAINT]}])

    with pytest.raises(ApiException) as failed:
        core.patch_node(
            "node-b-1",
            [
                {"op": "test", "path": "/spec/unschedulable", "value": True},
                {"op": "remove", "path": "/spec/taints"},
            ],
        )

    assert core.read_node("node-b-1").spec.taints[0].key == TAINT["key"]
    assert failed.value.status == 422


def test_a_patch_carrying_a_stale_resource_version_is_409(core: CoreV1Api) -> None:
    stale = core.read_node("node-c-1").metadata.resource_version
    core.patch_node("node-c-1", {"metadata": {"labels": {"a": "1"}}})

    with pytest.raises(ApiException) as failed:
        core.patch_node(
            "node-c-1", {"metadata": {"resourceVersion": stale}, "spec": {"unschedulable": True}}
        )

    assert failed.value.status == 409 and core.read_node("node-c-1").spec.unschedulable is None


def test_containers_merge_by_name_in_a_strategic_merge(kube: KubeCluster, core: CoreV1Api) -> None:
    add_namespace(kube.store, "orders")
    add_deployment(kube.store, "orders", "web")
    apps = AppsV1Api(core.api_client)

    apps.patch_namespaced_deployment(
        "web",
        "orders",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}},
    )

    container = apps.read_namespaced_deployment("web", "orders").spec.template.spec.containers[0]
    assert (container.image, container.ports[0].container_port) == ("nginx:1.28", 8080)


def test_custom_resources_take_merge_patch_and_refuse_strategic_merge(kube: KubeCluster) -> None:
    seeded = seed_cluster(kube.store)
    custom = CustomObjectsApi(kube.client())

    custom.patch_namespaced_custom_object(
        "velero.io", "v1", "velero", "schedules", seeded.schedule, {"spec": {"paused": True}}
    )
    with pytest.raises(ApiException) as failed:
        custom.patch_namespaced_custom_object(
            "velero.io",
            "v1",
            "velero",
            "schedules",
            seeded.schedule,
            {"spec": {"paused": False}},
            _content_type="application/strategic-merge-patch+json",
        )

    schedule = custom.get_namespaced_custom_object(
        "velero.io", "v1", "velero", "schedules", seeded.schedule
    )
    assert schedule["spec"]["paused"] is True
    assert failed.value.status == 415
    assert json.loads(failed.value.body)["reason"] == "UnsupportedMediaType"


def test_merge_patch_follows_rfc_7386() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": None, "e": 3}, "d": [2]}) == {
        "a": {"c": 2, "e": 3},
        "d": [2],
    }


def test_strategic_merge_honours_directives() -> None:
    target = {
        "spec": {
            "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
            "tolerations": [{"key": "x"}],
        },
        "metadata": {"finalizers": ["one"]},
    }
    patch = {
        "spec": {
            "containers": [{"name": "b", "$patch": "delete"}, {"name": "c", "image": "2"}],
            "tolerations": [{"key": "y"}],
        },
        "metadata": {"finalizers": ["two"], "$deleteFromPrimitiveList/finalizers": ["one"]},
    }

    merged = strategic_merge_patch(target, patch)

    assert merged["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "c", "image": "2"},
    ]
    assert merged["spec"]["tolerations"] == [{"key": "y"}]
    assert merged["metadata"]["finalizers"] == ["two"]


def test_json_patch_follows_rfc_6902() -> None:
    document = {"a": [1, 2], "b": {"c~d": 1, "e/f": 2}}
    patched = json_patch(
        document,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "remove", "path": "/b/c~0d"},
            {"op": "move", "from": "/b/e~1f", "path": "/g"},
            {"op": "copy", "from": "/a/0", "path": "/h"},
            {"op": "replace", "path": "/a/1", "value": 9},
            {"op": "test", "path": "/h", "value": 1},
        ],
    )

    assert patched == {"a": [1, 9, 3], "b": {}, "g": 2, "h": 1}
    assert document == {"a": [1, 2], "b": {"c~d": 1, "e/f": 2}}
