"""A Velero server in miniature: Backups, Schedules and Restores processed through the store.

A Backup goes ``InProgress`` (``startTimestamp``, ``expiration`` from its TTL)
and, ``backup_seconds`` later, ``Completed`` with ``completionTimestamp`` and
progress; what it saw of its ``includedNamespaces`` is kept in
``BackupStorage``, which lives with the store (object storage outlives the
Velero pod), so a seeded Completed backup can be restored too. A Schedule is
``Enabled`` and, when ``schedule_every`` is set, makes a Backup named
``SCHEDULE-YYYYMMDDHHMMSS`` that often (``run_schedule`` makes one now). A
Restore resolves ``spec.backupName``, or ``spec.scheduleName`` to the newest
completed backup of that schedule (and fills ``spec.backupName`` in, as
Velero does); it recreates the namespaces and their objects (existing ones
are skipped with a warning, or overwritten with ``existingResourcePolicy:
update``; objects with an owner are left to their controllers; restored
objects carry the ``velero.io/backup-name`` and ``velero.io/restore-name``
labels) and ends ``Completed``, or as a test configured: ``PartiallyFailed``
with errors, or ``Failed``. Its log lines are kept in ``status.logs`` (an
emulator-only field) for the test ``velero restore logs``.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.support.kube.catalogue import (
    BACKUP_STORAGE_LOCATIONS,
    BACKUPS,
    CONFIGMAPS,
    DEPLOYMENTS,
    EXTERNAL_SECRETS,
    NAMESPACES,
    PDBS,
    PODS,
    REPLICASETS,
    RESTORES,
    SCHEDULES,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STATEFULSETS,
)
from tests.support.kube.errors import ApiError, JsonObject
from tests.support.kube.resources import ResourceType
from tests.support.kube.store import ResourceStore, now_text

BACKED_UP: tuple[ResourceType, ...] = (
    SECRETS,
    CONFIGMAPS,
    SERVICEACCOUNTS,
    SERVICES,
    PDBS,
    DEPLOYMENTS,
    STATEFULSETS,
    REPLICASETS,
    PODS,
    EXTERNAL_SECRETS,
)
"""In Velero's restore priority order, after the namespace itself."""
SCHEDULE_LABEL = "velero.io/schedule-name"
STORAGE_LABEL = "velero.io/storage-location"
_DONE = ("Completed", "PartiallyFailed")


@dataclass(frozen=True)
class Snapshot:
    """What one backup holds: the namespaces and their objects as they were."""

    backup: str
    namespaces: tuple[str, ...]
    objects: tuple[tuple[ResourceType, JsonObject], ...]
    taken_at: str

    @property
    def total_items(self) -> int:
        return len(self.namespaces) + len(self.objects)


class BackupStorage:
    """The backup storage location's content: snapshots by backup name, kept with the store."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, store: ResourceStore) -> BackupStorage:
        with store.lock:
            found = store.attachments.get("velero-backup-storage")
            if found is None:
                found = store.attachments["velero-backup-storage"] = cls()
            assert isinstance(found, BackupStorage)
            return found

    def put(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.snapshots[snapshot.backup] = snapshot

    def get(self, backup: str) -> Snapshot | None:
        with self._lock:
            return self.snapshots.get(backup)


def take_snapshot(
    store: ResourceStore, backup: str, included: list[str], excluded: list[str]
) -> Snapshot:
    """Copy every backed-up object of the included namespaces (``*`` or none: all of them)."""
    with store.lock:
        names = [ns["metadata"]["name"] for ns in store.list(NAMESPACES)]
        if included and "*" not in included:
            names = [n for n in names if n in included]
        names = [n for n in names if n not in excluded]
        objects: list[tuple[ResourceType, JsonObject]] = []
        for kind in BACKED_UP:
            for namespace in names:
                objects.extend((kind, obj) for obj in store.list(kind, namespace))
        return Snapshot(backup, tuple(names), tuple(objects), now_text())


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ttl(text: str | None) -> timedelta:
    """A Go duration like ``720h0m0s`` (Velero's default TTL)."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in text or "720h0m0s":
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
    return timedelta(seconds=total)


@dataclass
class VeleroSettings:
    """How the miniature Velero behaves; tests change it (even while it runs)."""

    namespace: str = "velero"
    backup_seconds: float = 0.05
    restore_seconds: float = 0.05
    schedule_every: float | None = None
    """Seconds between scheduled backups; ``None``: schedules only run through ``run_schedule``."""
    backup_phase: str = "Completed"
    restore_phase: str = "Completed"
    """``Completed``, ``PartiallyFailed`` (with ``restore_errors``) or ``Failed``."""
    restore_errors: int = 0
    failure_reason: str = "restore failed: error restoring resources (injected by the test)"
    skip_kinds: set[str] = field(default_factory=set)
    """Kinds a restore leaves out (``Secret``: a restore that loses secrets)."""


def backup_object(
    name: str, namespace: str, spec: JsonObject, schedule: str | None = None
) -> JsonObject:
    labels = {STORAGE_LABEL: spec.get("storageLocation", "default")}
    if schedule:
        labels[SCHEDULE_LABEL] = schedule
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": copy.deepcopy(spec),
    }


