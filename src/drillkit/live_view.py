"""The live terminal view of a run (Rich): phase, step, elapsed time, RTO clock, probe status.

Used only when stdout is a terminal; CI logs get ``PlainProgress`` lines. The
status panel is redrawn in place while every event line is printed above it,
so the scrollback still holds the whole story after the run.
"""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text


class LiveProgress:
    def __init__(self, title: str) -> None:
        self.console = Console(highlight=False)
        self.title = title
        self.started = time.monotonic()
        self.phase_name = "starting"
        self.step_text = "-"
        self.probes: dict[str, bool] = {}
        self.fault_started: float | None = None
        self._lock = threading.Lock()
        self._live = Live(
            self._render(),
            console=self.console,
            refresh_per_second=8,
            transient=True,
            get_renderable=self._render,
        )
        self._live.start()

    def _render(self) -> Group:
        elapsed = time.monotonic() - self.started
        rto = (
            f"{time.monotonic() - self.fault_started:6.1f}s"
            if self.fault_started is not None
            else "not started"
        )
        probes = Text()
        for name, ok in sorted(self.probes.items()):
            probes.append(f" {name} ", style="black on green" if ok else "white on red")
            probes.append(" ")
        return Group(
            Text(f"{self.title}   elapsed {elapsed:6.1f}s   RTO clock {rto}", style="bold"),
            Text(f"phase {self.phase_name}   step {self.step_text}"),
            probes,
        )

    def _line(self, text: str, style: str = "") -> None:
        elapsed = time.monotonic() - self.started
        with self._lock:
            self._live.console.print(Text(f"[{elapsed:7.2f}s] {text}", style=style))

    def phase(self, name: str) -> None:
        self.phase_name = name
        self._line(f"phase {name}", "dim")

    def step_started(self, index: int, total: int, name: str, kind: str, summary: str) -> None:
        self.step_text = f"{index}/{total} {name} ({kind})"
        self._line(f"step {index}/{total} {name} ({kind}): {summary}")

    def step_ended(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        style = "green" if status == "passed" else "red"
        extra = f": {detail}" if detail else ""
        self._line(f"step {name} {status} in {seconds:.2f}s{extra}", style)

    def sample(self, sampler: str, ok: bool, fault_started_at: float | None) -> None:
        if fault_started_at is not None and self.fault_started is None:
            self.fault_started = fault_started_at
        changed = self.probes.get(sampler) != ok
        self.probes[sampler] = ok
        if changed:
            self._line(
                f"{sampler} probe {'passing' if ok else 'FAILING'}", "green" if ok else "red"
            )

    def message(self, text: str) -> None:
        self._line(text)

    def warning(self, text: str) -> None:
        self._line(f"warning: {text}", "yellow")

    def confirm(self, prompt: str, expected: str) -> bool:
        if not sys.stdin.isatty():
            return False
        self._live.stop()
        try:
            answer = self.console.input(f"{prompt} Type [bold]{expected}[/] to continue: ")
        except (EOFError, KeyboardInterrupt):
            return False
        finally:
            self._live.start()
        return answer.strip() == expected

    def close(self) -> None:
        self._live.stop()
