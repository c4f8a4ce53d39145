"""Velero through its own CLI, as operators run it: ``velero ... -o json`` via subprocess.

No Velero Go client exists for Python, and the CLI is what a runbook tells a
human to type, so a drill exercises the same path. Every call gets the
target's kubeconfig, context and Velero namespace. A restore counts only when
its phase is ``Completed`` *and* it has zero errors; ``Completed`` with
warnings is reported as such. ``describe --details`` and the log summary are
journaled (cut short) so the evidence shows what Velero said.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drillkit.errors import PermanentError, TransientError, UserInputError
from drillkit.providers.base import JsonDict, StepContext
from drillkit.providers.sources import BackupRecord
from drillkit.timeparse import parse_utc

TERMINAL = {"Completed", "PartiallyFailed", "Failed", "FailedValidation"}
CALL_SECONDS = 60.0
POLL_SECONDS = 2.0
EVIDENCE_LIMIT = 8000


@dataclass(frozen=True)
class Backup:
    name: str
    phase: str
    started_at: datetime | None
    completed_at: datetime | None
    namespaces: tuple[str, ...]
    schedule: str | None

    @property
    def age_seconds(self) -> float:
        moment = self.completed_at or self.started_at
        return (datetime.now(UTC) - moment).total_seconds() if moment else float("inf")


class Velero:
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    # --- Calls --------------------------------------------------------------------------------

    def run(self, *arguments: str, timeout: float = CALL_SECONDS) -> str:
        binary = shutil.which("velero")
        if binary is None:
            raise UserInputError(
                "the `velero` CLI is not on PATH; drillkit runs Velero restores through it",
                fix="install the velero CLI matching the cluster's Velero server "
                "(https://velero.io/docs/main/basic-install/)",
            )
        command = [binary, *arguments, *self._connection_flags()]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise TransientError(
                f"`velero {' '.join(arguments)}` did not answer in {timeout:g}s"
            ) from None
        if done.returncode != 0:
            text = (done.stderr or done.stdout).strip().splitlines()
            detail = text[-1] if text else f"exit code {done.returncode}"
            raise PermanentError(
                f"`velero {' '.join(arguments)}` failed: {detail[:240]}",
                fix="run the same command by hand to see Velero's full answer",
            )
        return done.stdout

    def json(self, *arguments: str) -> Any:
        output = self.run(*arguments, "-o", "json")
        try:
            return json.loads(output)
        except ValueError:
            raise PermanentError(
                f"`velero {' '.join(arguments)} -o json` did not print JSON: {output[:120]!r}"
            ) from None

    def _connection_flags(self) -> list[str]:
        settings = self.provider.settings
        flags = ["-n", settings.velero_namespace]
        if settings.kubeconfig:
            # Go flags do not expand ``~``; the target may well say ``~/.kube/config``.
            flags += ["--kubeconfig", os.path.expanduser(settings.kubeconfig)]
        if settings.context:
            flags += ["--kubecontext", settings.context]
        return flags

    # --- Backups ------------------------------------------------------------------------------

    def backups(self) -> list[Backup]:
        document = self.json("backup", "get")
        items = (
            document.get("items", [])
            if str(document.get("kind", "")).endswith("List")
            else [document]
        )
        return [_backup(item) for item in items if isinstance(item, dict)]

    def backup(self, name: str) -> Backup | None:
        return next((b for b in self.backups() if b.name == name), None)

    # --- Restores -----------------------------------------------------------------------------

    def restore(
        self,
        *,
        backup: str | None,
        schedule: str | None,
        namespaces: list[str],
        ctx: StepContext,
        timeout: float = 900.0,
        existing_policy: str = "none",
    ) -> JsonDict:
        """Create a restore and wait for it; raise unless Completed with zero errors."""
        name = f"drillkit-{ctx.run_id.lower()}-{int(time.time())}"[:63]
        source = ["--from-backup", backup] if backup else ["--from-schedule", str(schedule)]
        arguments = [
            "restore",
            "create",
            name,
            *source,
            "--include-namespaces",
            ",".join(namespaces),
        ]
        if existing_policy != "none":
            arguments += ["--existing-resource-policy", existing_policy]
        self.run(*arguments)
        ctx.note("velero-restore-created", restore=name, source=source[1])
        deadline = time.monotonic() + timeout
        restore: Any = {}
        phase = ""
        while time.monotonic() < deadline and not ctx.cancelled.is_set():
            restore = self.json("restore", "get", name)
            status = restore.get("status") or {}
            if status.get("phase") != phase:
                phase = str(status.get("phase") or "New")
                ctx.note(
                    "velero-restore-phase",
                    restore=name,
                    phase=phase,
                    progress=status.get("progress"),
                )
            if phase in TERMINAL:
                break
            ctx.cancelled.wait(POLL_SECONDS)
        status = restore.get("status") or {}
        errors, warnings = int(status.get("errors") or 0), int(status.get("warnings") or 0)
        self._keep_evidence(name, ctx)
        result = {
            "restore": name,
            "phase": phase,
            "errors": errors,
            "warnings": warnings,
            "backup": (restore.get("spec") or {}).get("backupName"),
        }
        used = self.backup(str(result["backup"])) if result["backup"] else None
        if used is not None and used.started_at is not None:
            result["backupStartedAt"] = used.started_at.isoformat().replace("+00:00", "Z")
        if phase not in TERMINAL:
            raise TransientError(
                f"velero restore {name} is still {phase or 'New'} after {timeout:g}s"
            )
        if phase != "Completed" or errors:
            raise PermanentError(
                f"velero restore {name} ended {phase} with {errors} errors and {warnings} warnings",
                fix=f"`velero restore describe {name} --details` and `velero restore logs {name}`",
            )
        return result

    def _keep_evidence(self, name: str, ctx: StepContext) -> None:
        try:
            details = self.run("restore", "describe", name, "--details")
        except PermanentError as exc:
            details = exc.message
        ctx.note("velero-restore-describe", restore=name, text=details[:EVIDENCE_LIMIT])
        try:
            logs = self.run("restore", "logs", name)
        except PermanentError as exc:
            logs = exc.message
        lines = logs.splitlines()
        problems = [line for line in lines if "level=error" in line or "level=warning" in line]
        ctx.note("velero-restore-logs", restore=name, lines=len(lines), problems=problems[:50])


class VeleroBackups:
    """The ``backup-age`` probe's source: Velero Backups labelled with their schedule."""

    def __init__(self, provider: Any) -> None:
        self.velero = Velero(provider)

    def backups(self, schedule: str, ctx: StepContext) -> list[BackupRecord]:
        return [
            BackupRecord(b.name, b.phase, b.started_at, b.completed_at, b.namespaces)
            for b in self.velero.backups()
            if b.schedule == schedule
        ]


def newest_backup_of(provider: Any, namespace: str) -> Backup | None:
    completed = [
        b
        for b in Velero(provider).backups()
        if b.phase == "Completed"
        and (not b.namespaces or "*" in b.namespaces or namespace in b.namespaces)
    ]
    return max(
        completed,
        key=lambda b: b.completed_at or b.started_at or datetime.min.replace(tzinfo=UTC),
        default=None,
    )


def _backup(item: dict[str, Any]) -> Backup:
    metadata = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    return Backup(
        name=str(metadata.get("name")),
        phase=str(status.get("phase") or "New"),
        started_at=parse_utc(status.get("startTimestamp")),
        completed_at=parse_utc(status.get("completionTimestamp")),
        namespaces=tuple(str(n) for n in spec.get("includedNamespaces") or ()),
        schedule=(metadata.get("labels") or {}).get("velero.io/schedule-name"),
    )
