"""The orders data store: one SQLite file per region.

Replicas of a region write to their region's file (WAL mode, so readers and
writers of several processes do not block each other); the standby's file
receives the primary's rows only through shipping (``shipping.py``), which is
what makes a region failover lose the writes not yet shipped. Snapshots use
SQLite's online backup API, so a backup never copies half a transaction.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    run_id TEXT,
    seq INTEGER,
    canary INTEGER NOT NULL DEFAULT 0,
    written_at TEXT,
    body TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
)
"""
COLUMNS = ("rowid", "id", "run_id", "seq", "canary", "written_at", "body", "created_at")


def store_path(root: Path, region: str) -> Path:
    return root / "store" / region / "orders.db"


@contextmanager
def connect(path: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection with WAL and a busy timeout; refuses to create a missing store unless asked.

    A missing file is a lost store (namespace loss), not an empty one: SQLite
    would silently create it, so the check comes first.
    """
    if not create and not path.exists():
        raise FileNotFoundError(f"store {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=2.0, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_SCHEMA)
        yield connection


def insert(connection: sqlite3.Connection, record: dict[str, Any]) -> dict[str, Any]:
    """Store one order; returns it with its id. Committed when this returns (autocommit)."""
    row = {
        "id": str(record.get("id") or uuid.uuid4()),
        "run_id": record.get("runId"),
        "seq": record.get("seq"),
        "canary": 1 if record.get("canary") else 0,
        "written_at": record.get("writtenAt"),
        "body": record.get("body", "{}"),
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    connection.execute(
        "INSERT INTO orders (id, run_id, seq, canary, written_at, body, created_at) "
        "VALUES (:id, :run_id, :seq, :canary, :written_at, :body, :created_at)",
        row,
    )
    return row


def select(
    connection: sqlite3.Connection, run_id: str | None = None, *, limit: int = 1000
) -> list[dict[str, Any]]:
    query = f"SELECT {', '.join(COLUMNS)} FROM orders"
    arguments: tuple[Any, ...] = ()
    if run_id is not None:
        query += " WHERE run_id = ?"
        arguments = (run_id,)
    rows = connection.execute(query + " ORDER BY rowid LIMIT ?", (*arguments, limit)).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def delete_run(connection: sqlite3.Connection, run_id: str) -> int:
    return connection.execute("DELETE FROM orders WHERE run_id = ?", (run_id,)).rowcount


def rows_after(
    connection: sqlite3.Connection, rowid: int, limit: int = 5000
) -> list[tuple[Any, ...]]:
    return connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM orders WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (rowid, limit),
    ).fetchall()


def apply_rows(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Shipping: insert the primary's rows (same rowids) in one transaction."""
    placeholders = ", ".join("?" for _ in COLUMNS)
    connection.execute("BEGIN")
    connection.executemany(
        f"INSERT OR IGNORE INTO orders ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
    )
    connection.execute("COMMIT")


def max_rowid(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM orders").fetchone()[0])


def snapshot(source: Path, destination: Path) -> None:
    """A consistent copy of a live store (SQLite online backup)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".partial")
    temporary.unlink(missing_ok=True)
    with connect(source) as live, closing(sqlite3.connect(temporary)) as copy:
        live.backup(copy)
    temporary.replace(destination)


def remove(path: Path) -> None:
    """Delete a store with its WAL files (namespace loss)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
