"""A thread that looks at a platform every few milliseconds while a drill runs.

Tests judge a drill by what the platform really did mid-run (a node tainted,
a subnet cut off, a health check inverted), not by the drill's own report;
each watcher subclasses ``Poller`` and says in ``poll`` what it looks at.
"""

from __future__ import annotations

import threading
from typing import Self


class Poller:
    """``with Watcher(...) as watcher:`` polls from a daemon thread until the block ends."""

    def __init__(self, name: str, interval: float = 0.02) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        raise NotImplementedError
