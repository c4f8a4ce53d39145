"""The ``backup-age`` probe: the newest completed backup is young enough to restore from.

Only ``Completed`` backups that include every namespace asked for count. The
age is measured from the backup's completion time; ``maxAge`` defaults to the
drill's RPO objective (the engine fills it in), since a backup older than the
RPO cannot meet it. Failed backups newer than the one used are reported: a
schedule that keeps failing is the finding, even while an older backup
still passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drillkit.errors import DrillError
from drillkit.probes.registry import GENERIC_PROBES
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.providers.sources import BackupRecord, BackupSource
from drillkit.spec.duration import format_duration
from drillkit.spec.probes import BackupAgeProbe


class BackupAgeHandler:
    def __init__(self, provider: Any, source: BackupSource) -> None:
        self.provider = provider
        self.source = source

    def measure(self, intent: BackupAgeProbe, ctx: StepContext) -> ProbeResult:
        try:
            backups = self.source.backups(intent.schedule, ctx)
        except DrillError as exc:
            return ProbeResult(False, f"cannot list backups of `{intent.schedule}`: {exc.message}")
        namespaces = list(intent.namespaces)
        usable = [
            b for b in backups if b.phase == "Completed" and b.completed_at and b.covers(namespaces)
        ]
        scope = f" covering {', '.join(namespaces)}" if namespaces else ""
        if not usable:
            return ProbeResult(
                False,
                f"no completed backup of schedule `{intent.schedule}`{scope} "
                f"({len(backups)} backups, {_phases(backups)})",
                {"schedule": intent.schedule, "backups": len(backups)},
            )
        newest = max(usable, key=_completed)
        age = datetime.now(UTC) - _completed(newest)
        failed_since = [b.name for b in backups if b.phase != "Completed" and _after(b, newest)]
        values: dict[str, Any] = {
            "schedule": intent.schedule,
            "backup": newest.name,
            "completedAt": _completed(newest).isoformat().replace("+00:00", "Z"),
            "ageSeconds": round(age.total_seconds(), 3),
            "failedSince": failed_since,
        }
        shown = format_duration(timedelta(seconds=round(age.total_seconds())))
        note = f"; {len(failed_since)} newer backups did not complete" if failed_since else ""
        if intent.max_age is not None:
            values["maxAgeSeconds"] = intent.max_age.total_seconds()
            if age > intent.max_age:
                return ProbeResult(
                    False,
                    f"newest completed backup `{newest.name}` is {shown} old, older than "
                    f"maxAge {format_duration(intent.max_age)}{note}",
                    values,
                )
        return ProbeResult(
            True, f"newest completed backup `{newest.name}` is {shown} old{note}", values
        )


def _completed(backup: BackupRecord) -> datetime:
    assert backup.completed_at is not None
    return backup.completed_at


def _after(backup: BackupRecord, reference: BackupRecord) -> bool:
    started = backup.started_at or backup.completed_at
    return started is not None and started > _completed(reference)


def _phases(backups: list[BackupRecord]) -> str:
    counts: dict[str, int] = {}
    for backup in backups:
        counts[backup.phase] = counts.get(backup.phase, 0) + 1
    return ", ".join(f"{n} {phase}" for phase, n in sorted(counts.items())) or "none"


def _create(provider: Any) -> BackupAgeHandler | None:
    source = provider.backup_source()
    return BackupAgeHandler(provider, source) if source is not None else None


GENERIC_PROBES.register("backup-age", _create)
