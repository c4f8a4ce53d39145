"""Lists: label and field selectors on the server, pages with ``limit`` and ``continue``."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes.client import ApiException, CoreV1Api

from tests.support.kube.catalogue import NODES, PODS
from tests.support.kube.cluster import add_namespace, add_nodes
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.selectors import FieldSelector, LabelSelector


def add_pod(
    kube: KubeCluster,
    namespace: str,
    name: str,
    labels: dict[str, str],
    *,
    node: str = "",
    phase: str = "Running",
) -> None:
    kube.store.create(
        PODS,
        namespace,
        {
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "app", "image": "nginx"}], "nodeName": node},
            "status": {"phase": phase},
        },
    )


@pytest.fixture
def core(kube: KubeCluster) -> CoreV1Api:
    add_namespace(kube.store, "orders")
    add_namespace(kube.store, "payments")
    add_pod(kube, "orders", "api-1", {"app": "api", "tier": "front"}, node="node-a-1")
    add_pod(
        kube, "orders", "api-2", {"app": "api", "tier": "front", "canary": "true"}, node="node-b-1"
    )
    add_pod(kube, "orders", "worker-1", {"app": "worker"}, node="node-a-1", phase="Pending")
    add_pod(kube, "payments", "api-1", {"app": "api", "tier": "back"}, node="node-c-1")
    return CoreV1Api(kube.client())


def names(listing: object) -> list[str]:
    return [f"{p.metadata.namespace}/{p.metadata.name}" for p in listing.items]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=api", ["orders/api-1", "orders/api-2", "payments/api-1"]),
        ("app==api,tier=front", ["orders/api-1", "orders/api-2"]),
        ("app!=api", ["orders/worker-1"]),
        ("tier in (front, back)", ["orders/api-1", "orders/api-2", "payments/api-1"]),
        ("tier notin (front)", ["orders/worker-1", "payments/api-1"]),
        ("canary", ["orders/api-2"]),
        ("!canary,app=api", ["orders/api-1", "payments/api-1"]),
    ],
)
def test_label_selectors_select_on_the_server(
    core: CoreV1Api, selector: str, expected: list[str]
) -> None:
    assert names(core.list_pod_for_all_namespaces(label_selector=selector)) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.nodeName=node-a-1", ["orders/api-1", "orders/worker-1"]),
        ("status.phase=Running,metadata.namespace=orders", ["orders/api-1", "orders/api-2"]),
        ("metadata.name=api-1", ["orders/api-1", "payments/api-1"]),
        ("status.phase!=Running", ["orders/worker-1"]),
    ],
)
def test_field_selectors_select_on_the_server(
    core: CoreV1Api, selector: str, expected: list[str]
) -> None:
    assert names(core.list_pod_for_all_namespaces(field_selector=selector)) == expected


def test_a_field_the_resource_does_not_index_is_a_400(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.list_namespaced_pod("orders", field_selector="spec.priority=5")

    assert failed.value.status == 400
    assert json.loads(failed.value.body)["message"] == "field label not supported: spec.priority"


def test_a_malformed_label_selector_is_a_400(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.list_namespaced_pod("orders", label_selector="app in api")

    assert failed.value.status == 400
    assert json.loads(failed.value.body)["message"].startswith("unable to parse requirement")


def test_node_fields_and_labels_select_cordoned_nodes_and_zones(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    add_nodes(kube.store, per_zone=2)
    kube.store.edit(NODES, "", "node-b-2", lambda n: n["spec"].update(unschedulable=True))

    cordoned = core.list_node(field_selector="spec.unschedulable=true")
    schedulable = core.list_node(field_selector="spec.unschedulable=false")
    zone_b = core.list_node(label_selector="topology.kubernetes.io/zone=us-east-1b")

    assert [n.metadata.name for n in cordoned.items] == ["node-b-2"]
    assert len(schedulable.items) == 5
    assert [n.metadata.name for n in zone_b.items] == ["node-b-1", "node-b-2"]


def test_pages_follow_continue_tokens_to_the_end_in_key_order(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    add_nodes(kube.store, per_zone=4)
    seen, token, pages = [], None, []

    while True:
        page = core.list_node(limit=5, _continue=token) if token else core.list_node(limit=5)
        seen += [n.metadata.name for n in page.items]
        pages.append((len(page.items), page.metadata.remaining_item_count))
        token = page.metadata._continue
        if not token:
            break

    assert seen == sorted(seen) and len(seen) == 12
    assert pages == [(5, 7), (5, 2), (2, None)]


def test_a_continue_token_is_the_api_servers_encoding(kube: KubeCluster, core: CoreV1Api) -> None:
    first = core.list_pod_for_all_namespaces(limit=2)

    token = first.metadata._continue
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    assert decoded == {
        "v": "meta.k8s.io/v1",
        "rv": int(first.metadata.resource_version),
        "start": "orders/api-2\u0000",
    }


def test_pages_with_a_selector_hold_only_matches(core: CoreV1Api) -> None:
    first = core.list_pod_for_all_namespaces(label_selector="app=api", limit=2)
    rest = core.list_pod_for_all_namespaces(
        label_selector="app=api", limit=2, _continue=first.metadata._continue
    )

    assert names(first) == ["orders/api-1", "orders/api-2"]
    assert names(rest) == ["payments/api-1"] and rest.metadata._continue is None
    assert rest.metadata.resource_version == first.metadata.resource_version


def test_a_garbled_continue_token_is_a_400(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as failed:
        core.list_namespaced_pod("orders", limit=1, _continue="not-a-token")

    assert failed.value.status == 400


def test_a_list_carries_the_stores_revision(kube: KubeCluster, core: CoreV1Api) -> None:
    listed = core.list_namespaced_pod("orders")

    assert listed.metadata.resource_version == str(kube.store.revision)
    assert listed.kind == "PodList" and listed.api_version == "v1"


def test_list_items_of_built_in_kinds_carry_no_type_fields_but_custom_ones_do(
    kube: KubeCluster,
) -> None:
    kube.seed()
    http = kube.client().rest_client.pool_manager

    pods = json.loads(http.request("GET", f"{kube.url}/api/v1/namespaces/orders/pods").data)
    backups = json.loads(
        http.request("GET", f"{kube.url}/apis/velero.io/v1/namespaces/velero/backups").data
    )

    assert "kind" not in pods["items"][0] and "apiVersion" not in pods["items"][0]
    assert (
        backups["items"][0]["kind"] == "Backup"
        and backups["items"][0]["apiVersion"] == "velero.io/v1"
    )


def test_selector_parsing_matches_apimachinery_semantics() -> None:
    selector = LabelSelector.parse("a in (x,y), b notin (z), c, !d, e!=f, n>3")

    assert selector.matches({"a": "x", "c": "", "n": "4"})
    assert not selector.matches({"a": "x", "c": "", "n": "3"})
    assert not selector.matches({"a": "x", "b": "z", "c": "", "n": "4"})
    assert not selector.matches({"a": "x", "c": "", "d": "1", "n": "4"})
    assert LabelSelector.from_object(
        {"matchExpressions": [{"key": "a", "operator": "Exists"}]}
    ).matches({"a": "1"})
    assert not LabelSelector.from_object(None).matches({})
    assert FieldSelector.parse("a=b\\,c", ("a",)).matches({"a": "b,c"})
