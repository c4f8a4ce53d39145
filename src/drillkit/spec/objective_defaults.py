"""Probes that measure an objective default their limit to it, so a drill states it once.

A ``tls`` probe without ``minDaysLeft`` fails below the drill's
``minCertificateDays``; a ``backup-age`` probe without ``maxAge`` fails when the
newest backup is older than the drill's RPO (restoring it could not meet the
RPO), and so does the backup a ``namespace-loss`` fault requires. Filled in at
plan time, so the plan shows the limit that will apply.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from drillkit.spec.drill import Objectives
from drillkit.spec.faults import NamespaceLoss
from drillkit.spec.probes import BackupAgeProbe, TlsProbe

ModelT = TypeVar("ModelT", bound=BaseModel)


def with_objective_defaults(intent: ModelT, objectives: Objectives) -> ModelT:
    """``intent`` with its limit taken from ``objectives`` where the probe sets none."""
    if (
        isinstance(intent, TlsProbe)
        and intent.min_days_left is None
        and objectives.min_certificate_days is not None
    ):
        return intent.model_copy(update={"min_days_left": objectives.min_certificate_days})
    if isinstance(intent, BackupAgeProbe) and intent.max_age is None and objectives.rpo is not None:
        return intent.model_copy(update={"max_age": objectives.rpo})
    if (
        isinstance(intent, NamespaceLoss)
        and intent.max_backup_age is None
        and objectives.rpo is not None
    ):
        return intent.model_copy(update={"max_backup_age": objectives.rpo})
    return intent
