"""The run journal: ``journal.jsonl``, the append-only, hash-chained event log of one run.

The journal is the single source of truth of a run. Measurements (RTO, RPO)
and reports are computed from it, never from in-memory state alone, and after
a crash ``drill recover`` reads it to learn which faults are still applied. So
it must survive the process dying at any instant, and an auditor must be able
to tell, years later, that nobody edited it.

Format: one event per line, each line the RFC 8785 canonical JSON of the event.
An event's ``hash`` is the sha256 of the canonical JSON of everything else in
it, and its ``prev`` is the hash of the event before (``GENESIS`` for the
first), so changing, removing, duplicating or reordering any event breaks the
chain; ``read_journal`` names the first event or line that fails.

Durability: ``JournalWriter`` writes each event as one complete line with a
single ``os.write`` on a file opened with ``O_APPEND``, so a ``kill -9`` leaves
at worst one unfinished last line. Reading reports that line
(``JournalRead.partial_tail``) instead of failing, and ``JournalWriter.resume``
cuts it off before continuing the chain. Without ``fsync=True`` an event
survives a crash of the process (it is in the kernel's page cache the moment
``append`` returns) but not a power loss; ``benchmarks/journal_overhead.py``
measures what ``fsync`` costs.

Secrets never go into a journal. It is copied into the evidence bundle, read
by auditors and kept for years: callers record the *name* of a secret and
whether it resolved, never its value, a token, or a response body that may
carry one. Nothing here can tell a secret from any other string, so keeping
this rule is the callers' job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from drillkit.engine.clock import Clock, SystemClock, rfc3339
from drillkit.engine.journal_lines import (
    _SAFE_INTEGER,
    _data_piece,
    _json_copy,
    _line,
    _rest_piece,
    sample_data_piece,
)
from drillkit.errors import DrillError

GENESIS = "0" * 64
"""The ``prev`` of the first event of every journal."""

_FIELDS = ("seq", "time", "mono", "type", "step", "data", "prev", "hash")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_LINE_START = b'{"data":{'  # every canonical event line starts so: "data" sorts first
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND
_CORRUPT_FIX = (
    "the journal was changed or damaged after drillkit wrote it, so this run's record "
    "cannot be trusted; compare it with the copy in the signed evidence bundle (`drill verify`)"
)


WRITE_AHEAD = frozenset({"fault-undo-planned"})
"""Events that must be on disk before the change they record: never dropped, even while a
broken journal's other events are (``JournalWriter.tolerate_failures``)."""


class JournalError(DrillError):
    """A journal is missing, corrupt, or its hash chain is broken."""


@dataclass(frozen=True)
class JournalEvent:
    """One line of the journal. Construct it through ``JournalWriter.append`` or ``from_json``."""

    seq: int
    time: str
    mono: float
    type: str
    step: str | None
    data: dict[str, Any]
    prev: str
    hash: str

    def __post_init__(self) -> None:
        problem = _field_problem(self)
        if problem is not None:
            raise ValueError(problem)

    def body(self) -> dict[str, Any]:
        """Every field but ``hash``: what the hash is computed over."""
        return {
            "seq": self.seq,
            "time": self.time,
            "mono": self.mono,
            "type": self.type,
            "step": self.step,
            "data": self.data,
            "prev": self.prev,
        }

    def to_json_line(self) -> bytes:
        """The journal line of this event: canonical JSON of body plus hash, then ``\\n``."""
        data_piece = _data_piece(self.data)
        rest_piece = _rest_piece(self.seq, self.time, self.mono, self.type, self.step, self.prev)
        return _line(data_piece, self.hash, rest_piece)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> JournalEvent:
        """Parse one decoded journal line; ``ValueError`` says what is wrong with it.

        Only the shape is checked here; whether the hash matches and chains is
        ``read_journal``'s job, since it needs the neighbouring events.
        """
        if not isinstance(obj, dict):
            raise ValueError(f"an event is a JSON object, found {_short(obj)}")
        missing = [key for key in _FIELDS if key not in obj]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        unexpected = sorted(set(obj) - set(_FIELDS))
        if unexpected:
            raise ValueError(f"unexpected {', '.join(unexpected)}")
        mono = obj["mono"]
        if type(mono) is int:  # canonical JSON writes 3.0 as 3
            mono = float(mono)
        return cls(
            seq=obj["seq"],
            time=obj["time"],
            mono=mono,
            type=obj["type"],
            step=obj["step"],
            data=obj["data"],
            prev=obj["prev"],
            hash=obj["hash"],
        )


