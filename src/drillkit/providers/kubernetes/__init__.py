"""The ``kubernetes`` provider: drills against any conformant cluster through a kubeconfig.

What EKS and AKS share lives here: pod, node (cordon and drain with the
Eviction API) and zone (cordon and a ``NoExecute`` taint) faults, namespace
loss with a Velero backup as its undo, Velero restores through the ``velero``
CLI, scaling and waiting for workloads, the probe sources (Secrets, External
Secrets, workloads, Velero backups, SelfSubjectAccessReview) and the Lease
lock. The ``kubernetes`` client is imported inside functions only.
"""

from __future__ import annotations

from typing import Any

from drillkit.errors import UserInputError
from drillkit.providers.base import JsonDict, Provider, TargetLock
from drillkit.providers.kubernetes.api_errors import call_api
from drillkit.providers.kubernetes.connection import Connection, connect
from drillkit.providers.registry import PROVIDERS
from drillkit.providers.sources import AccessSource, BackupSource, SecretSource, WorkloadSource
from drillkit.spec.targets import KubernetesSettings


class KubernetesProvider(Provider):
    name = "kubernetes"

    _connection: Connection | None = None
    _workloads: WorkloadSource | None = None

    @property
    def settings(self) -> KubernetesSettings:
        settings = self.target.kubernetes
        if settings is None:
            raise UserInputError(
                f"target `{self.target_name}` has no `kubernetes` section",
                fix="add `kubernetes: {kubeconfig: ..., context: ...}` to the target",
            )
        return settings

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = connect(self.settings, self.target_name)
        return self._connection

    @property
    def api_client(self) -> Any:
        return self.connection.api_client

    @property
    def host(self) -> str:
        return self.connection.host

    def api(self, what: str, call: Any, *, tolerate: tuple[int, ...] = ()) -> Any:
        """One API call with drillkit's error mapping (see ``api_errors``)."""
        return call_api(what, self.host, call, tolerate=tolerate)

    def open(self) -> None:
        from kubernetes import client

        self.api("read the server version", client.VersionApi(self.api_client).get_code)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.api_client.close()
            self._connection = None

    def identity(self) -> JsonDict:
        from kubernetes import client

        version = self.api("read the server version", client.VersionApi(self.api_client).get_code)
        system = self.api(
            "read namespace kube-system",
            lambda: client.CoreV1Api(self.api_client).read_namespace("kube-system"),
            tolerate=(403, 404),
        )
        return {
            "provider": self.name,
            "target": self.target_name,
            "kubernetes": {
                "server": self.host,
                "context": self.connection.context,
                "user": self.connection.user,
                "version": getattr(version, "git_version", None),
                "clusterUid": system.metadata.uid if system is not None else None,
            },
        }

    def acquire_lock(self, run_id: str, holder: JsonDict, ttl_seconds: float) -> TargetLock:
        from drillkit.providers.kubernetes_lease import LeaseLock

        return LeaseLock.acquire(
            self.api_client,
            target=self.target_name,
            namespace=self.settings.lock_namespace,
            name=f"drillkit-{self.target_name}"[:63],
            run_id=run_id,
            holder=holder,
            ttl_seconds=min(ttl_seconds, 300.0),
        )

    def secret_source(self, source: str) -> SecretSource | None:
        from drillkit.providers.kubernetes.secrets import KubernetesSecrets

        if source in ("target", "kubernetes", "external-secrets"):
            return KubernetesSecrets(self, external=source == "external-secrets")
        return None

    def workload_source(self) -> WorkloadSource | None:
        """One source for the provider's life: it remembers restart counts read before the
        fault, to count restarts since it."""
        from drillkit.providers.kubernetes.workloads import KubernetesWorkloads

        if self._workloads is None:
            self._workloads = KubernetesWorkloads(self)
        return self._workloads

    def backup_source(self) -> BackupSource | None:
        from drillkit.providers.kubernetes.velero import VeleroBackups

        return VeleroBackups(self)

    def access_source(self) -> AccessSource | None:
        from drillkit.providers.kubernetes.access import SelfSubjectAccess

        return SelfSubjectAccess(self)


PROVIDERS.register(KubernetesProvider)

# Handlers register themselves on KubernetesProvider when imported.
import drillkit.providers.kubernetes.chaostoolkit  # noqa: E402
import drillkit.providers.kubernetes.faults  # noqa: E402
import drillkit.providers.kubernetes.restores  # noqa: E402, F401
