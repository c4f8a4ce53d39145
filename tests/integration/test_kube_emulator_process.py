"""The emulator served from its own process, as scale checks run it, with a large-cluster seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import config
from kubernetes.client import CoreV1Api

from tests.support.kube.scale import EmulatorProcess

pytestmark = pytest.mark.slow


def test_a_scale_seeded_emulator_process_serves_pages_and_selectors(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "kubeconfig", nodes=30, pods=420) as emulator:
        client = config.new_client_from_config(config_file=str(tmp_path / "kubeconfig"))
        core = CoreV1Api(client)
        names, token = [], None
        while True:
            page = (
                core.list_pod_for_all_namespaces(limit=100, _continue=token)
                if token
                else (core.list_pod_for_all_namespaces(limit=100))
            )
            names += [f"{p.metadata.namespace}/{p.metadata.name}" for p in page.items]
            token = page.metadata._continue
            if not token:
                break
        one_service = core.list_pod_for_all_namespaces(label_selector="app=svc-00003")
        on_a_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-b-2")
        nodes = core.list_node(label_selector="topology.kubernetes.io/zone=us-east-1c")
        client.close()

    assert emulator.url.startswith("http://127.0.0.1:")
    assert len(names) == len(set(names)) == 420 and names == sorted(names)
    assert len(one_service.items) == 50
    assert {p.status.phase for p in one_service.items} == {"Running"}
    assert {p.metadata.owner_references[0].kind for p in one_service.items} == {"ReplicaSet"}
    assert len(on_a_node.items) == 14 and {p.spec.node_name for p in on_a_node.items} == {
        "node-b-2"
    }
    assert len(nodes.items) == 10
