"""RPO measured end to end through the engine with the database canary, on SQLite and PostgreSQL.

The drill injects a fault in the test provider's world, then its restore
deletes canary rows straight in the database, the way restoring an older
backup (or replaying a log with a hole) would. Nothing is simulated on the
drillkit side: the generic ``rpo-canary`` handler writes real rows, the
engine journals every acknowledged COMMIT, and the summary is computed from
the journal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
import sqlalchemy as sa

from drillkit.engine.journal import read_journal
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions, RunResult
from drillkit.probes.canary import RpoCanaryHandler
from drillkit.providers.base import StepContext
from drillkit.providers.registry import PROVIDERS
from drillkit.spec.probes import RpoCanaryProbe
from drillkit.spec.repository import DrillRepository
from drillkit.spec.restores import RESTORE_KINDS
from tests.support import test_provider
from tests.support.lab import TARGET, Lab
from tests.support.postgres import PostgresServer
from tests.support.probe_context import ProbeContext

TABLE = "orders_canary"


@dataclass
class Restore:
    """What the drill's restore does to the canary table, relative to the fault's start."""

    owner_url: str = ""
    lose_from: float = 0.5
    """Rows written from this many seconds before the fault on are lost..."""
    lose_until: float | None = None
    """...up to this many seconds before the fault (None: up to now, like a backup)."""
    revoke_from: str | None = None
    """A role whose grants on the table the restore does not bring back."""


class DatabaseCanaryProvider(test_provider.TestProvider):
    """The test provider without a canary of its own, so the generic database canary is used."""

    name = "test-database-canary"
    restore_plan = Restore()


class _RestoreFromBackup(test_provider._Restore):
    def run(self, intent: Any, ctx: StepContext) -> dict[str, Any]:
        plan = DatabaseCanaryProvider.restore_plan
        applied = test_provider.read_world(self.provider.world)["applied"]
        fault_at = min(float(entry["at"]) for entry in applied.values())
        table = sa.table(TABLE, sa.column("written_at", sa.DateTime(timezone=True)))
        lost = table.c.written_at >= _utc(fault_at - plan.lose_from)
        if plan.lose_until is not None:
            lost = lost & (table.c.written_at < _utc(fault_at - plan.lose_until))
        engine = sa.create_engine(_driver(plan.owner_url))
        try:
            with engine.begin() as connection:
                connection.execute(sa.delete(table).where(lost))
                if plan.revoke_from is not None:
                    connection.execute(sa.text(f"REVOKE ALL ON {TABLE} FROM {plan.revoke_from}"))
        finally:
            engine.dispose()
        return super().run(intent, ctx)


DatabaseCanaryProvider.faults.register("zone-outage", test_provider._Fault)
for _kind in RESTORE_KINDS:
    DatabaseCanaryProvider.restores.register(_kind, _RestoreFromBackup)
DatabaseCanaryProvider.probes.register("http", test_provider._Probe)
PROVIDERS.register(DatabaseCanaryProvider)

STEPS = """\
- name: soak
  wait: 1200ms
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: restore-orders-db
  restore: {type: wait-for-recovery, namespace: orders}
"""
MEASURE = f"""\
rto:
  probe: {{type: http, url: "${{orders_url}}/readyz"}}
  interval: 50ms
  stableFor: 2
rpo:
  canary:
    type: rpo-canary
    interval: 100ms
    database: {{url: "${{orders_db}}", table: {TABLE}}}
