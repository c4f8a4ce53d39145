"""Platform-backed probe steps in real runs: objectives fill the probes' limits, and the
measured facts (never secret values) land in the journal and the summary."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions, RunResult
from drillkit.providers.sources import BackupRecord
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.spec.probes import BackupAgeProbe
from drillkit.spec.repository import DrillRepository
from tests.support.lab import TARGET, Lab
from tests.support.test_provider import TestProvider

PASSWORD = b"correct-horse-battery-staple-42"
STEPS = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
- name: secrets-resolve
  probe: {type: secret, name: orders-db, key: password, namespace: orders}
- name: backup-fresh
  probe: {type: backup-age, schedule: orders-hourly, namespaces: [orders]}
"""

MEASURE = """\
rto:
  probe: {type: http, url: "${orders_url}/readyz"}
  interval: 50ms
  stableFor: 2
rpo:
  canary:
    type: rpo-canary
    interval: 100ms
    http: {writeUrl: "${orders_url}/orders", readUrl: "${orders_url}/orders"}
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    lab = Lab.create(tmp_path / "lab", sandbox=True, recoverSeconds=0.1)
    lab.add_drill("platform-probes", STEPS, objectives="rto: 2m, rpo: 1h", measure=MEASURE)
    layout = SandboxLayout(lab.root / "sandbox")
    SandboxSecretStore(layout).put("orders-db", {"password": PASSWORD}, namespace="orders")
    return lab


def backup_taken(lab: Lab, ago: timedelta) -> None:
    done = datetime.now(UTC) - ago
    SandboxBackupCatalog(SandboxLayout(lab.root / "sandbox")).record(
        "orders-hourly", BackupRecord("b1", "Completed", done, done, ("orders",))
    )


def run(lab: Lab) -> tuple[Runner, RunResult]:
    repo = DrillRepository.discover(lab.root)
    target = repo.target(TARGET)
    plan = make_plan(repo.load_named("platform-probes"), TARGET, target)
    runner = Runner(
        plan,
        TestProvider(TARGET, target),
        RunOptions(output_dir=lab.root / "reports", undo_grace_seconds=2.0),
        SilentProgress(),
    )
    return runner, runner.run()


def test_the_plan_shows_the_backup_limit_taken_from_the_rpo_objective(lab: Lab) -> None:
    repo = DrillRepository.discover(lab.root)
    plan = make_plan(repo.load_named("platform-probes"), TARGET, repo.target(TARGET))

    intent = plan.steps[3].actions[0].intent

    assert isinstance(intent, BackupAgeProbe)
    assert intent.max_age == timedelta(hours=1)


def test_a_fresh_backup_and_resolving_secret_pass_and_only_digests_are_journaled(
    lab: Lab,
) -> None:
    backup_taken(lab, timedelta(minutes=20))

    _, result = run(lab)

    assert result.summary.verdict == "passed", result.summary.errors
    events = read_journal(result.run_dir / "journal.jsonl").events
    secret = next(e for e in events if e.type == "probe-result" and e.step == "secrets-resolve")
    assert secret.data["values"]["sha256"] == hashlib.sha256(PASSWORD).hexdigest()
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_bytes(), path


def test_a_backup_older_than_the_rpo_fails_the_drill_and_still_undoes(lab: Lab) -> None:
    backup_taken(lab, timedelta(hours=3))

    _, result = run(lab)

    assert result.summary.verdict == "failed"
    backup_step = next(s for s in result.summary.steps if s.name == "backup-fresh")
    assert backup_step.status == "failed"
    assert "older than maxAge 1h" in backup_step.detail
    assert result.summary.faults_left == []
    assert lab.world["applied"] == {}
