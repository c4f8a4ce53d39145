"""The sandbox's backup catalog: snapshots taken on a schedule, kept with their timestamps.

Like a Velero schedule, every backup has a name, a phase and start/completion
times; the snapshot data sits beside its ``backup.json`` in
``backups/<schedule>/<backup>/``. The catalog is what the ``backup-age``
probe reads (through ``backups``) and what a sandbox restore picks from.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import BackupRecord
from drillkit.sandbox.layout import (
    SandboxLayout,
    iso_utc,
    read_json,
    write_json_atomically,
)
from drillkit.timeparse import parse_utc

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")
RECORD_FILE = "backup.json"


class SandboxBackupCatalog:
    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout

    def folder(self, schedule: str, name: str) -> Path:
        """Where one backup's record and snapshot live."""
        for part in (schedule, name):
            if not _NAME.match(part):
                raise PermanentError(
                    f"`{part}` is not a valid sandbox backup or schedule name",
                    fix="use letters, digits, `-` and `.`",
                )
        return self.layout.backups / schedule / name

    def record(self, schedule: str, backup: BackupRecord) -> Path:
        """Write (or update, e.g. InProgress -> Completed) one backup's record."""
        folder = self.folder(schedule, backup.name)
        write_json_atomically(
            folder / RECORD_FILE,
            {
                "name": backup.name,
                "schedule": schedule,
                "phase": backup.phase,
                "startedAt": iso_utc(backup.started_at),
                "completedAt": iso_utc(backup.completed_at),
                "namespaces": list(backup.namespaces),
            },
        )
        return folder

    def backups(self, schedule: str, ctx: StepContext | None = None) -> list[BackupRecord]:
        """Every backup of ``schedule``, oldest first (by start time, then name)."""
        folder = self.layout.backups / schedule
        if not _NAME.match(schedule) or not folder.is_dir():
            return []
        records = [self._read(path) for path in sorted(folder.glob(f"*/{RECORD_FILE}"))]
        return sorted(records, key=lambda r: (r.started_at or _EPOCH, r.name))

    def newest_completed(self, schedule: str, namespaces: list[str]) -> BackupRecord | None:
        completed = [
            record
            for record in self.backups(schedule)
            if record.phase == "Completed" and record.completed_at and record.covers(namespaces)
        ]
        return max(completed, key=lambda r: r.completed_at or _EPOCH, default=None)

    @staticmethod
    def _read(path: Path) -> BackupRecord:
        try:
            document = read_json(path)
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot read sandbox backup record: {exc}") from None
        if not isinstance(document, dict):
            raise PermanentError(f"sandbox backup record {path} is not a JSON object")
        return BackupRecord(
            name=str(document.get("name") or path.parent.name),
            phase=str(document.get("phase", "Unknown")),
            started_at=parse_utc(document.get("startedAt")),
            completed_at=parse_utc(document.get("completedAt")),
            namespaces=tuple(str(n) for n in document.get("namespaces") or ()),
        )


_EPOCH = datetime.fromtimestamp(0, UTC)
