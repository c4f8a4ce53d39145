"""Watch: the client's ``Watch().stream`` reads ADDED/MODIFIED/DELETED from a resourceVersion."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import watch
from kubernetes.client import ApiException, CoreV1Api

from tests.support.kube.catalogue import NODES, PODS
from tests.support.kube.cluster import add_namespace, add_nodes
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.kube.store import ResourceStore


def pod(name: str, **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }


def later(action: object, delay: float = 0.2) -> threading.Thread:
    """Run ``action`` once the watch is reading (the stream starts within milliseconds)."""
    thread = threading.Timer(delay, action)  # type: ignore[arg-type]
    thread.start()
    return thread


@pytest.fixture
def core(kube: KubeCluster) -> CoreV1Api:
    add_namespace(kube.store, "orders")
    return CoreV1Api(kube.client())


def test_a_watch_from_a_list_revision_sees_later_changes_in_order(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    since = core.list_namespaced_pod("orders").metadata.resource_version
    store = kube.store

    def changes() -> None:
        store.create(PODS, "orders", pod("web-1", app="web"))
        store.edit(PODS, "orders", "web-1", lambda p: p["metadata"]["labels"].update(tier="front"))
        store.delete(PODS, "orders", "web-1")

    later(changes)
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_pod, "orders", resource_version=since, timeout_seconds=1
    ):
        events.append(
            (event["type"], event["object"].metadata.name, event["object"].metadata.labels)
        )
        if event["type"] == "DELETED":
            break

    assert events == [
        ("ADDED", "web-1", {"app": "web"}),
        ("MODIFIED", "web-1", {"app": "web", "tier": "front"}),
        ("DELETED", "web-1", {"app": "web", "tier": "front"}),
    ]


def test_a_watch_without_a_revision_starts_with_the_current_objects(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    kube.store.create(PODS, "orders", pod("web-1"))
    kube.store.create(PODS, "orders", pod("web-2"))

    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(core.list_namespaced_pod, "orders", timeout_seconds=1)
    ]

    assert seen == [("ADDED", "web-1"), ("ADDED", "web-2")]


def test_timeout_seconds_ends_the_stream(core: CoreV1Api) -> None:
    started = time.monotonic()

    events = list(watch.Watch().stream(core.list_namespaced_pod, "orders", timeout_seconds=1))

    assert events == [] and time.monotonic() - started < 5


def test_selectors_turn_modifications_into_additions_and_deletions(
    kube: KubeCluster, core: CoreV1Api
) -> None:
    add_nodes(kube.store)
    since = core.list_node().metadata.resource_version
    store = kube.store

    def changes() -> None:
        store.edit(NODES, "", "node-a-1", lambda n: n["spec"].update(unschedulable=True))
        store.edit(NODES, "", "node-b-1", lambda n: n["metadata"]["labels"].update(team="x"))
        store.edit(NODES, "", "node-a-1", lambda n: n["spec"].pop("unschedulable"))

    later(changes)
    seen = []
    for event in watch.Watch().stream(
        core.list_node,
        field_selector="spec.unschedulable=true",
        resource_version=since,
        timeout_seconds=1,
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            break

    assert seen == [("ADDED", "node-a-1"), ("DELETED", "node-a-1")]


def test_bookmarks_carry_the_revision_when_asked_for(kube: KubeCluster, core: CoreV1Api) -> None:
    kube.store.create(PODS, "orders", pod("web-1"))
    since = core.list_namespaced_pod("orders").metadata.resource_version

    events = list(
        watch.Watch().stream(
            core.list_namespaced_pod,
            "orders",
            resource_version=since,
            timeout_seconds=1,
            allow_watch_bookmarks=True,
        )
    )

    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert events[0]["raw_object"]["metadata"]["resourceVersion"] == since


def test_a_revision_older_than_the_history_is_410_gone() -> None:
    with KubeApiServer(store=ResourceStore(history=3)) as server:
        for name in ("a", "b", "c", "d", "e"):
            server.store.create(PODS, "default", pod(name))
        from kubernetes.client import ApiClient, Configuration

        with (
            ApiClient(Configuration(host=server.url)) as client,
            pytest.raises(ApiException) as failed,
        ):
            list(
                watch.Watch().stream(
                    CoreV1Api(client).list_namespaced_pod,
                    "default",
                    resource_version="1",
                    timeout_seconds=1,
                )
            )

    assert failed.value.status == 410
    assert "too old resource version: 1" in str(failed.value.reason)


def test_stopping_the_server_ends_open_watches(kube: KubeCluster, core: CoreV1Api) -> None:
    stopping = later(kube.server.stop)
    try:
        events = list(watch.Watch().stream(core.list_namespaced_pod, "orders", timeout_seconds=30))
    except Exception:  # the cut connection may surface as a protocol error
        events = []
    finally:
        stopping.join()
        kube.server.start()

    assert events == []
