"""The aks provider's identity, registration and cluster state, against the ARM test server
and the Kubernetes emulator, through the real Azure SDK clients and credential chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drillkit.errors import PermanentError
from drillkit.providers.aks import AksProvider
from drillkit.providers.aks.operations import wait_all
from drillkit.providers.registry import PROVIDERS
from drillkit.spec.probes import WorkloadReadyProbe
from drillkit.spec.targets import Target
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


# -- long-running operations and errors ------------------------------------------------------


class ShortContext(ProbeContext):
    """A step with ``seconds`` left."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def remaining(self) -> float:
        return self.seconds


def deallocate(provider: AksProvider, aks: AksWorld) -> Any:
    node = aks.layout.nodes[0]
    vms = provider.azure.compute.virtual_machine_scale_set_vms
    return vms.begin_deallocate(
        aks.layout.node_resource_group, node["scaleSet"], node["instanceId"]
    )


def test_a_long_operation_is_waited_for_with_progress_in_the_journal(
    provider: AksProvider, aks: AksWorld
) -> None:
    aks.world.operation_polls = 15
    ctx = ShortContext(60)

    wait_all({"deallocate": deallocate(provider, aks)}, ctx, progress_seconds=0.0)

    assert aks.power(aks.layout.nodes[0]) == "deallocated"
    waiting = [data for event, data in ctx.notes if event == "azure-operations-waiting"]
    assert waiting and waiting[0]["pending"] == ["deallocate"]
    assert ctx.notes[-1][0] == "azure-operations-done"


def test_an_operation_past_the_step_deadline_is_given_up_and_said_so(
    provider: AksProvider, aks: AksWorld
) -> None:
    aks.world.operation_polls = 10**9
    ctx = ShortContext(0.5)

    with pytest.raises(PermanentError) as caught:
        wait_all({"deallocate it": deallocate(provider, aks)}, ctx)

    assert caught.value.message.startswith(
        "the step's deadline came before 1 Azure operation(s) finished"
    )
    assert ("azure-operations-unfinished", {"operations": ["deallocate it"]}) in ctx.notes


def test_a_token_for_another_audience_is_refused_and_the_fix_says_how_to_sign_in(
    aks: AksWorld,
) -> None:
    target = aks.target()
    target["azure"]["resourceManager"] = aks.server.url.replace("127.0.0.1", "localhost")
    provider = AksProvider("staging-aks", Target.model_validate(target))

    with pytest.raises(PermanentError) as caught:
        provider.cluster()

    assert caught.value.message.startswith("Azure answered 401")
    assert caught.value.fix is not None and "az login" in caught.value.fix


def test_no_credential_at_all_is_a_permanent_error_naming_the_chain(
    aks: AksWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    provider = AksProvider("staging-aks", Target.model_validate(aks.target()))

    with pytest.raises(PermanentError) as caught:
        provider.cluster()

    assert caught.value.message.startswith(
        "no Azure credential could read AKS cluster orders-staging/orders-aks: "
        "DefaultAzureCredential failed to retrieve a token"
    )
    assert caught.value.fix is not None and "DefaultAzureCredential" in caught.value.fix


def test_the_resource_manager_endpoint_must_be_https(aks: AksWorld) -> None:
    target = aks.target()
    target["azure"]["resourceManager"] = "http://management.azure.com"

    with pytest.raises(ValueError, match="resourceManager"):
        Target.model_validate(target)


def test_zone_aliases_may_name_the_azure_zone_or_the_node_label(aks: AksWorld) -> None:
    target = aks.target(zones={"a": "1", "b": "westeurope-2"})
    provider = AksProvider("staging-aks", Target.model_validate(target))

    assert (provider.arm_zone("a"), provider.arm_zone("b")) == ("1", "2")
