"""Kubernetes restores: backup-restore (Velero CLI), wait-for-recovery (watch), scale."""

from __future__ import annotations

from drillkit.errors import UserInputError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.providers.kubernetes.velero import Velero
from drillkit.providers.kubernetes.workloads import KubernetesWorkloads
from drillkit.spec.restores import BackupRestore, Scale, TrafficFailover, WaitForRecovery


@KubernetesProvider.restore("backup-restore")
class BackupRestoreHandler:
    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def impact(self, intent: BackupRestore) -> Impact:
        """Checked before anything changes: the CLI exists and the backup (or schedule) is there."""
        velero = Velero(self.provider)
        velero.run("version", "--client-only")
        if intent.backup.name is not None and velero.backup(intent.backup.name) is None:
            raise UserInputError(
                f"Velero backup `{intent.backup.name}` does not exist in namespace "
                f"`{self.provider.settings.velero_namespace}`",
                fix="`velero backup get` lists the backups; fix `backup.name` in the drill",
            )
        source = intent.backup.name or f"newest of schedule {intent.backup.schedule}"
        return Impact(
            tuple(Touched("namespace", ns, f"restore from {source}") for ns in intent.namespaces)
        )

    def run(self, intent: BackupRestore, ctx: StepContext) -> JsonDict:
        return Velero(self.provider).restore(
            backup=intent.backup.name,
            schedule=intent.backup.schedule,
            namespaces=list(intent.namespaces),
            ctx=ctx,
            timeout=min(intent.timeout.total_seconds(), _left(ctx)),
            existing_policy=intent.existing_resource_policy,
        )


@KubernetesProvider.restore("wait-for-recovery")
class WaitForRecoveryHandler:
    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def impact(self, intent: WaitForRecovery) -> Impact:
        return Impact()

    def run(self, intent: WaitForRecovery, ctx: StepContext) -> JsonDict:
        statuses = KubernetesWorkloads(self.provider).wait_ready(
            intent.namespace,
            [w.name for w in intent.workloads],
            dict(intent.selector),
            min(intent.timeout.total_seconds(), _left(ctx)),
            ctx,
        )
        return {"ready": {s.name: f"{s.ready}/{s.desired}" for s in statuses}}


@KubernetesProvider.restore("scale")
class ScaleHandler:
    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def impact(self, intent: Scale) -> Impact:
        name = f"{intent.namespace}/{intent.workload.name}"
        return Impact((Touched(intent.workload.kind.lower(), name, f"scale to {intent.replicas}"),))

    def run(self, intent: Scale, ctx: StepContext) -> JsonDict:
        before = KubernetesWorkloads(self.provider).scale(
            intent.namespace, intent.workload.kind, intent.workload.name, intent.replicas
        )
        return {"replicas": intent.replicas, "before": before}


@KubernetesProvider.restore("traffic-failover")
class TrafficFailoverHandler:
    """Traffic lives outside the cluster: Route 53 or Traffic Manager, in the cloud layers."""

    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def impact(self, intent: TrafficFailover) -> Impact:
        raise UserInputError(
            "traffic-failover needs a cloud layer (Route 53 on eks, Traffic Manager on aks)",
            fix="run this drill on an eks or aks target",
        )

    def run(self, intent: TrafficFailover, ctx: StepContext) -> JsonDict:
        self.impact(intent)
        return {}


def _left(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return remaining if remaining > 0 else 3600.0
