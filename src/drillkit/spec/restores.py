"""Restore intents: how a drill recovers, said once for every provider.

``backup-restore`` is Velero on Kubernetes and a snapshot restore in the
sandbox; ``traffic-failover`` is a Route 53 or Traffic Manager change or a
local DNS record swap. Runbooks (``runbooks/*.yaml``) are ordered lists of
these intents with the human instructions each one renders to.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from drillkit.spec.base import LabelKey, Name, SpecModel
from drillkit.spec.duration import Duration


class BackupSource(SpecModel):
    """The backup to restore from: a named backup or the newest of a schedule."""

    name: str | None = None
    schedule: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BackupSource:
        if (self.name is None) == (self.schedule is None):
            raise ValueError("give exactly one of `name` or `schedule`")
        return self


class BackupRestore(SpecModel):
    """Restore namespaces from a backup and wait until the restore completes."""

    type: Literal["backup-restore"]
    backup: BackupSource
    namespaces: list[Name] = Field(min_length=1)
    velero_namespace: Name = "velero"
    existing_resource_policy: Literal["none", "update"] = "none"
    timeout: Duration = timedelta(minutes=15)


class TrafficFailover(SpecModel):
    """Send traffic to another region (DNS failover, weight or priority change)."""

    type: Literal["traffic-failover"]
    to: str = Field(default="standby", min_length=1)
    """Region alias from the target (``standby``) or a region name."""
    record: str | None = None
    """The DNS name or traffic profile that moves; the target's default when omitted."""
    method: Literal["auto", "failover", "weighted", "priority"] = "auto"


class WorkloadRef(SpecModel):
    """A workload by kind and name."""

    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    name: Name


class Scale(SpecModel):
    """Set the replicas of a workload (scale up the standby, for example)."""

    type: Literal["scale"]
    namespace: Name
    workload: WorkloadRef
    replicas: int = Field(ge=0, le=10_000)


class WaitForRecovery(SpecModel):
    """Wait until workloads report their desired replicas ready."""

    type: Literal["wait-for-recovery"]
    namespace: Name
    workloads: list[WorkloadRef] = Field(default_factory=list)
    selector: dict[LabelKey, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(minutes=10)


RestoreSpec = Annotated[
    BackupRestore | TrafficFailover | Scale | WaitForRecovery,
    Field(discriminator="type"),
]
RESTORE_KINDS: tuple[str, ...] = (
    "backup-restore",
    "traffic-failover",
    "scale",
    "wait-for-recovery",
)
