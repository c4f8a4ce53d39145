"""Sandbox restores: backup-restore, traffic-failover, scale, wait-for-recovery."""

from __future__ import annotations

import time

from drillkit.errors import PermanentError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.local import LocalProvider
from drillkit.providers.local.faults import restore_newest
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.desired_state import change_desired, read_desired
from drillkit.sandbox.layout import SandboxLayout, iso_utc
from drillkit.sandbox.topology import NAMESPACE, REGIONS, SCHEDULE, WORKLOAD
from drillkit.sandbox.workload_status import SandboxWorkloads
from drillkit.spec.restores import BackupRestore, Scale, TrafficFailover, WaitForRecovery

_POLL_SECONDS = 0.1


class _Handler:
    def __init__(self, provider: LocalProvider) -> None:
        self.provider = provider

    @property
    def layout(self) -> SandboxLayout:
        return self.provider.layout


@LocalProvider.restore("backup-restore")
class BackupRestoreHandler(_Handler):
    """Restore the namespace from a backup (newest of the schedule, or a named one)."""

    def impact(self, intent: BackupRestore) -> Impact:
        return Impact(tuple(Touched("namespace", ns, "restore") for ns in intent.namespaces))

    def run(self, intent: BackupRestore, ctx: StepContext) -> JsonDict:
        if intent.namespaces != [NAMESPACE]:
            raise PermanentError(
                f"the sandbox backs up only namespace `{NAMESPACE}`",
                fix=f"restore `namespaces: [{NAMESPACE}]`",
            )
        schedule = intent.backup.schedule
        if schedule is not None and schedule != SCHEDULE:
            raise PermanentError(
                f"the sandbox has no backup schedule `{schedule}`", fix=f"use `{SCHEDULE}`"
            )
        if read_desired(self.layout).namespace_present:
            return {"restored": None, "note": f"namespace `{NAMESPACE}` exists; kept as it is"}
        name = restore_newest(self.layout, name=intent.backup.name)
        record = next(
            b for b in SandboxBackupCatalog(self.layout).backups(SCHEDULE) if b.name == name
        )
        ctx.note("backup-restored", backup=name)
        return {
            "backup": name,
            "backupStartedAt": iso_utc(record.started_at),
            "backupCompletedAt": iso_utc(record.completed_at),
        }


@LocalProvider.restore("traffic-failover")
class TrafficFailoverHandler(_Handler):
    """Point the sandbox's DNS name at another region (a record change, as in Route 53)."""

    def impact(self, intent: TrafficFailover) -> Impact:
        return Impact((Touched("dns-record", "orders.sandbox.drillkit.test", f"to {intent.to}"),))

    def run(self, intent: TrafficFailover, ctx: StepContext) -> JsonDict:
        region = self.provider.target.region(intent.to)
        if region not in REGIONS:
            raise PermanentError(
                f"the sandbox has no region `{intent.to}`", fix=f"use one of {', '.join(REGIONS)}"
            )
        with change_desired(self.layout) as desired:
            before, desired.active_region = desired.active_region, region
        return {"from": before, "to": region}


@LocalProvider.restore("scale")
class ScaleHandler(_Handler):
    """Set the replicas of every region that is up (in a region failover: the survivor)."""

    def impact(self, intent: Scale) -> Impact:
        return Impact((Touched("workload", f"{intent.namespace}/{intent.workload.name}", "scale"),))

    def run(self, intent: Scale, ctx: StepContext) -> JsonDict:
        if (intent.namespace, intent.workload.name) != (NAMESPACE, WORKLOAD):
            raise PermanentError(
                f"the sandbox has no workload `{intent.namespace}/{intent.workload.name}`",
                fix=f"scale `{NAMESPACE}/{WORKLOAD}`",
            )
        with change_desired(self.layout) as desired:
            for region in REGIONS:
                if region not in desired.down_regions:
                    desired.replicas[region] = intent.replicas
            replicas = dict(desired.replicas)
        return {"replicas": replicas}


@LocalProvider.restore("wait-for-recovery")
class WaitForRecoveryHandler(_Handler):
    """Wait until every named workload has all its desired replicas ready."""

    def impact(self, intent: WaitForRecovery) -> Impact:
        return Impact()

    def run(self, intent: WaitForRecovery, ctx: StepContext) -> JsonDict:
        names = [w.name for w in intent.workloads] or [WORKLOAD]
        source = SandboxWorkloads(self.layout)
        started = time.monotonic()
        limit = intent.timeout.total_seconds()
        remaining = ctx.remaining()
        if remaining > 0:
            limit = min(limit, remaining)
        shown = "nothing yet"
        while not ctx.cancelled.is_set():
            found = {
                w.name: w
                for w in source.workloads(intent.namespace, names, dict(intent.selector), ctx)
            }
            statuses = [found.get(name) for name in names]
            shown = ", ".join(
                f"{n} {s.ready}/{s.desired}" if s else f"{n} missing"
                for n, s in zip(names, statuses, strict=True)
            )
            if all(s is not None and s.desired > 0 and s.ready >= s.desired for s in statuses):
                return {"ready": shown, "waitedSeconds": round(time.monotonic() - started, 3)}
            if time.monotonic() - started >= limit:
                raise PermanentError(
                    f"workloads not ready within {limit:g}s: {shown}",
                    fix="check `drill sandbox status` and the replica logs",
                )
            ctx.cancelled.wait(_POLL_SECONDS)
        return {"cancelled": True, "ready": shown}
