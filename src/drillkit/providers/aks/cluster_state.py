"""The AKS cluster's own state as a precondition of ``workload-ready``.

A Deployment's ready count is what its controller last wrote; on a cluster
that is stopped, failed or being upgraded that count says little. So before
the Kubernetes workloads are read, the managed cluster's provisioning and
power state are: anything but ``Succeeded`` and ``Running`` fails the probe
with the state named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import WorkloadSource, WorkloadStatus

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

HEALTHY = ("Succeeded", "Running")


class ClusterStateWorkloads:
    """A ``WorkloadSource`` that checks the cluster, then asks the Kubernetes one."""

    def __init__(self, provider: AksProvider, inner: WorkloadSource) -> None:
        self.provider = provider
        self.inner = inner

    def workloads(
        self, namespace: str, names: list[str], selector: dict[str, str], ctx: StepContext
    ) -> list[WorkloadStatus]:
        cluster = self.provider.cluster(fresh=True)
        provisioning = str(cluster.provisioning_state or "unknown")
        power = _code(cluster)
        if (provisioning, power) != HEALTHY:
            raise PermanentError(
                f"AKS cluster {cluster.name} is {provisioning} and {power} "
                "(needs Succeeded and Running)",
                fix="start the cluster (`az aks start`) or wait for its operation to finish",
            )
        return self.inner.workloads(namespace, names, selector, ctx)


def _code(cluster: object) -> str:
    code = getattr(getattr(cluster, "power_state", None), "code", None)
    return "unknown" if code is None else str(getattr(code, "value", code))
