"""How a run tells the operator what is happening, without knowing about terminals.

The runner calls a ``Progress``; the CLI passes the Rich live view on a TTY
and ``PlainProgress`` otherwise (CI logs: one timestamped line per event,
nothing redrawn). Messages never contain secrets.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def phase(self, name: str) -> None: ...

    def step_started(self, index: int, total: int, name: str, kind: str, summary: str) -> None: ...

    def step_ended(self, name: str, status: str, seconds: float, detail: str = "") -> None: ...

    def sample(self, sampler: str, ok: bool, fault_started_at: float | None) -> None: ...

    def message(self, text: str) -> None: ...

    def warning(self, text: str) -> None: ...

    def confirm(self, prompt: str, expected: str) -> bool:
        """Ask the operator to type ``expected``; False when not interactive."""

    def close(self) -> None: ...


class PlainProgress:
    """One line per event with the elapsed time: readable in CI logs and pipes."""

    def __init__(self, stream: TextIO | None = None, *, interactive: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.interactive = interactive
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_sample: dict[str, bool] = {}

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        with self._lock:
            self.stream.write(f"[{elapsed:7.2f}s] {text}\n")
            self.stream.flush()

    def phase(self, name: str) -> None:
        self._line(f"phase {name}")

    def step_started(self, index: int, total: int, name: str, kind: str, summary: str) -> None:
        self._line(f"step {index}/{total} {name} ({kind}): {summary}")

    def step_ended(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        extra = f": {detail}" if detail else ""
        self._line(f"step {name} {status} in {seconds:.2f}s{extra}")

    def sample(self, sampler: str, ok: bool, fault_started_at: float | None) -> None:
        # Only changes are printed: a line per sample would drown a CI log.
        if self._last_sample.get(sampler) == ok:
            return
        self._last_sample[sampler] = ok
        clock = ""
        if fault_started_at is not None:
            clock = f" (RTO clock {time.monotonic() - fault_started_at:.2f}s)"
        self._line(f"{sampler} probe {'passing' if ok else 'FAILING'}{clock}")

    def message(self, text: str) -> None:
        self._line(text)

    def warning(self, text: str) -> None:
        self._line(f"warning: {text}")

    def confirm(self, prompt: str, expected: str) -> bool:
        if not self.interactive:
            return False
        with self._lock:
            self.stream.write(f"{prompt} Type `{expected}` to continue: ")
            self.stream.flush()
        try:
            answer = sys.stdin.readline().strip()
        except (OSError, ValueError):
            return False
        return answer == expected

    def close(self) -> None:
        return None


class SilentProgress(PlainProgress):
    """Progress that prints nothing (library use and tests)."""

    def _line(self, text: str) -> None:
        return None
