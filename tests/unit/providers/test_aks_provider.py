"""The aks provider's identity, registration and cluster state, against the ARM test server
and the Kubernetes emulator, through the real Azure SDK clients and credential chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drillkit.providers.aks import AksProvider
from drillkit.providers.registry import PROVIDERS
from drillkit.spec.probes import WorkloadReadyProbe
from tests.support.arm.fixtures import AksWorld
from tests.support.arm.tokens import CALLER_OID, TENANT_ID
from tests.support.kube.cluster import seed_cluster
from tests.support.probe_context import ProbeContext


@pytest.fixture
def provider(aks: AksWorld) -> Iterator[AksProvider]:
    opened = aks.provider()
    try:
        yield opened
    finally:
        opened.close()


def test_the_aks_name_resolves_to_the_provider_and_it_inherits_the_kubernetes_kinds() -> None:
    assert PROVIDERS.get("aks") is AksProvider
    faults = AksProvider.kinds("faults")
    assert {"pod-kill", "namespace-loss", "node-failure", "zone-outage", "region-outage"} <= set(
        faults
    )
    assert "traffic-failover" in AksProvider.kinds("restores")


def test_identity_names_the_caller_the_cluster_and_its_kubernetes_side(
    provider: AksProvider, aks: AksWorld
) -> None:
    identity = provider.identity()

    assert identity["provider"] == "aks"
    azure = identity["azure"]
    assert azure["caller"]["objectId"] == CALLER_OID
    assert azure["caller"]["tenantId"] == TENANT_ID
    assert azure["clusterId"] == aks.layout.cluster_id
    assert azure["kubernetesVersion"] == "1.30.5"
    assert azure["location"] == "westeurope"
    assert azure["zones"] == ["1", "2", "3"]
    assert azure["nodeResourceGroup"] == aks.layout.node_resource_group
    assert (azure["provisioningState"], azure["powerState"]) == ("Succeeded", "Running")
    assert identity["kubernetes"]["server"] == aks.kube.url


def test_every_request_carried_a_token_the_server_issued(
    provider: AksProvider, aks: AksWorld
) -> None:
    provider.identity()

    assert aks.server.tokens.issued >= 1
    assert aks.server.calls("GET", "/managedClusters/orders-aks")


def test_a_stopped_cluster_fails_workload_ready_before_any_deployment_is_read(
    provider: AksProvider, aks: AksWorld
) -> None:
    seed_cluster(aks.kube.store, velero=False)
    probe = provider.probe_handler("workload-ready")
    assert probe is not None
    intent = WorkloadReadyProbe.model_validate(
        {"type": "workload-ready", "namespace": "orders", "workloads": ["orders-api"]}
    )
    assert probe.measure(intent, ProbeContext()).ok

    cluster = aks.world.get(aks.layout.cluster_id)
    assert cluster is not None
    cluster["properties"]["powerState"]["code"] = "Stopped"
    result = probe.measure(intent, ProbeContext())

    assert not result.ok
    assert "AKS cluster orders-aks is Succeeded and Stopped" in result.summary