class VeleroController:
    """Processes Backups, Schedules and Restores in ``settings.namespace``."""

    def __init__(self, store: ResourceStore, settings: VeleroSettings | None = None) -> None:
        self.store = store
        self.settings = settings or VeleroSettings()
        self.storage = BackupStorage.of(store)
        self._started: dict[str, float] = {}
        self._last_scheduled: dict[str, float] = {}

    def due(self) -> bool:
        return bool(self._started) or self.settings.schedule_every is not None

    def reconcile(self) -> None:
        now = time.monotonic()
        namespace = self.settings.namespace
        for backup in self.store.list(BACKUPS, namespace):
            self._guarded(self._backup, backup, now)
        for schedule in self.store.list(SCHEDULES, namespace):
            self._guarded(self._schedule, schedule, now)
        for restore in self.store.list(RESTORES, namespace):
            self._guarded(self._restore, restore, now)
        live = {
            o["metadata"]["uid"] for k in (BACKUPS, RESTORES) for o in self.store.list(k, namespace)
        }
        self._started = {k: v for k, v in self._started.items() if k in live}

    @staticmethod
    def _guarded(step: Callable[..., object], *arguments: object) -> None:
        with contextlib.suppress(ApiError):  # a concurrent change: the next pass sees it
            step(*arguments)

    def _status(self, kind: ResourceType, obj: JsonObject, **changes: object) -> None:
        def change(current: JsonObject) -> None:
            current.setdefault("status", {}).update(copy.deepcopy(changes))

        self.store.update(kind, obj["metadata"]["namespace"], obj["metadata"]["name"], change)

    # -- backups ---------------------------------------------------------------------------

    def _backup(self, backup: JsonObject, now: float) -> None:
        status, spec = backup.get("status") or {}, backup.get("spec") or {}
        phase, uid = status.get("phase", "New"), backup["metadata"]["uid"]
        if phase == "New":
            location = spec.get("storageLocation", "default")
            locations = self.store.list(BACKUP_STORAGE_LOCATIONS, self.settings.namespace)
            if locations and not any(b["metadata"]["name"] == location for b in locations):
                self._status(
                    BACKUPS,
                    backup,
                    phase="FailedValidation",
                    validationErrors=[
                        f"an existing backup storage location wasn't specified at backup creation time and the default \"{location}\" wasn't found"
                    ],
                )
                return
            started = datetime.now(UTC)
            self._started[uid] = now
            self._status(
                BACKUPS,
                backup,
                phase="InProgress",
                version=1,
                formatVersion="1.1.0",
                startTimestamp=_timestamp(started),
                expiration=_timestamp(started + _ttl(spec.get("ttl"))),
            )
        elif phase == "InProgress":
            began = self._started.setdefault(uid, now)
            if now - began < self.settings.backup_seconds:
                return
            snapshot = take_snapshot(
                self.store,
                backup["metadata"]["name"],
                list(spec.get("includedNamespaces") or []),
                list(spec.get("excludedNamespaces") or []),
            )
            self.storage.put(snapshot)
            self._started.pop(uid, None)
            outcome = self.settings.backup_phase
            fields: JsonObject = {
                "phase": outcome,
                "completionTimestamp": now_text(),
                "progress": {
                    "totalItems": snapshot.total_items,
                    "itemsBackedUp": snapshot.total_items,
                },
            }
            if outcome == "Failed":
                fields["failureReason"] = "backup failed (injected by the test)"
            self._status(BACKUPS, backup, **fields)

    # -- schedules -------------------------------------------------------------------------

    def _schedule(self, schedule: JsonObject, now: float) -> None:
        status = schedule.get("status") or {}
        if status.get("phase") != "Enabled" and not (schedule.get("spec") or {}).get("paused"):
            self._status(SCHEDULES, schedule, phase="Enabled")
        every = self.settings.schedule_every
        if every is None or (schedule.get("spec") or {}).get("paused"):
            return
        name = schedule["metadata"]["name"]
        last = self._last_scheduled.setdefault(name, now)
        if now - last >= every:
            self._last_scheduled[name] = now
            self.run_schedule(name)

    def run_schedule(self, name: str) -> str:
        """Create the Backup a Schedule would create now (``velero backup create --from-schedule``)."""
        namespace = self.settings.namespace
        schedule = self.store.get(SCHEDULES, namespace, name)
        stamp = datetime.now(UTC)
        backup_name = f"{name}-{stamp.strftime('%Y%m%d%H%M%S')}"
        while self.store.entry(BACKUPS, namespace, backup_name) is not None:
            stamp += timedelta(seconds=1)
            backup_name = f"{name}-{stamp.strftime('%Y%m%d%H%M%S')}"
        template = (schedule.get("spec") or {}).get("template") or {}
        self.store.create(BACKUPS, namespace, backup_object(backup_name, namespace, template, name))
        self._status(SCHEDULES, schedule, phase="Enabled", lastBackup=now_text())
        return backup_name

    # -- restores --------------------------------------------------------------------------

    def _newest_backup_of(self, schedule: str) -> JsonObject | None:
        backups = [
            b
            for b in self.store.list(
                BACKUPS, self.settings.namespace, labels=f"{SCHEDULE_LABEL}={schedule}"
            )
            if (b.get("status") or {}).get("phase") in _DONE
        ]
        return max(
            backups,
            key=lambda b: (b["status"].get("completionTimestamp", ""), b["metadata"]["name"]),
            default=None,
        )

    def _restore(self, restore: JsonObject, now: float) -> None:
        status, spec = restore.get("status") or {}, restore.get("spec") or {}
        phase, uid = status.get("phase", "New"), restore["metadata"]["uid"]
        if phase == "New":
            self._start_restore(restore, spec, uid, now)
        elif phase == "InProgress":
            began = self._started.setdefault(uid, now)
            if now - began >= self.settings.restore_seconds:
                self._started.pop(uid, None)
                self._finish_restore(restore, spec)

    def _start_restore(self, restore: JsonObject, spec: JsonObject, uid: str, now: float) -> None:
        backup_name = spec.get("backupName")
        if not backup_name and spec.get("scheduleName"):
            newest = self._newest_backup_of(spec["scheduleName"])
            if newest is None:
                self._status(
                    RESTORES,
                    restore,
                    phase="FailedValidation",
                    validationErrors=["No backups found for schedule"],
                )
                return
            backup_name = newest["metadata"]["name"]

            def name_it(obj: JsonObject) -> None:
                obj["spec"]["backupName"] = backup_name

            self.store.update(
                RESTORES, restore["metadata"]["namespace"], restore["metadata"]["name"], name_it
            )
        backup = self.store.find(BACKUPS, self.settings.namespace, str(backup_name))
        if backup is None or self.storage.get(str(backup_name)) is None:
            self._status(
                RESTORES,
                restore,
                phase="FailedValidation",
                validationErrors=[
                    f'Error retrieving backup: backups.velero.io "{backup_name}" not found'
                ],
            )
            return
        if (backup.get("status") or {}).get("phase") not in _DONE:
            self._status(
                RESTORES,
                restore,
                phase="FailedValidation",
                validationErrors=[
                    "backup is not ready to be restored, current phase is "
                    f"{(backup.get('status') or {}).get('phase', 'New')}"
                ],
            )
            return
        self._started[uid] = now
        self._status(RESTORES, restore, phase="InProgress", startTimestamp=now_text())

    def _finish_restore(self, restore: JsonObject, spec: JsonObject) -> None:
        settings = self.settings
        if settings.restore_phase == "Failed":
            failed = _RestoreLog(
                f"{restore['metadata']['namespace']}/{restore['metadata']['name']}"
            )
            failed.error(settings.failure_reason)
            self._status(
                RESTORES,
                restore,
                phase="Failed",
                failureReason=settings.failure_reason,
                completionTimestamp=now_text(),
                logs=failed.lines,
            )
            return
        backup_name = str(
            self.store.get(RESTORES, restore["metadata"]["namespace"], restore["metadata"]["name"])[
                "spec"
            ]["backupName"]
        )
        snapshot = self.storage.get(backup_name)
        assert snapshot is not None
        included = [n for n in spec.get("includedNamespaces") or ["*"] if n]
        excluded = set(spec.get("excludedNamespaces") or [])
        mapping = spec.get("namespaceMapping") or {}
        namespaces = [
            n
            for n in snapshot.namespaces
            if ("*" in included or n in included) and n not in excluded
        ]
        labels = {
            "velero.io/backup-name": backup_name,
            "velero.io/restore-name": restore["metadata"]["name"],
        }
        name = restore["metadata"]["name"]
        log = _RestoreLog(f"{restore['metadata']['namespace']}/{name}")
        log.info(f"starting restore of backup {backup_name}")
        restored = warnings = 0
        for source in namespaces:
            target = mapping.get(source, source)
            if self.store.entry(NAMESPACES, "", target) is None:
                self.store.create(
                    NAMESPACES, "", {"metadata": {"name": target, "labels": dict(labels)}}
                )
                log.info(f"Restoring cluster level resource 'namespaces' {target}")
                restored += 1
        update = spec.get("existingResourcePolicy") == "update"
        for kind, original in snapshot.objects:
            source = original["metadata"]["namespace"]
            if source not in namespaces or kind.kind in settings.skip_kinds:
                continue
            if original["metadata"].get("ownerReferences"):
                continue  # their controllers make them again
            target, item = mapping.get(source, source), original["metadata"]["name"]
            fresh = _restorable(kind, original, target, labels)
            if self.store.entry(kind, target, item) is not None:
                if update:
                    self.store.update(kind, target, item, _overwrite(fresh), keep_status=True)
                    log.info(f"{kind.qualified} {target}/{item} updated from the backup")
                    restored += 1
                else:
                    log.warning(
                        f'could not restore, {kind.kind} "{item}" already exists. '
                        "Warning: the in-cluster version is different than the backed-up version"
                    )
                    warnings += 1
                continue
            self.store.create(kind, target, fresh)
            log.info(f"Restoring resource '{kind.qualified}' into namespace '{target}': {item}")
            restored += 1
        outcome = settings.restore_phase
        errors = settings.restore_errors if outcome == "PartiallyFailed" else 0
        for number in range(errors):
            log.error(f"error restoring item {number + 1} (injected by the test)")
        log.info(
            f"restore completed: {restored} items restored, {warnings} warnings, {errors} errors"
        )
        self._status(
            RESTORES,
            restore,
            phase=outcome,
            completionTimestamp=now_text(),
            warnings=warnings,
            errors=errors,
            progress={"totalItems": snapshot.total_items, "itemsRestored": restored},
            logs=log.lines,
        )


