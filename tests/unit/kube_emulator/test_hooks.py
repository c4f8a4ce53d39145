"""Test hooks: failures, races and latency staged between requests; a server gone and back."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client import ApiException, CoreV1Api

from tests.support.kube.catalogue import NAMESPACES
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.store import ResourceStore


def test_fail_next_answers_matching_requests_with_a_status(kube: KubeCluster) -> None:
    core = CoreV1Api(kube.client())
    kube.server.fail_next(
        503, count=2, method="GET", path="/api/v1/namespaces", message="etcd is down"
    )

    failures = []
    for _ in range(3):
        try:
            core.list_namespace()
        except ApiException as error:
            failures.append((error.status, json.loads(error.body)["message"]))

    assert failures == [(503, "etcd is down"), (503, "etcd is down")]


def test_before_next_changes_the_store_between_two_requests(kube: KubeCluster) -> None:
    core = CoreV1Api(kube.client())

    def race(store: ResourceStore) -> None:
        store.edit(
            NAMESPACES, "", "default", lambda ns: ns["metadata"]["labels"].update(raced="yes")
        )

    kube.server.before_next(race, method="GET")

    assert core.read_namespace("default").metadata.labels["raced"] == "yes"


def test_slow_down_makes_a_client_with_a_short_timeout_give_up(kube: KubeCluster) -> None:
    core = CoreV1Api(kube.client())
    kube.server.slow_down(0.5, path="/api/v1/namespaces")

    with pytest.raises(urllib3.exceptions.HTTPError, match="Read timed out"):
        core.list_namespace(_request_timeout=0.1)  # the client retries, each attempt times out
    kube.server.clear_hooks()

    assert core.list_namespace(_request_timeout=5).items


def test_a_stopped_server_refuses_connections_and_comes_back_on_the_same_port(
    kube: KubeCluster,
) -> None:
    core = CoreV1Api(kube.client())
    url = kube.url
    kube.server.stop()
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            core.list_namespace(_request_timeout=1, _preload_content=True)
    finally:
        kube.server.start()

    assert kube.url == url and core.list_namespace().items
