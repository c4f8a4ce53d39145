"""Watch: every write is a change in one log; a watch replays it from a ``resourceVersion``.

The store appends one ``Change`` per revision (etcd's model: one counter, one
event per write), so a watch started at revision N reads the log from N+1,
then waits for more. A label or field selector turns a modification into
``ADDED`` or ``DELETED`` when an object starts or stops matching, as the
API server's watch cache does. A revision older than the log holds gets the
real ``410 Expired`` as an ``ERROR`` event; ``timeoutSeconds`` ends the
stream; bookmarks are sent when asked for.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.support.kube.errors import ApiError

if TYPE_CHECKING:
    from tests.support.kube.index import Entry


@dataclass(frozen=True, slots=True)
class Change:
    revision: int
    type: str
    """``ADDED``, ``MODIFIED`` or ``DELETED``."""
    resource: str
    """The qualified resource name (``pods``, ``deployments.apps``)."""
    entry: Entry
    before: Entry | None = None
    """The state the change replaced (a modification)."""


class EventLog:
    """The last ``capacity`` changes, in revision order, and a condition to wait on."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._changes: deque[Change] = deque(maxlen=capacity)
        self._condition = threading.Condition()
        self._closed = False

    def append(self, change: Change) -> None:
        with self._condition:
            self._changes.append(change)
            self._condition.notify_all()

    def since(self, revision: int) -> list[Change] | None:
        """Changes after ``revision``; ``None`` when the oldest of them is no longer held."""
        with self._condition:
            if not self._changes or self._changes[-1].revision <= revision:
                return []
            if revision + 1 < self._changes[0].revision:
                return None
            count = self._changes[-1].revision - revision  # one change per revision
            return [self._changes[-i] for i in range(count, 0, -1)]

    def oldest(self) -> int:
        with self._condition:
            return self._changes[0].revision if self._changes else 0

    def wait(self, revision: int, timeout: float) -> bool:
        """Block until a change after ``revision`` exists, the log closes, or ``timeout``."""
        with self._condition:
            return self._condition.wait_for(
                lambda: (
                    self._closed or bool(self._changes and self._changes[-1].revision > revision)
                ),
                timeout,
            )

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake every watcher so its stream ends (the server is stopping or resetting)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()


def too_old(revision: int, oldest: int) -> ApiError:
    return ApiError(410, f"too old resource version: {revision} ({oldest})", reason="Expired")


def follow(
    log: EventLog,
    since: int,
    *,
    wanted: Callable[[Change], str | None],
    timeout: float,
    bookmark: Callable[[int], bytes] | None,
    encode: Callable[[str, Entry], bytes],
    stopping: Callable[[], bool],
) -> Iterator[bytes]:
    """JSON lines for the changes after ``since`` that ``wanted`` keeps, until ``timeout``.

    ``wanted`` names the event type a change shows as to this watch (or
    ``None`` to skip it), which is where selectors turn modifications into
    additions and deletions.
    """
    deadline = time.monotonic() + timeout
    position = since
    while not stopping() and not log.closed:
        changes = log.since(position)
        if changes is None:
            yield encode_error(too_old(position, log.oldest()))
            return
        for change in changes:
            position = change.revision
            shown = wanted(change)
            if shown is not None:
                yield encode(shown, change.entry)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        log.wait(position, min(left, 0.5))
    if bookmark is not None and not stopping():
        yield bookmark(position)


def encode_error(error: ApiError) -> bytes:
    import json

    return (
        json.dumps({"type": "ERROR", "object": error.status()}, separators=(",", ":")).encode()
        + b"\n"
    )
