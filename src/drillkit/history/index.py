"""The run index: a SQLite file next to the reports, rebuilt from the bundles when needed.

Scanning hundreds of bundles (and verifying their signatures) on every
``drill history`` or ``drill scorecard`` would be slow, so what was read is
kept in ``<reports>/.index.sqlite``. It is only a cache: every refresh lists
the run folders, re-reads any whose stamp changed, drops rows whose folder is
gone, and a file that is damaged or from another schema version is deleted
and rebuilt. Signature checks are cached per run, stamp and key fingerprint,
so a changed bundle or another key is checked again. When the reports folder
is read-only (an auditor's copy), the index lives in memory for the command.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from drillkit.history.records import RunRecord, UnreadableRun, read_record, run_folders
from drillkit.history.records import bundle_stamp as _stamp

INDEX_FILE = ".index.sqlite"
SCHEMA_VERSION = "1"
_COLUMNS = tuple(f.name for f in fields(RunRecord))
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verified:
    """A cached signature check of one run with one key."""

    ok: bool
    detail: str


class RunIndex:
    """The index of every run under one reports folder; use as a context manager."""

    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = Path(reports_dir)
        self.path = self.reports_dir / INDEX_FILE
        self.skipped: list[str] = []
        """Run folders that could not be read at the last refresh, with the reason."""
        self._db = self._connect()

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def refresh(self) -> int:
        """Bring the index in line with the bundles; returns how many rows changed."""
        known = dict(self._db.execute("SELECT run_dir, stamp FROM runs").fetchall())
        changed = 0
        seen: set[str] = set()
        self.skipped = []
        for folder in run_folders(self.reports_dir):
            name = folder.relative_to(self.reports_dir).as_posix()
            seen.add(name)
            if known.get(name) == _stamp(folder):
                continue
            try:
                record = read_record(self.reports_dir, folder)
            except UnreadableRun as exc:
                self.skipped.append(str(exc))
                if name in known:
                    self._db.execute("DELETE FROM runs WHERE run_dir = ?", (name,))
                continue
            holders = ", ".join("?" for _ in _COLUMNS)
            self._db.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({holders})",
                astuple(record),
            )
            changed += 1
        for gone in set(known) - seen:
            self._db.execute("DELETE FROM runs WHERE run_dir = ?", (gone,))
            changed += 1
        self._db.commit()
        return changed

    def runs(self, drill: str | None = None, target: str | None = None) -> list[RunRecord]:
        """Runs, oldest first, optionally of one drill and one target."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE 1=1"
        values: list[str] = []
        if drill is not None:
            query += " AND drill = ?"
            values.append(drill)
        if target is not None:
            query += " AND target = ?"
            values.append(target)
        query += " ORDER BY started_at, run_id"
        return [_record(row) for row in self._db.execute(query, values)]

    def verification(self, record: RunRecord, key_fingerprint: str) -> Verified | None:
        row = self._db.execute(
            "SELECT ok, detail FROM verifications WHERE run_dir = ? AND stamp = ? AND key = ?",
            (record.run_dir, record.stamp, key_fingerprint),
        ).fetchone()
        return Verified(bool(row[0]), str(row[1])) if row else None

    def remember_verification(
        self, record: RunRecord, key_fingerprint: str, result: Verified
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO verifications (run_dir, stamp, key, ok, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (record.run_dir, record.stamp, key_fingerprint, int(result.ok), result.detail),
        )
        self._db.commit()

    def _connect(self) -> sqlite3.Connection:
        if not self.reports_dir.is_dir():
            return _create(sqlite3.connect(":memory:"))
        try:
            db = sqlite3.connect(self.path, timeout=10)
            version = _schema_version(db)
            if version == SCHEMA_VERSION:
                return db
            db.close()
            if version is not None:
                logger.info("index %s is from schema %s: rebuilding", self.path, version)
            self.path.unlink(missing_ok=True)
            return _create(sqlite3.connect(self.path, timeout=10))
        except sqlite3.DatabaseError as exc:  # damaged, not a database, or read-only
            logger.info("index %s unusable (%s): rebuilding", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
            try:
                return _create(sqlite3.connect(self.path, timeout=10))
            except sqlite3.DatabaseError:
                return _create(sqlite3.connect(":memory:"))


def open_index(reports_dir: Path) -> RunIndex:
    """The refreshed index of ``reports_dir``."""
    index = RunIndex(reports_dir)
    index.refresh()
    return index


def latest(records: list[RunRecord]) -> Iterator[tuple[tuple[str, str], list[RunRecord]]]:
    """Runs grouped by (drill, target), each group oldest first, groups sorted by name."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.drill, record.target), []).append(record)
    yield from sorted(groups.items())


def _schema_version(db: sqlite3.Connection) -> str | None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        return None if not tables else "unknown"
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return str(row[0]) if row else "unknown"


def _create(db: sqlite3.Connection) -> sqlite3.Connection:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS runs (
            run_dir TEXT PRIMARY KEY, stamp TEXT NOT NULL, drill TEXT NOT NULL,
            version TEXT NOT NULL, tier INTEGER NOT NULL, target TEXT NOT NULL,
            run_id TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, verdict TEXT NOT NULL,
            rto_seconds REAL, rto_objective_seconds REAL, rpo_seconds REAL,
            rpo_objective_seconds REAL, objectives_met INTEGER NOT NULL, signed INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_by_drill ON runs (drill, target, started_at);
        CREATE TABLE IF NOT EXISTS verifications (
            run_dir TEXT NOT NULL, stamp TEXT NOT NULL, key TEXT NOT NULL,
            ok INTEGER NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (run_dir, key)
        );
        """
    )
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
    db.commit()
    return db


def _record(row: tuple[object, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["objectives_met"] = bool(values["objectives_met"])
    values["signed"] = bool(values["signed"])
    return RunRecord(**values)  # type: ignore[arg-type]