"""


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Setup:
    lab: Lab
    canary_url: str
    owner_url: str
    password: str | None

    def rows(self, run_id: str) -> list[int]:
        engine = sa.create_engine(_driver(self.owner_url))
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    sa.text(f"SELECT seq FROM {TABLE} WHERE run_id = :r ORDER BY seq"),
                    {"r": run_id},
                )
                return [int(seq) for seq in found.scalars()]
        finally:
            engine.dispose()

    def run(self, restore: Restore) -> RunResult:
        DatabaseCanaryProvider.restore_plan = restore
        repo = DrillRepository.discover(self.lab.root)
        target = repo.target(TARGET)
        provider = PROVIDERS.get(target.provider)(TARGET, target)
        assert isinstance(provider.canary_handler("rpo-canary"), RpoCanaryHandler)
        return Runner(
            make_plan(repo.load_named("loss"), TARGET, target),
            provider,
            RunOptions(output_dir=self.lab.root / "reports", undo_grace_seconds=2.0),
            SilentProgress(),
        ).run()


def _lab(root: Path, canary_url: str) -> Lab:
    lab = Lab.create(root, recoverSeconds=0.1)
    targets = lab.root / "targets.yaml"
    targets.write_text(
        targets.read_text()
        .replace("provider: test", f"provider: {DatabaseCanaryProvider.name}")
        .replace("orders_url:", f"orders_db: '{canary_url}', orders_url:")
    )
    lab.add_drill("loss", STEPS, objectives="rto: 2m, rpo: 5s", measure=MEASURE)
    return lab


@pytest.fixture(params=["sqlite", "postgres"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(DatabaseCanaryProvider, "restore_plan", Restore())
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'orders.db'}"
        yield Setup(_lab(tmp_path / "lab", url), url, url, None)
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    database = f"orders_{uuid4().hex[:8]}"
    owner = sa.create_engine(_driver(postgres.url()), isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {database}"))
    # As docs/probes.md advises: no password in targets.yaml; libpq reads PGPASSWORD.
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    canary_url = postgres.url(database, password="")
    lab = _lab(tmp_path / "lab", canary_url)
    yield Setup(lab, canary_url, postgres.url(database), postgres.password)
    with owner.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {database} WITH (FORCE)"))
    owner.dispose()


def _seed_an_earlier_run(setup: Setup) -> None:
    """Rows of another run, written (and the table created) by the owner."""
    handler = RpoCanaryHandler(provider=None)
    canary = RpoCanaryProbe.model_validate(
        {"type": "rpo-canary", "database": {"url": setup.owner_url, "table": TABLE}}
    )
    for seq in (1, 2, 3):
        handler.write(canary, "earlier-run", seq, ProbeContext())
    handler.close()


def test_a_restore_from_an_older_backup_loses_the_newest_writes(setup: Setup) -> None:
    _seed_an_earlier_run(setup)
    time.sleep(0.6)  # the earlier run's rows are older than the backup
    result = setup.run(Restore(setup.owner_url, lose_from=0.5))

    summary = result.summary
    assert summary.verdict == "passed", summary.to_json()
    # 0.5 s of writes really deleted; one 100 ms interval plus scheduling slack on a busy box.
    assert summary.rpo_seconds is not None and 0.45 <= summary.rpo_seconds <= 1.1
    assert summary.canary_writes_lost is not None and 3 <= summary.canary_writes_lost <= 7
    assert summary.canary_gaps == 0  # a backup loses a tail, never a hole
    events = read_journal(result.run_dir / "journal.jsonl").events
    survivors = next(e for e in events if e.type == "canary-read").data["survivors"]
    acknowledged = [e.data["seq"] for e in events if e.type == "canary-write" and e.data["ok"]]
    assert survivors[0] == 1 and survivors == sorted(survivors)
    assert set(survivors) < set(acknowledged)
    assert [e.data["ok"] for e in events if e.type == "canary-cleanup"] == [True]
    assert setup.rows(result.run_id) == []  # this run's rows removed afterwards...
    assert setup.rows("earlier-run") == [1, 2, 3]  # ...and nobody else's
    if setup.password is not None:
        journal = (result.run_dir / "journal.jsonl").read_text()
        assert setup.password not in journal and quote(setup.password, safe="") not in journal


def test_a_restore_that_misses_a_stretch_of_the_log_shows_gaps(setup: Setup) -> None:
    result = setup.run(Restore(setup.owner_url, lose_from=0.8, lose_until=0.4))

    summary = result.summary
    assert summary.verdict == "passed", summary.to_json()
    # The newest writes survived, so the RPO is small (never 0: they came before the fault),
    # but 0.4 s of older ones are gone.
    assert summary.rpo_seconds is not None and 0 < summary.rpo_seconds < 0.4
    assert summary.canary_gaps is not None and 2 <= summary.canary_gaps <= 6
    assert summary.canary_writes_lost == summary.canary_gaps


@pytest.fixture
def canary_role(setup: Setup, postgres: PostgresServer) -> Iterator[str]:
    """A login role for the canary that may use the table but not much else."""
    if setup.password is None:
        pytest.fail("canary_role is for the PostgreSQL setup only")
    role = f"canary_{uuid4().hex[:8]}"
    owner = sa.create_engine(_driver(setup.owner_url), isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{postgres.password}'"))
    _seed_an_earlier_run(setup)  # the owner creates the table
    with owner.connect() as connection:
        connection.execute(sa.text(f"GRANT SELECT, INSERT, DELETE ON {TABLE} TO {role}"))
    yield role
    with owner.connect() as connection:
        connection.execute(sa.text(f"DROP OWNED BY {role}"))
        connection.execute(sa.text(f"DROP ROLE {role}"))
    owner.dispose()


@pytest.mark.parametrize("setup", ["postgres"], indirect=True)
def test_a_read_back_the_database_refuses_is_journaled_without_the_password(
    setup: Setup, postgres: PostgresServer, canary_role: str
) -> None:
    database = setup.owner_url.rsplit("/", 1)[1]
    canary_url = postgres.url(database, user=canary_role)  # the password in the URL this time
    targets = setup.lab.root / "targets.yaml"
    targets.write_text(targets.read_text().replace(setup.canary_url, canary_url))
    # The restored database lacks the canary role's grants: read-back and cleanup are refused.
    result = setup.run(Restore(setup.owner_url, revoke_from=canary_role))

    summary = result.summary
    assert summary.rpo_seconds is None
    assert summary.rpo_note is not None and "permission denied" in summary.rpo_note
    assert summary.verdict == "failed"  # an RPO nobody could measure does not pass
    events = read_journal(result.run_dir / "journal.jsonl").events
    cleanup = next(e for e in events if e.type == "canary-cleanup")
    assert cleanup.data["ok"] is False and "permission denied" in cleanup.data["error"]
    assert f"{canary_role}:***@127.0.0.1" in cleanup.data["error"]
    # The whole journal, target variables included (the runner redacts URL passwords).
    journal = (result.run_dir / "journal.jsonl").read_text()
    for form in (postgres.password, quote(postgres.password, safe="")):
        assert form not in journal
    assert f"{canary_role}:***@127.0.0.1" in journal
