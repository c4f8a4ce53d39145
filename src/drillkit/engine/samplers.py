"""Continuous samplers: the RTO probe and the stop conditions, running beside the steps.

Each sampler is a thread that measures on a fixed schedule (``next += interval``,
so a slow sample does not shift every later one) and journals every sample;
the RTO is computed later from those journal events, never from memory. A stop
condition that keeps failing for longer than its ``failingFor`` triggers the
run's abort, which undoes every fault.

Probes that can measure on an event loop run in ``async_samplers`` instead, many
to one thread; the event shape and the stop-condition rule live here, once, so
both kinds of sampler write the same journal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from drillkit.engine.clock import Clock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalWriter
from drillkit.errors import DrillError
from drillkit.providers.base import ProbeResult

Measure = Callable[[], ProbeResult]


@dataclass
class SamplerSpec:
    name: str
    """``rto`` or ``stop:<condition name>``."""
    measure: Measure
    interval: float
    failing_for: float | None = None
    """For stop conditions: abort after failing continuously this long (seconds)."""


def journal_sample(journal: JournalWriter, sampler: str, at: float, result: ProbeResult) -> None:
    """Journal one sample; the one event shape ``measure`` and ``samples`` read, whoever sampled."""
    journal.append_sample(sampler, result.ok, at, result.latency_ms, result.summary[:200])


def failed_sample(exc: Exception) -> ProbeResult:
    """The failing sample a probe that raised stands for (the sampler keeps going)."""
    if isinstance(exc, DrillError):
        return ProbeResult(ok=False, summary=exc.message)
    return ProbeResult(ok=False, summary=f"{type(exc).__name__}: {exc}")


class StopConditionWatch:
    """How long a stop condition has been failing, and the abort once it fails for too long."""

    def __init__(self, spec: SamplerSpec) -> None:
        self.spec = spec
        self.failing_since: float | None = None

    def fires(
        self, started: float, result: ProbeResult, abort: AbortSignal, journal: JournalWriter
    ) -> bool:
        """Note one sample; True when the condition fired and its sampler must stop."""
        if self.spec.failing_for is None:
            return False
        if result.ok:
            self.failing_since = None
            return False
        if self.failing_since is None:
            self.failing_since = started
        failing = started - self.failing_since
        if failing < self.spec.failing_for:
            return False
        reason = (
            f"stop condition {self.spec.name.removeprefix('stop:')} failed "
            f"for {failing:.1f}s: {result.summary[:200]}"
        )
        if abort.trigger(reason):
            journal.append("stop-condition-triggered", None, sampler=self.spec.name, reason=reason)
        return True


class Sampler(threading.Thread):
    def __init__(
        self,
        spec: SamplerSpec,
        journal: JournalWriter,
        clock: Clock,
        abort: AbortSignal,
        on_sample: Callable[[str, bool], None],
    ) -> None:
        super().__init__(name=f"sampler-{spec.name}", daemon=True)
        self.spec = spec
        self.journal = journal
        self.clock = clock
        self.abort = abort
        self.on_sample = on_sample
        self.stopping = threading.Event()
        self.samples = 0
        self.missed = 0

    def run(self) -> None:
        next_at = self.clock.monotonic()
        watch = StopConditionWatch(self.spec)
        while not self.stopping.is_set():
            started = self.clock.monotonic()
            result = self._measure_once()
            self.samples += 1
            journal_sample(self.journal, self.spec.name, started, result)
            self.on_sample(self.spec.name, result.ok)
            if watch.fires(started, result, self.abort, self.journal):
                return
            next_at += self.spec.interval
            now = self.clock.monotonic()
            if next_at < now:
                skipped = int((now - next_at) // self.spec.interval) + 1
                self.missed += skipped
                next_at += skipped * self.spec.interval
            self.stopping.wait(max(0.0, next_at - self.clock.monotonic()))

    def _measure_once(self) -> ProbeResult:
        try:
            return self.spec.measure()
        except Exception as exc:  # a broken probe is a failing sample, not a dead sampler
            return failed_sample(exc)

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout)


class CanaryWriter(threading.Thread):
    """Writes sequenced canary records on a fixed schedule and journals each acknowledgement.

    The journal, not this object, is what RPO is computed from: every write is
    a ``canary-write`` event with its sequence number, monotonic time and
    whether the service acknowledged it.
    """

    def __init__(
        self, write: Callable[[int], None], interval: float, journal: JournalWriter, clock: Clock
    ) -> None:
        super().__init__(name="canary-writer", daemon=True)
        self.write = write
        self.interval = interval
        self.journal = journal
        self.clock = clock
        self.stopping = threading.Event()
        self.acknowledged = threading.Event()
        self.seq = 0

    def run(self) -> None:
        next_at = self.clock.monotonic()
        while not self.stopping.is_set():
            self.seq += 1
            started = self.clock.monotonic()
            error = ""
            try:
                self.write(self.seq)
            except DrillError as exc:
                error = exc.message
            except Exception as exc:  # a failed write is data (not acknowledged), not a crash
                error = f"{type(exc).__name__}: {exc}"
            self.journal.append(
                "canary-write", None, seq=self.seq, at=started, ok=not error, error=error[:200]
            )
            if not error:
                self.acknowledged.set()
            next_at += self.interval
            now = self.clock.monotonic()
            if next_at < now:
                next_at += (int((now - next_at) // self.interval) + 1) * self.interval
            self.stopping.wait(max(0.0, next_at - self.clock.monotonic()))

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout)
