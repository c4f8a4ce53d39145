"""The ``aks`` provider: the Kubernetes layer of an AKS cluster plus its Azure layer.

An ``aks`` target has a ``kubernetes`` section (how to reach the API server)
and an ``azure`` section (subscription, resource group, cluster). Everything
the Kubernetes provider does is inherited (``inherits_handlers``); this
package adds what only Azure can do: node failure by powering off,
deallocating or restarting scale-set instances, zone outage by deallocating
a zone's instances (autoscaler paused) or denying its addresses in the node
subnet's network security group, region outage and traffic failover through
Traffic Manager, Key Vault secrets, and the cluster's own state. Azure SDKs
are imported inside functions only, so ``drill --help`` never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drillkit.errors import UserInputError
from drillkit.providers.aks.azure_errors import call_azure
from drillkit.providers.aks.clients import AzureClients
from drillkit.providers.base import JsonDict
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.providers.registry import PROVIDERS
from drillkit.providers.sources import SecretSource, WorkloadSource
from drillkit.spec.targets import AzureSettings

T = TypeVar("T")


class AksProvider(KubernetesProvider):
    name = "aks"
    inherits_handlers = True

    _azure: AzureClients | None = None
    _cluster: Any = None
    _certificate_places: dict[str, tuple[str, str] | None] | None = None

    @property
    def certificate_places(self) -> dict[str, tuple[str, str] | None]:
        """Served certificate fingerprint -> (Key Vault, certificate name), or None when no
        vault of the target holds it; kept for the provider's life (see ``keyvault_tls``)."""
        if self._certificate_places is None:
            self._certificate_places = {}
        return self._certificate_places

    @property
    def azure_settings(self) -> AzureSettings:
        settings = self.target.azure
        if settings is None:
            raise UserInputError(
                f"target `{self.target_name}` has no `azure` section",
                fix="add `azure: {subscriptionId: ..., resourceGroup: ..., cluster: ...}`",
            )
        return settings

    @property
    def azure(self) -> AzureClients:
        if self._azure is None:
            self._azure = AzureClients(self.azure_settings)
        return self._azure

    def call(self, what: str, call: Callable[[], T], *, tolerate: tuple[int, ...] = ()) -> T | None:
        """One Azure SDK call with drillkit's error mapping (see ``azure_errors``)."""
        return call_azure(what, call, tolerate=tolerate)

    def cluster(self, *, fresh: bool = False) -> Any:
        """The managed cluster resource (read once per provider unless ``fresh``)."""
        if self._cluster is None or fresh:
            settings = self.azure_settings
            self._cluster = self.call(
                f"read AKS cluster {settings.resource_group}/{settings.cluster}",
                lambda: self.azure.containers.managed_clusters.get(
                    settings.resource_group, settings.cluster
                ),
            )
        return self._cluster

    def arm_zone(self, alias: str) -> str:
        """The Azure zone (``1``) for a zone alias; the target may map an alias to the zone
        (``"1"``) or to its Kubernetes label (``westeurope-1``)."""
        return self.target.zone(alias).rsplit("-", 1)[-1]

    def open(self) -> None:
        super().open()
        self.cluster()

    def close(self) -> None:
        super().close()
        if self._azure is not None:
            self._azure.close()
            self._azure = None
        self._cluster = None

    def identity(self) -> JsonDict:
        found = super().identity()
        cluster = self.cluster(fresh=True)
        zones = sorted(
            {z for pool in cluster.agent_pool_profiles or [] for z in pool.availability_zones or []}
        )
        found["azure"] = {
            "caller": self.azure.caller(),
            "subscriptionId": self.azure_settings.subscription_id,
            "resourceManager": self.azure.endpoint,
            "clusterId": cluster.id,
            "kubernetesVersion": cluster.current_kubernetes_version or cluster.kubernetes_version,
            "location": cluster.location,
            "zones": zones,
            "nodeResourceGroup": cluster.node_resource_group,
            "provisioningState": cluster.provisioning_state,
            "powerState": _power_code(cluster),
        }
        return found

    def secret_source(self, source: str) -> SecretSource | None:
        if source == "azure-key-vault":
            from drillkit.providers.aks.keyvault_secrets import KeyVaultSecrets

            return KeyVaultSecrets(self)
        return super().secret_source(source)

    def workload_source(self) -> WorkloadSource | None:
        """The Kubernetes workloads, preceded by the cluster itself: a stopped or failed AKS
        cluster is reported as not ready before any Deployment is read."""
        from drillkit.providers.aks.cluster_state import ClusterStateWorkloads

        inner = super().workload_source()
        return ClusterStateWorkloads(self, inner) if inner is not None else None


def _power_code(cluster: Any) -> str | None:
    state = getattr(cluster, "power_state", None)
    code = getattr(state, "code", None)
    return None if code is None else str(getattr(code, "value", code))


PROVIDERS.register(AksProvider)

# Handlers register themselves on AksProvider when imported.
import drillkit.providers.aks.keyvault_tls  # noqa: E402
import drillkit.providers.aks.node_faults  # noqa: E402
import drillkit.providers.aks.traffic  # noqa: E402
import drillkit.providers.aks.zone_faults  # noqa: E402, F401
