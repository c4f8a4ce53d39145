"""The RPO canary's database channel against real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
import sqlalchemy as sa

from drillkit.errors import DrillError, PermanentError, TransientError
from drillkit.probes.canary import RpoCanaryHandler
from drillkit.probes.database_errors import redact
from drillkit.spec.probes import DatabaseCanaryTarget, RpoCanaryProbe
from tests.support.postgres import PostgresServer
from tests.support.probe_context import ProbeContext

CTX = ProbeContext()


@dataclass
class ShortOnTime(ProbeContext):
    """A step with only ``left`` seconds to go."""

    left: float = 1.0

    def remaining(self) -> float:
        return self.left


def canary(url: str, table: str = "drillkit_canary") -> RpoCanaryProbe:
    return RpoCanaryProbe.model_validate(
        {"type": "rpo-canary", "database": {"url": url, "table": table}}
    )


@dataclass
class Database:
    """A database as its owner sees it: the canary's URL, plus a connection of one's own."""

    url: str
    table: str
    admin: sa.Engine
    password: str | None = None

    @property
    def intent(self) -> RpoCanaryProbe:
        return canary(self.url, self.table)

    def execute(self, sql: str, **params: Any) -> list[Any]:
        with self.admin.begin() as connection:
            result = connection.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []

    def rows(self, run_id: str) -> list[int]:
        quoted = self.admin.dialect.identifier_preparer.quote(self.table)
        found = self.execute(f"SELECT seq FROM {quoted} WHERE run_id = :r ORDER BY seq", r=run_id)
        return [int(row[0]) for row in found]


def _admin(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    admin = _admin(url)
    yield Database(url, "drillkit_canary", admin)
    admin.dispose()


@pytest.fixture
def postgres_db(postgres: PostgresServer) -> Iterator[Database]:
    url = postgres.url()
    admin = _admin(url)
    yield Database(url, f"canary_{uuid4().hex[:10]}", admin, postgres.password)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    database: Database = request.getfixturevalue(f"{request.param}_db")
    return database


@pytest.fixture
def handler() -> Iterator[RpoCanaryHandler]:
    made = RpoCanaryHandler(provider=None)
    yield made
    made.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(error: DrillError, secret: str) -> None:
    """Nowhere a person or a log could see it: message, fix, diagnostics, repr, cause."""
    for text in (error.message, error.fix or "", error.diagnostics(), str(error), repr(error)):
        assert secret not in text
        assert secret.replace("/", "%2F").replace("@", "%40") not in text
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__  # no driver text in tracebacks


# --- Write, read, cleanup -----------------------------------------------------------------------


def test_writes_are_committed_rows_that_read_back_by_seq(
    db: Database, handler: RpoCanaryHandler
) -> None:
    before = datetime.now(UTC)
    for seq in (1, 2, 3):
        handler.write(db.intent, "run-a", seq, CTX)
    assert db.rows("run-a") == [1, 2, 3]  # another connection sees them: committed
    assert handler.read(db.intent, "run-a", CTX) == [1, 2, 3]
    (written,) = db.execute(f"SELECT max(written_at) FROM {db.table}")[0]
    if isinstance(written, str):  # SQLite keeps UTC as ISO text without an offset
        written = datetime.fromisoformat(written).replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= written <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_table_is_created_with_the_documented_columns_and_key(
    db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(db.intent, "run-a", 1, CTX)
    inspector = sa.inspect(db.admin)
    assert [c["name"] for c in inspector.get_columns(db.table)] == ["run_id", "seq", "written_at"]
    assert inspector.get_pk_constraint(db.table)["constrained_columns"] == ["run_id", "seq"]
    with pytest.raises(PermanentError, match="conflicts"):
        handler.write(db.intent, "run-a", 1, CTX)  # the same seq twice is refused


def test_cleanup_removes_this_runs_rows_only_and_keeps_the_table(
    db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(db.intent, "run-a", 1, CTX)
    handler.write(db.intent, "run-a", 2, CTX)
    handler.write(db.intent, "run-b", 1, CTX)
    handler.cleanup(db.intent, "run-a", CTX)
    assert db.rows("run-a") == [] and db.rows("run-b") == [1]
    assert sa.inspect(db.admin).has_table(db.table)
    handler.cleanup(db.intent, "run-a", CTX)  # nothing left: still fine
    assert handler.read(db.intent, "run-b", CTX) == [1]


def test_rows_a_restore_lost_are_missing_from_the_read(
    db: Database, handler: RpoCanaryHandler
) -> None:
    for seq in range(1, 6):
        handler.write(db.intent, "run-a", seq, CTX)
    db.execute(f"DELETE FROM {db.table} WHERE seq > 2")  # what restoring an older backup does
    assert handler.read(db.intent, "run-a", CTX) == [1, 2]


def test_a_table_the_restore_dropped_reads_as_nothing_survived(
    db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(db.intent, "run-a", 1, CTX)
    db.execute(f"DROP TABLE {db.table}")  # the backup predates the canary table
    assert handler.read(db.intent, "run-a", CTX) == []
    handler.cleanup(db.intent, "run-a", CTX)


def test_a_table_name_that_needs_quoting_is_quoted(db: Database, handler: RpoCanaryHandler) -> None:
    intent = canary(db.url, "Order")  # mixed case and a reserved word
    handler.write(intent, "run-a", 1, CTX)
    assert db.execute('SELECT run_id, seq FROM "Order"') == [("run-a", 1)]
    assert handler.read(intent, "run-a", CTX) == [1]


def test_the_writer_thread_and_the_read_back_share_the_channel_safely(
    db: Database, handler: RpoCanaryHandler
) -> None:
    errors: list[BaseException] = []

    def write(first: int) -> None:
        try:
            for seq in range(first, first + 20):
                handler.write(db.intent, "run-a", seq, CTX)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(first,)) for first in (1, 101)]
    for thread in threads:
        thread.start()
    reads = [handler.read(db.intent, "run-a", CTX) for _ in range(5)]
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert handler.read(db.intent, "run-a", CTX) == [*range(1, 21), *range(101, 121)]
    assert all(len(read) <= 40 for read in reads)


def test_a_postgresql_url_without_a_driver_means_psycopg_3(
    postgres_db: Database, handler: RpoCanaryHandler
) -> None:
    # SQLAlchemy 2.0 would pick psycopg2 (not installed); drillkit says psycopg 3 itself.
    assert importlib.util.find_spec("psycopg2") is None
    assert postgres_db.url.startswith("postgresql://")
    handler.write(postgres_db.intent, "run-a", 1, CTX)
    assert postgres_db.rows("run-a") == [1]
    unreachable = postgres_db.url.replace(f":{sa.make_url(postgres_db.url).port}/", ":1/")
    with pytest.raises(TransientError) as raised:
        handler.write(canary(unreachable), "run-a", 2, CTX)
    assert raised.value.message.startswith("canary write postgresql+psycopg://drillkit:***@")
    explicit = canary(postgres_db.url.replace("postgresql://", "postgresql+psycopg://"))
    handler.write(explicit, "run-a", 2, CTX)
    assert handler.read(explicit, "run-a", CTX) == [2]  # default table: its own rows only


def test_a_least_privileged_user_needs_no_create_on_the_schema(
    postgres: PostgresServer, postgres_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(postgres_db.intent, "setup", 1, CTX)  # the owner creates the table once
    role = f"writer_{uuid4().hex[:8]}"
    postgres_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{postgres.password}'")
    postgres_db.execute(f"GRANT SELECT, INSERT, DELETE ON {postgres_db.table} TO {role}")
    intent = canary(postgres.url(user=role), postgres_db.table)
    handler.write(intent, "run-a", 1, CTX)
    assert handler.read(intent, "run-a", CTX) == [1]
    handler.cleanup(intent, "run-a", CTX)
    assert postgres_db.rows("run-a") == [] and postgres_db.rows("setup") == [1]


# --- Unreachable, slow, locked: worth retrying ---------------------------------------------------


def test_a_closed_port_is_transient_and_quick(
    postgres: PostgresServer, handler: RpoCanaryHandler
) -> None:
    intent = canary(postgres.url(port=closed_port()))
    started = time.monotonic()
    with pytest.raises(TransientError, match="cannot reach the database") as raised:
        handler.write(intent, "run-a", 1, CTX)
    assert time.monotonic() - started < 1.0
    assert "Connection refused" in raised.value.message
    assert_no_secret(raised.value, postgres.password)


def test_a_server_that_never_answers_is_bounded_by_the_steps_remaining_time(
    postgres: PostgresServer, handler: RpoCanaryHandler
) -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        intent = canary(postgres.url(port=silent.getsockname()[1]))
        started = time.monotonic()
        with pytest.raises(TransientError, match=r"no answer within 2s") as raised:
            handler.write(intent, "run-a", 1, ShortOnTime(left=2.0))
        elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 3.5  # libpq's smallest connect timeout is 2 s
    assert_no_secret(raised.value, postgres.password)


def test_a_postgresql_lock_held_past_the_remaining_time_is_transient(
    postgres_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(postgres_db.intent, "run-a", 1, CTX)
    with postgres_db.admin.connect() as blocker:
        blocker.execute(sa.text(f"LOCK TABLE {postgres_db.table} IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        with pytest.raises(TransientError, match="ran out of time") as raised:
            handler.write(postgres_db.intent, "run-a", 2, ShortOnTime(left=0.5))
        elapsed = time.monotonic() - started
        blocker.rollback()
    assert 0.4 <= elapsed < 2.0
    assert "0.5s" in raised.value.message
    handler.write(postgres_db.intent, "run-a", 3, CTX)  # the lock is gone: writes work again
    assert postgres_db.rows("run-a") == [1, 3]


def test_a_locked_sqlite_file_is_transient_after_the_busy_timeout(
    sqlite_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(sqlite_db.intent, "run-a", 1, CTX)
    with sqlite_db.admin.connect() as blocker:
        blocker.exec_driver_sql("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(TransientError, match="busy") as raised:
            handler.write(sqlite_db.intent, "run-a", 2, ShortOnTime(left=0.3))
        elapsed = time.monotonic() - started
        blocker.exec_driver_sql("ROLLBACK")
    assert 0.25 <= elapsed < 2.0
    assert "database is locked" in raised.value.message
    handler.write(sqlite_db.intent, "run-a", 3, CTX)
    assert sqlite_db.rows("run-a") == [1, 3]


# --- Mistakes no retry fixes: permanent, with the fix ----------------------------------------------


def test_a_wrong_password_is_permanent_and_never_shown(
    postgres: PostgresServer, handler: RpoCanaryHandler
) -> None:
    wrong = f"{postgres.password}-wrong"
    with pytest.raises(PermanentError, match="login refused") as raised:
        handler.write(canary(postgres.url(password=wrong)), "run-a", 1, CTX)
    assert "password authentication failed" in raised.value.message
    assert "drillkit:***@127.0.0.1" in raised.value.message
    assert raised.value.fix is not None and "password" in raised.value.fix
    assert_no_secret(raised.value, wrong)
    assert_no_secret(raised.value, postgres.password)


def test_a_password_in_the_query_string_is_never_shown(
    postgres: PostgresServer, handler: RpoCanaryHandler
) -> None:
    url = f"postgresql://drillkit@127.0.0.1:{postgres.port}/postgres?password=not-{postgres.port}"
    with pytest.raises(PermanentError, match="login refused") as raised:
        handler.write(canary(url), "run-a", 1, CTX)
    assert "/postgres?…" in raised.value.message
    assert_no_secret(raised.value, f"not-{postgres.port}")


def test_a_driver_text_that_quotes_the_url_back_is_redacted(
    postgres: PostgresServer, handler: RpoCanaryHandler
) -> None:
    # libpq quotes a bad sslmode value back; here that value is the password itself.
    url = postgres.url() + "?sslmode=" + quote(postgres.password, safe="")
    with pytest.raises(DrillError) as raised:
        handler.write(canary(url), "run-a", 1, CTX)
    assert "invalid sslmode value" in raised.value.message
    assert "***" in raised.value.message.split("sslmode value")[1]
    assert_no_secret(raised.value, postgres.password)


def test_redaction_removes_passwords_in_every_form_before_cutting() -> None:
    secret = "s3cr/t@:%"
    texts = [
        "connection to postgresql://app:s3cr%2Ft%40%3A%25@db:5432/orders failed",
        "invalid connection option in 'host=db user=app password=anything-else dbname=x'",
        "could not use password='it''s' for app",
        "echo s3cr/t@:% and s3cr%2Ft%40%3A%25 and s3cr%2Ft%40%3A%25",
    ]
    for text in texts:
        shown = redact(text, [secret])
        assert secret not in shown and "s3cr" not in shown and "anything-else" not in shown
        assert "***" in shown


def test_permission_denied_is_permanent_and_names_the_grant(
    postgres: PostgresServer, postgres_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(postgres_db.intent, "setup", 1, CTX)
    role = f"reader_{uuid4().hex[:8]}"
    postgres_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{postgres.password}'")
    postgres_db.execute(f"GRANT SELECT ON {postgres_db.table} TO {role}")
    intent = canary(postgres.url(user=role), postgres_db.table)
    with pytest.raises(PermanentError, match="permission denied") as raised:
        handler.write(intent, "run-a", 1, CTX)
    assert raised.value.fix is not None
    assert f"grant user `{role}` SELECT, INSERT and DELETE on table {postgres_db.table}" in (
        raised.value.fix
    )
    assert_no_secret(raised.value, postgres.password)
    missing = canary(postgres.url(user=role), f"{postgres_db.table}_new")
    with pytest.raises(PermanentError, match="permission denied for schema") as raised:
        handler.write(missing, "run-a", 1, CTX)  # creating it needs CREATE on the schema
    assert raised.value.fix is not None and "CREATE on the schema" in raised.value.fix


def test_a_table_without_the_canary_columns_is_permanent(
    db: Database, handler: RpoCanaryHandler
) -> None:
    db.execute(f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, seq INTEGER)")
    with pytest.raises(PermanentError, match="has no column run_id, written_at") as raised:
        handler.write(db.intent, "run-a", 1, CTX)
    assert raised.value.fix is not None and "database.table" in raised.value.fix


def test_a_read_only_sqlite_database_is_permanent(
    sqlite_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(sqlite_db.intent, "run-a", 1, CTX)
    path = sqlite_db.url.removeprefix("sqlite:///")
    read_only = canary(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(PermanentError, match="cannot be written") as raised:
        handler.write(read_only, "run-a", 2, CTX)
    assert raised.value.fix is not None and "writable" in raised.value.fix
    assert handler.read(read_only, "run-a", CTX) == [1]  # reading is all a reader needs


def test_a_sqlite_file_in_a_missing_folder_is_permanent(
    tmp_path: Path, handler: RpoCanaryHandler
) -> None:
    with pytest.raises(PermanentError, match="cannot be opened") as raised:
        handler.write(canary(f"sqlite:///{tmp_path}/no/such/folder/x.db"), "run-a", 1, CTX)
    assert raised.value.fix is not None and "folder must exist" in raised.value.fix


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", "in-memory SQLite"),
        ("sqlite:///:memory:", "in-memory SQLite"),
        ("postgresql+nosuchdriver://app:pw-9xq@db/orders", "knows no driver"),
        ("postgresql+psycopg2://app:pw-9xq@db/orders", "`psycopg2` is not installed"),
        ("postgresql://app:pw-9xq@db:port/orders", "not a database URL"),
    ],
)
def test_an_unusable_url_is_permanent_with_a_fix(
    url: str, expected: str, handler: RpoCanaryHandler
) -> None:
    with pytest.raises(PermanentError, match=expected) as raised:
        handler.write(canary(url), "run-a", 1, CTX)
    assert raised.value.fix
    assert_no_secret(raised.value, "pw-9xq")


def test_a_database_other_than_sqlite_or_postgresql_is_permanent(
    handler: RpoCanaryHandler,
) -> None:
    # The model's pattern already refuses it; the channel does not rely on that alone.
    target = DatabaseCanaryTarget.model_construct(
        url="mysql://app:pw-9xq@db/orders", table="drillkit_canary"
    )
    intent = RpoCanaryProbe.model_construct(
        type="rpo-canary", http=None, database=target, interval=timedelta(seconds=1)
    )
    with pytest.raises(PermanentError, match="`mysql` databases are not supported") as raised:
        handler.write(intent, "run-a", 1, CTX)
    assert_no_secret(raised.value, "pw-9xq")


# --- Lazy import ---------------------------------------------------------------------------------


def test_an_http_canary_never_imports_sqlalchemy(tmp_path: Path) -> None:
    script = """
