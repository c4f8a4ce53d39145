"""Scheduled backups of the orders namespace, like a Velero schedule.

Every ``backupInterval`` seconds the active region's store is snapshotted
(SQLite online backup) together with the namespace's secrets into
``backups/<schedule>/<name>/``; the catalog records it ``InProgress`` first and
``Completed`` once every file is in place. Old backups beyond ``KEEP`` are
pruned. Restoring one is ``restore_backup``: data into every region's store
(the standby resynchronises from it), secrets back into the store.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from drillkit.providers.sources import BackupRecord
from drillkit.sandbox import store
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.topology import NAMESPACE, REGIONS, SCHEDULE

KEEP = 20


def take_backup(layout: SandboxLayout, region: str, now: datetime | None = None) -> BackupRecord:
    """Snapshot ``region``'s store and the namespace's secrets; returns the completed record."""
    catalog = SandboxBackupCatalog(layout)
    started = now or datetime.now(UTC)
    name = f"{SCHEDULE}-{started.strftime('%Y%m%d%H%M%S')}{started.microsecond // 1000:03d}"
    catalog.record(SCHEDULE, BackupRecord(name, "InProgress", started, None, (NAMESPACE,)))
    folder = catalog.folder(SCHEDULE, name)
    try:
        store.snapshot(store.store_path(layout.root, region), folder / "orders.db")
        secrets = layout.secrets / NAMESPACE
        if secrets.is_dir():
            shutil.copytree(secrets, folder / "secrets", dirs_exist_ok=True)
    except Exception:
        catalog.record(SCHEDULE, BackupRecord(name, "Failed", started, None, (NAMESPACE,)))
        raise
    record = BackupRecord(name, "Completed", started, datetime.now(UTC), (NAMESPACE,))
    catalog.record(SCHEDULE, record)
    _prune(catalog)
    return record


def restore_backup(layout: SandboxLayout, name: str) -> None:
    """Put the namespace's data and secrets back from backup ``name`` (replicas are down)."""
    folder = SandboxBackupCatalog(layout).folder(SCHEDULE, name)
    snapshot = folder / "orders.db"
    if not snapshot.exists():
        raise FileNotFoundError(f"backup {name} has no data snapshot at {snapshot}")
    for region in REGIONS:
        target = store.store_path(layout.root, region)
        store.remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(snapshot, target)
    secrets = folder / "secrets"
    if secrets.is_dir():
        destination = layout.secrets / NAMESPACE
        layout.secrets.mkdir(parents=True, exist_ok=True)
        layout.secrets.chmod(0o700)
        shutil.copytree(secrets, destination, dirs_exist_ok=True)


def _prune(catalog: SandboxBackupCatalog) -> None:
    backups = catalog.backups(SCHEDULE)
    for old in backups[: max(0, len(backups) - KEEP)]:
        shutil.rmtree(catalog.folder(SCHEDULE, old.name), ignore_errors=True)


def backup_folder(layout: SandboxLayout, name: str) -> Path:
    return SandboxBackupCatalog(layout).folder(SCHEDULE, name)
