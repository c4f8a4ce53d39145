"""Where platform-backed probes read their facts: secrets, workloads, backups, permissions.

The ``secret``, ``workload-ready``, ``backup-age`` and ``access`` probes are
generic: they decide pass or fail the same way on every target. What differs
is where the facts come from (a Kubernetes Secret or AWS Secrets Manager, a
Deployment or a sandbox replica, a Velero Backup or a sandbox snapshot), so a
provider answers through these small source interfaces and the probe never
names a platform.

A secret source hands back a ``SecretReading``: a digest, a size and
timestamps, never the value, so no code above the source can leak it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.spec.digest import canonical_json
from drillkit.spec.probes import AccessCheck


class SecretMissing(PermanentError):
    """The secret, or the key asked for, does not exist (names only, never values)."""


@dataclass(frozen=True)
class SecretReading:
    """What a probe may know about a secret: never the value itself."""

    sha256: str
    size: int
    updated_at: datetime | None = None
    """When the value last changed (rotation), if the source knows; timezone-aware."""
    ready: bool | None = None
    """A sync status where one exists (External Secrets ``Ready``); None when not applicable."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Non-secret facts worth recording: version id, key names, replication status."""

    @classmethod
    def of_value(cls, value: bytes, **facts: Any) -> SecretReading:
        """Digest one value; the caller drops the value right after."""
        return cls(sha256=hashlib.sha256(value).hexdigest(), size=len(value), **facts)

    @classmethod
    def of_items(cls, items: Mapping[str, bytes], **facts: Any) -> SecretReading:
        """Digest a whole multi-key secret: sha256 of canonical JSON of key -> sha256(value).

        Stable across sources and key order, and still reveals nothing but digests.
        """
        digests = {key: hashlib.sha256(value).hexdigest() for key, value in items.items()}
        return cls(
            sha256=hashlib.sha256(canonical_json(digests)).hexdigest(),
            size=sum(len(value) for value in items.values()),
            **facts,
        )


class SecretSource(Protocol):
    def read_secret(
        self, name: str, key: str | None, namespace: str | None, ctx: StepContext
    ) -> SecretReading:
        """Digest the secret (or one key of it); raise ``SecretMissing`` when absent."""


@dataclass(frozen=True)
class WorkloadStatus:
    """One workload's replicas as the platform reports them."""

    name: str
    kind: str
    """``Deployment``, ``StatefulSet``, ``sandbox-service``..."""
    desired: int
    ready: int
    detail: str = ""
    pods: int | None = None
    """Pods (or processes) the workload selects now; None where the source has no such count."""
    pods_ready: int | None = None
    """Of those, how many report ready themselves (a pod's ``Ready`` condition)."""
    restarts_since_fault: int | None = None
    """Container restarts since the drill's first fault (None before it, or where the source
    cannot tell): a workload that is "ready" while crash-looping has not recovered."""


class WorkloadSource(Protocol):
    def workloads(
        self, namespace: str, names: list[str], selector: dict[str, str], ctx: StepContext
    ) -> list[WorkloadStatus]:
        """The named workloads (and those matching ``selector``) that exist in ``namespace``."""


@dataclass(frozen=True)
class BackupRecord:
    """One backup of a schedule, as its catalog records it."""

    name: str
    phase: str
    """``Completed`` counts; anything else (``Failed``, ``PartiallyFailed``, ``InProgress``) not."""
    started_at: datetime | None
    completed_at: datetime | None
    namespaces: tuple[str, ...] = ()
    """Namespaces included; empty means every namespace."""

    def covers(self, namespaces: list[str]) -> bool:
        return (
            not self.namespaces or "*" in self.namespaces or set(namespaces) <= set(self.namespaces)
        )


class BackupSource(Protocol):
    def backups(self, schedule: str, ctx: StepContext) -> list[BackupRecord]:
        """Every backup the schedule produced that the catalog still holds (any phase)."""


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""


class AccessSource(Protocol):
    def subject(self, impersonate_group: str | None) -> str:
        """Who is checked, for the report: ``user:alice`` or ``group:orders-oncall``."""

    def allowed(
        self, check: AccessCheck, impersonate_group: str | None, ctx: StepContext
    ) -> AccessDecision:
        """May the subject do ``check``? (The platform's own answer, e.g. a SubjectAccessReview.)"""
