"""Pytest fixtures: one ARM test server per session, an AKS world per test.

``arm_server`` starts the server once. ``aks`` resets it and the Kubernetes
emulator, seeds a zonal AKS cluster on both (scale-set instances on the ARM
side; Nodes named after the instances' computer names, labelled
``westeurope-1``..., with the instances' ``providerID`` and addresses on the
Kubernetes side), points ``DefaultAzureCredential`` at the server's
managed-identity endpoint and trusts its CA, and hands out an ``AksWorld``
with a ready-made ``aks`` target.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

from tests.support.arm.aks_seed import AksLayout, seed_aks
from tests.support.arm.server import ArmServer
from tests.support.arm.world import World
from tests.support.kube.catalogue import NODES
from tests.support.kube.cluster import node_object
from tests.support.kube.fixtures import KubeCluster

ZONE_ALIASES = {"a": "1", "b": "2", "c": "3"}
REGIONS = {"primary": "westeurope", "standby": "northeurope"}
CLEARED = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
)


@dataclass
class AksWorld:
    """One test's AKS cluster: the ARM side, the Kubernetes side, and a target for both."""

    server: ArmServer
    kube: KubeCluster
    layout: AksLayout

    @property
    def world(self) -> World:
        return self.server.world

    def target(self, **extra: Any) -> dict[str, Any]:
        """An ``aks`` target (as in targets.yaml) for this cluster."""
        layout = self.layout
        return {
            "provider": "aks",
            "tier": "staging",
            "kubernetes": self.kube.target_settings(),
            "azure": {
                "subscriptionId": layout.subscription,
                "resourceGroup": layout.resource_group,
                "cluster": layout.cluster,
                "resourceManager": self.server.url,
                "trafficManagerProfile": layout.traffic_profile,
            },
            "zones": dict(ZONE_ALIASES),
            "regions": dict(REGIONS),
            **extra,
        }

    def provider(self, **extra: Any) -> AksProvider:
        """A fresh, opened ``AksProvider`` on this cluster (close it when done)."""
        from drillkit.providers.aks import AksProvider
        from drillkit.spec.targets import Target

        provider = AksProvider("staging-aks", Target.model_validate(self.target(**extra)))
        provider.open()
        return provider

    def power(self, node: dict[str, Any]) -> str:
        """The power state of the instance behind one of ``layout.nodes``."""
        return self.world.power(node["providerID"].removeprefix("azure://"))


def add_aks_nodes(kube: KubeCluster, layout: AksLayout) -> None:
    """Register one Kubernetes Node per scale-set instance, as the AKS kubelet would."""
    for index, node in enumerate(layout.nodes):
        zone = f"{layout.location}-{node['zone']}"
        body = node_object(node["name"], zone, layout.location, index)
        labels = body["metadata"]["labels"]
        labels.pop("eks.amazonaws.com/nodegroup", None)
        labels.update({"kubernetes.azure.com/agentpool": node["pool"], "agentpool": node["pool"]})
        body["spec"]["providerID"] = node["providerID"]
        body["status"]["addresses"] = [
            {"type": "InternalIP", "address": node["address"]},
            {"type": "Hostname", "address": node["name"]},
        ]
        kube.store.create(NODES, "", body)


@pytest.fixture(scope="session")
def arm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArmServer]:
    with ArmServer(tmp_path_factory.mktemp("arm")) as server:
        yield server


@pytest.fixture
def arm_environment(arm_server: ArmServer, monkeypatch: pytest.MonkeyPatch) -> ArmServer:
    """This process's Azure credential chain and CA trust point at the test server."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in arm_server.identity_environment.items():
        monkeypatch.setenv(name, value)
    return arm_server


@pytest.fixture
def aks(arm_environment: ArmServer, kube: KubeCluster) -> Iterator[AksWorld]:
    """A zonal AKS cluster (pools ``system`` and ``orders``, one instance per zone each)."""
    arm_environment.reset()
    layout = seed_aks(arm_environment.world)
    add_aks_nodes(kube, layout)
    try:
        yield AksWorld(arm_environment, kube, layout)
    finally:
        arm_environment.reset()


def azure_environment(server: ArmServer) -> dict[str, str]:
    """The environment a ``drill`` subprocess needs to reach ``server`` (and nothing real)."""
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environment.update(server.identity_environment)
    return environment
