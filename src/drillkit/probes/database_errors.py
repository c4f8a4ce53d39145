"""Database driver errors as drillkit errors: worth retrying or not, what to fix, nothing secret.

SQLAlchemy wraps the driver's exception; what decides is the driver's own
code: PostgreSQL's SQLSTATE (class 08 connection lost, 57014 statement
timeout, 42501 permission denied, ...) and SQLite's result code name
(``SQLITE_BUSY``, ``SQLITE_READONLY``, ...). Failures while connecting to
PostgreSQL come from libpq without a SQLSTATE, so their well-known texts
(password authentication failed, database does not exist) are matched.

Driver texts may quote connection parameters back, so every text is redacted
(the password in any encoding, anything after ``password=``, the password
part of any URL) *before* it is cut to ``EXCERPT`` characters, so a cut can
never leave half a password behind. Callers raise the result ``from None``:
the driver's exception, with its unredacted text, never reaches a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from sqlalchemy import exc as sa_exc

from drillkit.errors import PermanentError, TransientError
from drillkit.probes.redaction import short

HIDDEN = "***"
_PASSWORD_PAIR = re.compile(r"(password\s*[=:]\s*)('(?:[^'\\]|\\.)*'|\"[^\"]*\"|\S+)", re.I)
_URL_PASSWORD = re.compile(r"(\b[\w+.-]+://[^:/@\s]*:)[^@\s]*@")

# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_TRANSIENT_CLASSES = ("08", "53", "58")
"""connection exception, insufficient resources (too many connections), system (I/O) error."""
_PG_TRANSIENT = {
    "57014": "the statement ran out of time",
    "57P01": "the server is shutting down",
    "57P02": "the server crashed",
    "57P03": "the server is not accepting connections yet",
    "57P04": "the database was dropped",
    "55P03": "a lock was not available in time",
    "40001": "a serialization failure",
    "40P01": "a deadlock",
}
_PG_PERMISSION = "42501"
_PG_SCHEMA = ("42P01", "42703", "42804", "42P10", "22")  # 22: data exceptions (wrong types)
_PG_CONFLICT = "23"

_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL")
_SQLITE_READONLY = ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")
_SQLITE_SCHEMA_TEXTS = ("no such table", "no such column", "has no column named", "datatype")

_AUTH_TEXTS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "pg_hba.conf",
    "role ",
)


@dataclass(frozen=True)
class DatabaseCall:
    """One canary call: everything an error about it may name, plus what it must never show."""

    what: str
    """``canary write``, ``canary read``, ``canary cleanup``."""
    where: str
    """The database URL without password or query string."""
    table: str
    user: str | None
    seconds: float
    """The time the call was given (connect, statement, busy timeout)."""
    secrets: tuple[str, ...] = ()
    """Never shown: removed from every driver text."""

    def error(self, exc: BaseException) -> TransientError | PermanentError:
        """``exc`` (a SQLAlchemy error) as the drillkit error a person can act on."""
        if isinstance(exc, sa_exc.TimeoutError):
            return self._transient(f"no pooled connection within {self.seconds:g}s")
        if not isinstance(exc, sa_exc.DBAPIError):
            return self._permanent(self._text(exc), "check database.url and database.table")
        driver: BaseException = exc.orig if exc.orig is not None else exc
        sqlstate = getattr(driver, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return self._postgres(sqlstate, driver)
        name = getattr(driver, "sqlite_errorname", None)
        if isinstance(name, str):
            return self._sqlite(name, driver)
        return self._untyped(exc, driver)

    # --- By driver ----------------------------------------------------------------------------

    def _postgres(self, sqlstate: str, driver: BaseException) -> TransientError | PermanentError:
        text = self._text(driver)
        if sqlstate in _PG_TRANSIENT:
            limit = f" ({self.seconds:g}s)" if sqlstate == "57014" else ""
            return self._transient(f"{_PG_TRANSIENT[sqlstate]}{limit}: {text}")
        if sqlstate.startswith(_PG_TRANSIENT_CLASSES):
            return self._transient(f"cannot reach the database ({text})")
        if sqlstate == _PG_PERMISSION:
            return self._permanent(f"permission denied ({text})", self._grant_fix())
        if sqlstate.startswith(_PG_CONFLICT):
            return self._permanent(
                f"the row conflicts with what the table holds ({text})",
                "give the canary a table of its own in database.table",
            )
        if sqlstate.startswith(_PG_SCHEMA):
            return self._permanent(
                f"the table does not fit the canary ({text})", self._schema_fix()
            )
        if sqlstate.startswith("28"):
            return self._permanent(f"login refused ({text})", self._login_fix())
        if sqlstate == "3D000":
            return self._permanent(f"no such database ({text})", self._database_fix())
        return self._permanent(text, "check database.url and the database's log")

    def _sqlite(self, name: str, driver: BaseException) -> TransientError | PermanentError:
        text = self._text(driver)
        code = _sqlite_primary(name)
        if code in _SQLITE_TRANSIENT:
            return self._transient(f"the database is busy or failing ({name}: {text})")
        if code in _SQLITE_READONLY:
            return self._permanent(
                f"the database cannot be written ({text})",
                "make the SQLite file and its folder writable by the user running drill",
            )
        if code == "SQLITE_CANTOPEN":
            return self._permanent(
                f"the database file cannot be opened ({text})",
                "check the path in database.url: its folder must exist and be writable "
                "(sqlite:///relative/path or sqlite:////absolute/path)",
            )
        if code == "SQLITE_CONSTRAINT":
            return self._permanent(
                f"the row conflicts with what the table holds ({text})",
                "give the canary a table of its own in database.table",
            )
        if any(part in text for part in _SQLITE_SCHEMA_TEXTS):
            return self._permanent(
                f"the table does not fit the canary ({text})", self._schema_fix()
            )
        return self._permanent(f"{name}: {text}", "check database.url and the SQLite file")

    def _untyped(
        self, exc: sa_exc.DBAPIError, driver: BaseException
    ) -> TransientError | PermanentError:
        """PostgreSQL connection failures (no SQLSTATE), and anything else without a code."""
        text = self._text(driver)
        lowered = text.lower()
        if type(driver).__name__ == "ConnectionTimeout" or "timeout expired" in lowered:
            return self._transient(f"no answer within {self.seconds:g}s (connect timeout)")
        if "does not exist" in lowered and "database" in lowered:
            return self._permanent(f"no such database ({text})", self._database_fix())
        if any(part in lowered for part in _AUTH_TEXTS):
            return self._permanent(f"login refused ({text})", self._login_fix())
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.InternalError):
            return self._transient(f"cannot reach the database ({text})")
        return self._permanent(text, "check the options in database.url")

    # --- Wording ------------------------------------------------------------------------------

    def _transient(self, detail: str) -> TransientError:
        return TransientError(f"{self.what} {self.where}: {detail}")

    def _permanent(self, detail: str, fix: str) -> PermanentError:
        return PermanentError(f"{self.what} {self.where} table {self.table}: {detail}", fix=fix)

    def _text(self, error: BaseException) -> str:
        """The driver's first line without secrets, cut to ``EXCERPT`` characters."""
        text = redact(str(error), self.secrets).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        if first.startswith("connection failed:") and " failed: " in first[18:]:
            first = first.rsplit(" failed: ", 1)[1]  # the URL already names host and port
        return short(" ".join(first.split()))

    def _grant_fix(self) -> str:
        who = f"user `{self.user}`" if self.user else "the canary's database user"
        return (
            f"grant {who} SELECT, INSERT and DELETE on table {self.table}; if the table does "
            "not exist yet, create it beforehand (docs/probes.md) or grant CREATE on the schema"
        )

    def _schema_fix(self) -> str:
        return (
            f"table {self.table} must have the columns run_id, seq and written_at "
            "(docs/probes.md); or name a table of the canary's own in database.table, "
            "which drillkit creates"
        )

    def _login_fix(self) -> str:
        return (
            "check the user and password of database.url (or the PGPASSWORD / ~/.pgpass "
            "the driver reads) and that the server's pg_hba.conf admits this host"
        )

    def _database_fix(self) -> str:
        return "create the database, or fix its name in database.url"


def _sqlite_primary(name: str) -> str:
    """``SQLITE_CONSTRAINT_PRIMARYKEY`` -> ``SQLITE_CONSTRAINT`` (extended codes refine one)."""
    parts = name.split("_")
    return "_".join(parts[:2])


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without ``secrets`` (raw or URL-encoded), ``password=`` values, URL passwords."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
            text = text.replace(form, HIDDEN)
    text = _PASSWORD_PAIR.sub(lambda m: m.group(1) + HIDDEN, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + HIDDEN + "@", text)
