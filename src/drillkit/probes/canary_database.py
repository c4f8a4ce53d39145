"""The generic RPO canary, database channel: sequenced rows written straight into a table.

When a service keeps its data in SQLite or PostgreSQL, the canary can write
into that database itself (the ``database`` block of an ``rpo-canary`` probe):
a restore that loses recent rows loses canary rows with them, and the newest
surviving row gives the RPO. No service code is needed, only a database user.

**Table** - ``database.table`` (default ``drillkit_canary``), created on first
use when it does not exist, otherwise checked for these columns::

    run_id      VARCHAR(64) NOT NULL               -- the drill's run id
    seq         INTEGER NOT NULL                   -- 1, 2, 3... within a run
    written_at  TIMESTAMP WITH TIME ZONE NOT NULL  -- UTC, drill's clock (SQLite: text)
    PRIMARY KEY (run_id, seq)

**Write** inserts one row in its own transaction and returns once COMMIT has
returned: that is the acknowledgement RPO counts. **Read** returns the seqs of
this run's rows. **Cleanup** deletes this run's rows and only those; the table
stays, so other runs (and a reader's grants) are untouched.

URLs are SQLAlchemy URLs, already bound from target variables: ``sqlite:///
relative.db``, ``sqlite:////absolute.db``, ``postgresql://user@host/db``
(meaning psycopg 3, ``postgresql+psycopg://``). In-memory SQLite is refused:
nothing in it can survive a restore. One Engine per URL is shared by the
canary writer thread and the engine's read-back, created under a lock and
disposed by ``close``; pooled connections are pinged before use, so the first
read after a database restart does not fail on a dead connection.

Each call is bounded by 5 s, or by the step's remaining time when shorter:
the connect timeout (libpq's minimum is 2 s), PostgreSQL's
``statement_timeout`` for the transaction, SQLite's busy timeout. Errors are
``TransientError`` (unreachable, timed out, locked) or ``PermanentError`` with a
fix (bad URL, missing driver, login refused, permission denied, wrong table);
URLs are shown without password or query, and driver texts are redacted
(``database_errors``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from drillkit.errors import PermanentError
from drillkit.probes.database_errors import DatabaseCall
from drillkit.providers.base import StepContext
from drillkit.spec.probes import DatabaseCanaryTarget, RpoCanaryProbe

_TIMEOUT_SECONDS = 5.0
_POOL_SIZE = 2  # the writer thread and the read-back
_COLUMNS = ("run_id", "seq", "written_at")
_BACKENDS = ("sqlite", "postgresql")
_URL_FIX = (
    "give database.url as sqlite:///relative/path.db, sqlite:////absolute/path.db or "
    "postgresql://user@host:5432/database"
)

_budget: ContextVar[float] = ContextVar("drillkit_canary_budget", default=_TIMEOUT_SECONDS)
"""Seconds the current call may take; read when the pool opens a connection."""


@dataclass
class _Database:
    """One URL's Engine, how to name it in messages, and which tables are known to be ready."""

    engine: Engine
    shown: str
    user: str | None
    secrets: tuple[str, ...]
    ready: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class DatabaseCanaryChannel:
    """Writes, reads back and removes canary rows in SQLite or PostgreSQL; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._databases: dict[str, _Database] = {}

    def write(self, intent: RpoCanaryProbe, run_id: str, seq: int, ctx: StepContext) -> None:
        row = {"run_id": run_id, "seq": seq, "written_at": datetime.now(UTC)}
        with self._transaction(intent, "canary write", ctx, prepare=True) as (connection, table):
            connection.execute(sa.insert(table).values(**row))

    def read(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> list[int]:
        """This run's seqs; none when the table is gone (a restore from before it existed)."""
        with self._transaction(intent, "canary read", ctx) as (connection, table):
            if not sa.inspect(connection).has_table(table.name):
                return []
            query = sa.select(table.c.seq).where(table.c.run_id == run_id).order_by(table.c.seq)
            return [int(seq) for seq in connection.execute(query).scalars()]

    def cleanup(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> None:
        """Delete this run's rows; the table stays, with other runs' rows and its grants."""
        with self._transaction(intent, "canary cleanup", ctx) as (connection, table):
            if sa.inspect(connection).has_table(table.name):
                connection.execute(sa.delete(table).where(table.c.run_id == run_id))

    def close(self) -> None:
        """Close every pooled connection; a later call opens new ones."""
        with self._lock:
            databases, self._databases = list(self._databases.values()), {}
        for database in databases:
            database.engine.dispose()

    # --- One call -----------------------------------------------------------------------------

    @contextmanager
    def _transaction(
        self, intent: RpoCanaryProbe, what: str, ctx: StepContext, *, prepare: bool = False
    ) -> Iterator[tuple[Connection, sa.Table]]:
        """A transaction committed on exit, bounded in time, its errors made drillkit errors.

        ``prepare``: create the table first when missing (check it when present).
        """
        target = _target(intent)
        database = self._database(target)
        seconds = _seconds(ctx)
        call = DatabaseCall(
            what, database.shown, target.table, database.user, seconds, database.secrets
        )
        table = _table(target.table)
        token = _budget.set(seconds)
        try:
            if prepare:
                _prepare(database, table, call)
            with database.engine.begin() as connection:
                _limit(connection, seconds)
                yield connection, table
        except SQLAlchemyError as exc:
            raise call.error(exc) from None  # the driver's text may hold the DSN: never chained
        finally:
            _budget.reset(token)

    def _database(self, target: DatabaseCanaryTarget) -> _Database:
        with self._lock:
            database = self._databases.get(target.url)
            if database is None:
                database = _open(target.url)
                self._databases[target.url] = database
            return database


def _target(intent: RpoCanaryProbe) -> DatabaseCanaryTarget:
    if intent.database is None:
        raise PermanentError("this rpo-canary has no `database` block")
    return intent.database


def _seconds(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return min(_TIMEOUT_SECONDS, remaining) if remaining > 0 else _TIMEOUT_SECONDS


# --- The database and its table ---------------------------------------------------------------


def _open(raw: str) -> _Database:
    """An Engine for ``raw`` (no connection yet); PermanentError for what no retry can fix."""
    url = _parse(raw)
    shown = url.set(query={}).render_as_string(hide_password=True) + ("?…" if url.query else "")
    if url.get_backend_name() == "sqlite" and _in_memory(url):
        raise PermanentError(
            f"database.url {shown}: an in-memory SQLite database cannot survive a restore",
            fix="give the SQLite database a file: sqlite:////absolute/path.db",
        )
    try:
        engine = sa.create_engine(
            url,
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_SIZE,
            pool_timeout=_TIMEOUT_SECONDS,
            pool_pre_ping=True,
        )
    except NoSuchModuleError:
        raise PermanentError(
            f"database.url {shown}: SQLAlchemy knows no driver `{url.drivername}`",
            fix="use postgresql:// (psycopg 3, installed with drillkit) or sqlite://",
        ) from None
    except ImportError as exc:
        raise PermanentError(
            f"database.url {shown}: the driver `{exc.name or url.drivername}` is not installed",
            fix="use postgresql:// (psycopg 3, installed with drillkit), or install that driver",
        ) from None
    if engine.dialect.is_async:
        engine.dispose()
        raise PermanentError(
            f"database.url {shown}: `{url.drivername}` is an asyncio driver",
            fix="use postgresql:// (psycopg 3) or sqlite:// without an async driver",
        )
    sa.event.listen(engine, "do_connect", _bounded_connect)
    hidden = [url.password or ""] + [
        value for key, value in _query_items(url) if "pass" in key.lower()
    ]
    return _Database(engine, shown, url.username, tuple(s for s in hidden if s))


def _parse(raw: str) -> URL:
    try:
        url = sa.make_url(raw)
    except (ArgumentError, ValueError):
        raise PermanentError("database.url is not a database URL", fix=_URL_FIX) from None
    if url.get_backend_name() not in _BACKENDS:
        raise PermanentError(
            f"database.url: `{url.get_backend_name()}` databases are not supported "
            "(SQLite and PostgreSQL are)",
            fix=_URL_FIX,
        )
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _in_memory(url: URL) -> bool:
    modes = [value for key, value in _query_items(url) if key == "mode"]
    return url.database in (None, "", ":memory:") or "memory" in modes


def _query_items(url: URL) -> Iterator[tuple[str, str]]:
    for key, values in url.query.items():
        for value in (values,) if isinstance(values, str) else values:
            yield key, value


def _table(name: str) -> sa.Table:
    """The canary table; SQLAlchemy quotes the name where the database needs it."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def _prepare(database: _Database, table: sa.Table, call: DatabaseCall) -> None:
    """Create the table when missing, else check its columns; once per URL and table.

    Existence is checked first: ``CREATE TABLE IF NOT EXISTS`` needs CREATE on
    the schema even when the table exists, and a canary user may rightly lack it.
    """
    with database.lock:
        if table.name in database.ready:
            return
        with database.engine.begin() as connection:
            _limit(connection, call.seconds)
            inspector = sa.inspect(connection)
            if not inspector.has_table(table.name):
                connection.execute(CreateTable(table, if_not_exists=True))
            else:
                found = {column["name"] for column in inspector.get_columns(table.name)}
                missing = [name for name in _COLUMNS if name not in found]
                if missing:
                    raise PermanentError(
                        f"{call.what} {call.where}: table {table.name} exists but has no "
                        f"column {', '.join(missing)}",
                        fix=f"name a table of the canary's own in database.table "
                        f"(drillkit creates it), or add {', '.join(missing)} to {table.name}",
                    )
        database.ready.add(table.name)


# --- Time limits ------------------------------------------------------------------------------


def _limit(connection: Connection, seconds: float) -> None:
    """Bound every statement of this transaction (PostgreSQL) or lock wait (SQLite)."""
    millis = max(1, math.ceil(seconds * 1000))
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT set_config('statement_timeout', :limit, true)"),
            {"limit": f"{millis}ms"},
        )
    else:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {millis}")


def _bounded_connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
    """Give each new connection the current call's time (SQLAlchemy ``do_connect`` hook)."""
    seconds = _budget.get()
    if dialect.name == "postgresql":
        cparams["connect_timeout"] = max(2, math.ceil(seconds))
    else:
        cparams["timeout"] = seconds