@dataclass
class JournalRead:
    """What ``read_journal`` found: the complete events and an unfinished last line, if any."""

    events: list[JournalEvent]
    partial_tail: bytes | None
    """The bytes after the last newline (a crash mid-write); None if the file ends cleanly."""
    path: Path

    @property
    def head(self) -> str:
        """The hash of the last complete event, or ``GENESIS`` for an empty journal."""
        return self.events[-1].hash if self.events else GENESIS


def read_journal(path: Path, *, verify: bool = True) -> JournalRead:
    """Read a journal and, with ``verify``, check its whole hash chain.

    Raises ``JournalError`` naming the first line or event that fails. An
    unfinished last line is not an error: it is returned as ``partial_tail``.
    """
    read, _ = _read(Path(path), verify=verify)
    return read


def read_intact_prefix(path: Path) -> tuple[list[JournalEvent], JournalError | None]:
    """The events before the first one that fails to parse or chain, and that failure.

    For ``drill recover`` on a damaged journal: every event of the prefix chains
    from the genesis, so its undo records are as trustworthy as any journal's;
    nothing after the damage is read.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
    lines = raw[: raw.rfind(b"\n") + 1].split(b"\n")[:-1]
    events: list[JournalEvent] = []
    previous = GENESIS
    for index, line in enumerate(lines):
        try:
            event = _parse_line(Path(path).name, index + 1, line)
            _verify_event(Path(path).name, index, event, line, previous)
        except JournalError as exc:
            return events, exc
        previous = event.hash
        events.append(event)
    return events, None


class JournalWriter:
    """Appends events to one journal file; safe to share between threads."""

    _path: Path
    _clock: Clock
    _fsync: bool
    _fd: int | None
    _lock: threading.Lock
    _count: int
    _head: str
    _size: int
    _broken: DrillError | None

    def __init__(self, path: Path, clock: Clock | None = None, *, fsync: bool = False) -> None:
        """Start a new journal at ``path``, creating its folders.

        ``fsync=True`` makes every event durable across a power loss, at the
        cost of one disk flush per event.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, _OPEN_FLAGS | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _not_writable(path, exc) from exc
        try:
            size = os.fstat(fd).st_size
            if size == 0 and fsync:
                _sync_folder(path.parent)
        except OSError as exc:
            os.close(fd)
            raise _not_writable(path, exc) from exc
        if size:
            os.close(fd)
            raise DrillError(
                f"{path} already holds a journal; a new run must start a new one",
                fix="give each run its own folder, or continue a crashed run with `drill recover`",
            )
        self._attach(path, clock, fsync, fd, count=0, head=GENESIS, size=0)

    @classmethod
    def resume(
        cls, path: Path, clock: Clock | None = None, *, fsync: bool = False
    ) -> tuple[JournalWriter, bytes | None]:
        """Continue an existing journal after verifying it.

        An unfinished last line (a crash mid-write) is cut off; its bytes are
        returned so the caller can journal that it was lost. The chain then
        continues from the last complete event.
        """
        path = Path(path)
        read, length = _read(path, verify=True)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as exc:
            raise _not_writable(path, exc) from exc
        try:
            if read.partial_tail is not None:
                found = os.fstat(fd).st_size
                if found != length + len(read.partial_tail):
                    raise DrillError(
                        f"{path} changed while it was being resumed",
                        fix="make sure no other drill process is writing this run",
                    )
                os.ftruncate(fd, length)
                if fsync:
                    os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise _not_writable(path, exc) from exc
        except DrillError:
            os.close(fd)
            raise
        writer = cls.__new__(cls)
        writer._attach(path, clock, fsync, fd, count=len(read.events), head=read.head, size=length)
        return writer, read.partial_tail

    def _attach(
        self,
        path: Path,
        clock: Clock | None,
        fsync: bool,
        fd: int,
        *,
        count: int,
        head: str,
        size: int,
    ) -> None:
        self._path = path
        self._clock = clock if clock is not None else SystemClock()
        self._fsync = fsync
        self._fd = fd
        self._lock = threading.Lock()
        self._count = count
        self._head = head
        self._size = size
        self._broken = None
        self._tolerant = False
        self.dropped = 0
        """Events not written because the journal had failed, once failures are tolerated."""

    @property
    def path(self) -> Path:
        return self._path

    @property
    def failure(self) -> DrillError | None:
        """Why the journal stopped accepting events, if it did."""
        return self._broken

    def tolerate_failures(self) -> None:
        """From now on, an event the journal can no longer write is dropped, not raised.

        Only for cleanup (undo, unlock): once a fault is applied, a full disk must
        not also stop its undo. Everything before stays strict, so no fault is
        ever applied without its undo record on disk. Dropped events are
        counted in ``dropped``; the caller reports ``failure`` at the end.
        """
        self._tolerant = True

    @property
    def head(self) -> str:
        """The hash of the last event written (``GENESIS`` before the first)."""
        return self._head

    @property
    def count(self) -> int:
        """How many events the journal holds, which is also the next event's seq."""
        return self._count

    def append(self, type: str, step: str | None = None, /, **data: Any) -> JournalEvent:
        """Write one event and return it; it is in the file when this returns.

        ``data`` must hold JSON values only (dict with str keys, list, str,
        int within ±(2^53-1), finite float, bool, None); anything else is a
        programming error and raises ``TypeError`` naming the key. A failed
        write raises ``DrillError`` and the writer refuses further events.
        """
        if not isinstance(type, str) or not type:
            raise TypeError(f"a journal event type is a non-empty str, got {type!r}")
        if step is not None and not isinstance(step, str):
            raise TypeError(f"a journal event step is a str or None, got {step!r}")
        payload = {key: _json_copy(value, key) for key, value in data.items()}
        return self._append_piece(type, step, payload, _data_piece(payload))

    def append_sample(
        self, sampler: str, ok: bool, at: float, latency_ms: float | None, summary: str
    ) -> JournalEvent:
        """``append("sample", None, ...)`` for the one event a sampler writes every interval,
        with its canonical ``data`` written out instead of encoded generally: byte for byte
        the same line (tests hold it to ``append``), at a fraction of the cost."""
        piece = sample_data_piece(sampler, ok, at, latency_ms, summary)
        if piece is None:
            return self.append(
                "sample", None, sampler=sampler, ok=ok, at=at, latencyMs=latency_ms, summary=summary
            )
        payload = {
            "sampler": sampler,
            "ok": ok,
            "at": at,
            "latencyMs": latency_ms,
            "summary": summary,
        }
        return self._append_piece("sample", None, payload, piece)

    def _append_piece(
        self, type: str, step: str | None, payload: dict[str, Any], data_piece: bytes
    ) -> JournalEvent:
        with self._lock:
            if self._tolerant and self._broken is not None and type not in WRITE_AHEAD:
                return self._dropped(type, step, payload)
            fd = self._open_fd()
            time = rfc3339(self._clock.wall())
            mono = float(self._clock.monotonic())
            rest_piece = _rest_piece(self._count, time, mono, type, step, self._head)
            digest = hashlib.sha256(data_piece + rest_piece).hexdigest()
            event = JournalEvent(self._count, time, mono, type, step, payload, self._head, digest)
            line = _line(data_piece, digest, rest_piece)
            try:
                self._write(fd, line)
            except DrillError:
                if not self._tolerant or type in WRITE_AHEAD:
                    raise
                return self._dropped(type, step, payload)
            self._count += 1
            self._head = digest
            self._size += len(line)
        return event

    def _dropped(self, type: str, step: str | None, payload: dict[str, Any]) -> JournalEvent:
        """The event as it would have been, not written (the lock is held)."""
        self.dropped += 1
        time = rfc3339(self._clock.wall())
        mono = float(self._clock.monotonic())
        rest_piece = _rest_piece(self._count, time, mono, type, step, self._head)
        digest = hashlib.sha256(_data_piece(payload) + rest_piece).hexdigest()
        return JournalEvent(self._count, time, mono, type, step, payload, self._head, digest)

    def close(self) -> None:
        """Close the file; further appends raise ``ValueError``. Closing twice is fine."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JournalWriter({str(self._path)!r}, count={self._count})"

    def _open_fd(self) -> int:
        if self._broken is not None:  # a fresh error each time, not one growing traceback
            raise DrillError(self._broken.message, fix=self._broken.fix)
        if self._fd is None:
            raise ValueError(f"the journal {self._path} is closed")
        return self._fd

    def _write(self, fd: int, line: bytes) -> None:
        try:
            written = os.write(fd, line)
            while written < len(line):  # a short write: finish the line before anything else
                written += os.write(fd, line[written:])
            if self._fsync:
                os.fsync(fd)
        except OSError as exc:
            # Fail closed: an event that may or may not be on disk means the
            # record is no longer certain. Cut a half-written line if we can,
            # so that `drill recover` still reads a clean chain.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
            self._broken = DrillError(
                f"cannot write to the journal {self._path}: {exc.strerror or exc}",
                fix="free disk space or choose another folder with --output DIR; "
                "`drill recover` undoes what the journal recorded",
            )
            raise self._broken from exc


def _read(path: Path, *, verify: bool) -> tuple[JournalRead, int]:
    """The journal at ``path`` and the length in bytes of its complete lines."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise JournalError(
            f"{path}: no journal at this path",
            fix="check the run folder; every run writes its journal to journal.jsonl",
        ) from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
    length = raw.rfind(b"\n") + 1
    lines = raw[:length].split(b"\n")[:-1]
    name = path.name
    events: list[JournalEvent] = []
    previous = GENESIS
    for index, line in enumerate(lines):
        event = _parse_line(name, index + 1, line)
        if verify:
            _verify_event(name, index, event, line, previous)
            previous = event.hash
        events.append(event)
    partial_tail = raw[length:] or None
    if verify and partial_tail is not None:
        _verify_tail(name, len(lines) + 1, partial_tail)
    return JournalRead(events=events, partial_tail=partial_tail, path=path), length


