"""Ctrl-C and SIGTERM during a run: stop, then undo; never skip the undo.

While a run is active, SIGINT and SIGTERM do not raise: they set the abort
event, and the runner's own loop notices, stops the current step and undoes
every applied fault. A second Ctrl-C prints what is still pending and keeps
undoing; only SIGKILL can stop drillkit mid-undo, and ``drill recover``
exists for that case. Handlers are installed only in the main thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

_NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


class AbortSignal:
    """Why the run must stop; set once, read by everyone."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self._lock = threading.Lock()

    def trigger(self, reason: str) -> bool:
        """Set the reason if none is set yet; True if this call set it."""
        with self._lock:
            if self.reason is not None:
                return False
            self.reason = reason
            self.event.set()
            return True

    @property
    def triggered(self) -> bool:
        return self.event.is_set()


class InterruptGuard:
    """Installs the handlers for the life of a run and restores the old ones after."""

    def __init__(
        self, abort: AbortSignal, pending: Callable[[], list[str]], say: Callable[[str], None]
    ) -> None:
        self.abort = abort
        self.pending = pending
        self.say = say
        self.count = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for number in _NAMES:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.count += 1
        name = _NAMES.get(signal.Signals(number), str(number))
        if self.abort.trigger(f"interrupted by {name}"):
            self.say(
                f"{name} received: stopping the current step and undoing every applied "
                "fault (press Ctrl-C again to see what is pending)"
            )
            return
        pending = self.pending()
        listed = "; ".join(pending) if pending else "nothing"
        self.say(f"{name} again: undo is not skipped. Still pending: {listed}")
