"""The backup-age probe over the sandbox backup catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from drillkit.providers.base import ProbeResult
from drillkit.providers.sources import BackupRecord
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.spec.probes import BackupAgeProbe
from tests.support.probe_context import ProbeContext
from tests.support.sandbox_provider import sandbox_provider
from tests.support.test_provider import TestProvider


def backup(
    name: str, minutes_ago: float, phase: str = "Completed", *namespaces: str
) -> BackupRecord:
    done = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return BackupRecord(name, phase, done - timedelta(seconds=30), done, namespaces)


def measure(provider: TestProvider, **fields: object) -> ProbeResult:
    intent = BackupAgeProbe.model_validate({"type": "backup-age", **fields})
    handler = provider.probe_handler("backup-age")
    assert handler is not None
    result: ProbeResult = handler.measure(intent, ProbeContext())
    return result


def test_the_newest_completed_backup_gives_the_age(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    catalog = SandboxBackupCatalog(layout)
    catalog.record("orders-hourly", backup("b1", 125, "Completed", "orders"))
    catalog.record("orders-hourly", backup("b2", 65, "Completed", "orders"))

    result = measure(provider, schedule="orders-hourly", namespaces=["orders"], maxAge="90m")

    assert result.ok, result.summary
    assert result.values["backup"] == "b2"
    assert 65 * 60 - 5 < result.values["ageSeconds"] < 65 * 60 + 5
    assert "`b2` is 1h5m" in result.summary


def test_too_old_fails_and_newer_failed_backups_are_reported(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    catalog = SandboxBackupCatalog(layout)
    catalog.record("orders-hourly", backup("b1", 180, "Completed"))
    catalog.record("orders-hourly", backup("b2", 120, "Failed"))
    catalog.record("orders-hourly", backup("b3", 60, "PartiallyFailed"))

    result = measure(provider, schedule="orders-hourly", maxAge="1h")

    assert not result.ok
    assert (
        "`b1` is 3h old, older than maxAge 1h; 2 newer backups did not complete" in result.summary
    )
    assert result.values["failedSince"] == ["b2", "b3"]


def test_backups_of_other_namespaces_do_not_count(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxBackupCatalog(layout).record("nightly", backup("b1", 5, "Completed", "payments"))

    result = measure(provider, schedule="nightly", namespaces=["orders"])

    assert not result.ok
    assert "no completed backup of schedule `nightly` covering orders (1 backups, 1 Completed)" in (
        result.summary
    )


def test_no_backups_at_all(tmp_path: Path) -> None:
    provider, _ = sandbox_provider(tmp_path)

    result = measure(provider, schedule="orders-hourly")

    assert not result.ok and "(0 backups, none)" in result.summary


def test_in_progress_backups_are_recorded_then_completed(tmp_path: Path) -> None:
    _, layout = sandbox_provider(tmp_path)
    now = datetime.now(UTC)
    catalog = SandboxBackupCatalog(layout)
    catalog.record("s", BackupRecord("b1", "InProgress", now, None, ("orders",)))
    assert catalog.newest_completed("s", ["orders"]) is None

    catalog.record("s", BackupRecord("b1", "Completed", now, now, ("orders",)))

    newest = catalog.newest_completed("s", ["orders"])
    assert newest is not None and newest.name == "b1"