def _parse_line(name: str, number: int, line: bytes) -> JournalEvent:
    try:
        obj = json.loads(
            line.decode("utf-8"), parse_int=_parse_integer, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _corrupt(name, f"line {number} is not valid JSON") from None
    try:
        return JournalEvent.from_json(obj)
    except ValueError as exc:
        raise _corrupt(name, f"line {number} is not a journal event: {exc}") from None


def _verify_event(name: str, index: int, event: JournalEvent, line: bytes, previous: str) -> None:
    if event.seq != index:
        raise _corrupt(name, f"event {index} has seq {event.seq}, expected {index}")
    try:
        data_piece = _data_piece(event.data)
        rest_piece = _rest_piece(
            event.seq, event.time, event.mono, event.type, event.step, event.prev
        )
    except DrillError as exc:  # a lone surrogate or an integer beyond 2^53, say
        raise _corrupt(name, f"line {index + 1} is not a journal event: {exc.message}") from None
    if hashlib.sha256(data_piece + rest_piece).hexdigest() != event.hash:
        raise _corrupt(name, f"event {index} hash does not match its content")
    if event.prev != previous:
        if index == 0:
            raise _corrupt(name, "event 0 does not start the chain: its prev is not the genesis")
        raise _corrupt(name, f"event {index} hash does not chain to event {index - 1}")
    if line + b"\n" != _line(data_piece, event.hash, rest_piece):
        raise _corrupt(name, f"event {index} is not in canonical form")


def _verify_tail(name: str, number: int, tail: bytes) -> None:
    """Refuse a last line that a crash mid-write cannot have left.

    A crash leaves a prefix of a canonical line: it starts like every event
    line and holds no complete JSON value followed by more bytes.
    """
    if not (tail.startswith(_LINE_START) or _LINE_START.startswith(tail)):
        raise _corrupt(name, f"line {number} is not valid JSON")
    text = tail.decode("utf-8", errors="replace")
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return  # unfinished, as expected
    if end != len(text):
        raise _corrupt(name, f"line {number} is not valid JSON")


def _field_problem(event: JournalEvent) -> str | None:
    if type(event.seq) is not int or event.seq < 0:
        return f"seq is not a non-negative integer: {_short(event.seq)}"
    if not isinstance(event.time, str) or not _TIMESTAMP.fullmatch(event.time):
        return f"time is not an RFC 3339 UTC timestamp: {_short(event.time)}"
    if type(event.mono) is not float or not math.isfinite(event.mono):
        return f"mono is not a finite number: {_short(event.mono)}"
    if not isinstance(event.type, str) or not event.type:
        return f"type is not a non-empty string: {_short(event.type)}"
    if event.step is not None and not isinstance(event.step, str):
        return f"step is not a string or null: {_short(event.step)}"
    if not isinstance(event.data, dict):
        return f"data is not an object: {_short(event.data)}"
    for key in ("prev", "hash"):
        value = getattr(event, key)
        if not isinstance(value, str) or not _HEX_DIGEST.fullmatch(value):
            return f"{key} is not a sha256 hex digest: {_short(value)}"
    return None


def _parse_integer(text: str) -> int | float:
    """An integer literal as RFC 8785 means it: a double once beyond ±(2^53-1).

    The canonical form of the float ``1e20`` is ``100000000000000000000``;
    reading it back as a Python int would make it a different value.
    """
    value = int(text)
    return value if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else float(text)


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _corrupt(name: str, problem: str) -> JournalError:
    return JournalError(f"{name}: {problem}", fix=_CORRUPT_FIX)


def _not_writable(path: Path, exc: OSError) -> DrillError:
    reason = exc.strerror or str(exc)
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                reason = f"{ancestor} is a file, not a folder"
            break
    return DrillError(
        f"the journal {path} is not writable: {reason}",
        fix="choose a folder you can write to with --output DIR",
    )


def _sync_folder(folder: Path) -> None:
    """Make a new file's directory entry durable, so fsync'd events survive a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