import sys
from drillkit.probes.registry import canary_for
from drillkit.spec.probes import DatabaseCanaryTarget, RpoCanaryProbe
from tests.support.canary_service import CanaryService
from tests.support.probe_context import ProbeContext
with CanaryService() as service:
    handler = canary_for("rpo-canary", None)
    intent = RpoCanaryProbe.model_validate(
        {"type": "rpo-canary", "http": {"writeUrl": service.url, "readUrl": service.url}}
    )
    handler.write(intent, "run-a", 1, ProbeContext())
    assert handler.read(intent, "run-a", ProbeContext()) == [1]
    handler.close()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "psycopg")))
"""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    help_run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "drillkit", "--help"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert help_run.returncode == 0
    assert "sqlalchemy" not in help_run.stderr and "canary" not in help_run.stderr


def test_close_releases_the_connections_and_a_later_call_reopens(
    postgres_db: Database, handler: RpoCanaryHandler
) -> None:
    handler.write(postgres_db.intent, "run-a", 1, CTX)

    def connections() -> int:
        found = postgres_db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'drillkit' "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return int(found[0][0])

    assert connections() >= 1
    handler.close()
    deadline = time.monotonic() + 2.0
    while connections() and time.monotonic() < deadline:  # the server sees the close a bit later
        time.sleep(0.02)
    assert connections() == 0
    assert handler.read(postgres_db.intent, "run-a", CTX) == [1]
