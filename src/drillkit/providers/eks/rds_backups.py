"""The ``backup-age`` probe's AWS source for data outside the cluster: RDS point-in-time restore.

A schedule named ``rds:INSTANCE`` or ``rds-cluster:CLUSTER`` is an RDS
database whose continuous backup can restore to its ``LatestRestorableTime``:
that moment is the newest "backup" there is, and its age is the RPO an RDS
restore could meet right now. Any other schedule is a Velero schedule of the
cluster (the Kubernetes layer's source). Databases are looked up in the
target's region only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import BackupRecord, BackupSource

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider

INSTANCE, CLUSTER = "rds:", "rds-cluster:"


class RdsOrVeleroBackups:
    def __init__(self, provider: EksProvider, cluster_backups: BackupSource | None) -> None:
        self.provider = provider
        self.cluster_backups = cluster_backups

    def backups(self, schedule: str, ctx: StepContext) -> list[BackupRecord]:
        if schedule.startswith(INSTANCE):
            return self._restorable(schedule, schedule.removeprefix(INSTANCE), cluster=False)
        if schedule.startswith(CLUSTER):
            return self._restorable(schedule, schedule.removeprefix(CLUSTER), cluster=True)
        if self.cluster_backups is None:
            return []
        return self.cluster_backups.backups(schedule, ctx)

    def _restorable(self, schedule: str, name: str, *, cluster: bool) -> list[BackupRecord]:
        rds = self.provider.client("rds")
        missing = ("DBClusterNotFoundFault", "DBInstanceNotFound", "DBInstanceNotFoundFault")
        if cluster:
            answer = self.provider.call(
                f"describe RDS cluster {name}",
                lambda: rds.describe_db_clusters(DBClusterIdentifier=name),
                tolerate=missing,
            )
            found = (answer or {}).get("DBClusters") or []
        else:
            answer = self.provider.call(
                f"describe RDS instance {name}",
                lambda: rds.describe_db_instances(DBInstanceIdentifier=name),
                tolerate=missing,
            )
            found = (answer or {}).get("DBInstances") or []
        if not found:
            raise PermanentError(
                f"no RDS {'cluster' if cluster else 'instance'} `{name}` in {self.provider.region}",
                fix="check the probe's schedule (`rds:INSTANCE` or `rds-cluster:CLUSTER`)",
            )
        restorable = found[0].get("LatestRestorableTime")
        if restorable is None:
            return []  # automated backups are off: nothing to restore from
        return [
            BackupRecord(
                name=f"{schedule}@latest-restorable",
                phase="Completed",
                started_at=restorable,
                completed_at=restorable,
            )
        ]