class _RestoreLog:
    """Velero's restore log lines; kept in ``status.logs`` (an emulator-only field).

    Real Velero uploads them to object storage for ``velero restore logs``;
    the test ``velero`` CLI runs in another process and reads them here instead.
    """

    def __init__(self, restore: str) -> None:
        self.restore = restore
        self.lines: list[str] = []

    def _add(self, level: str, message: str) -> None:
        self.lines.append(
            f'time="{now_text()}" level={level} msg="{message}" '
            f'logSource="pkg/restore/restore.go" restore={self.restore}'
        )

    def info(self, message: str) -> None:
        self._add("info", message)

    def warning(self, message: str) -> None:
        self._add("warning", message)

    def error(self, message: str) -> None:
        self._add("error", message)


def _overwrite(fresh: JsonObject) -> Callable[[JsonObject], JsonObject]:
    """Velero's ``existingResourcePolicy: update``: the backed-up spec and labels win."""

    def change(current: JsonObject) -> JsonObject:
        meta = current["metadata"]
        meta["labels"] = {**(meta.get("labels") or {}), **(fresh["metadata"].get("labels") or {})}
        body = {k: v for k, v in fresh.items() if k not in ("metadata", "status")}
        return {**current, **body, "metadata": meta}

    return change


def _restorable(
    kind: ResourceType, original: JsonObject, namespace: str, labels: dict[str, str]
) -> JsonObject:
    """An object as Velero restores it: server-set metadata and status dropped, labels added."""
    obj = copy.deepcopy(original)
    meta = obj["metadata"]
    for key in (
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "deletionTimestamp",
        "ownerReferences",
    ):
        meta.pop(key, None)
    meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    obj.pop("status", None)
    if kind is SERVICES:
        obj.get("spec", {}).pop("clusterIP", None)
        obj.get("spec", {}).pop("clusterIPs", None)
    if kind is PODS:
        obj.get("spec", {}).pop("nodeName", None)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return obj
