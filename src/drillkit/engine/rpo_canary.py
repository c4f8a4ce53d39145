"""One run's RPO canary: write before the fault, stop before undo, read back, clean up.

The writer thread (``samplers.CanaryWriter``) journals every write; this
module owns the canary's life around it: the first acknowledged write must
come before any fault (otherwise nothing could be measured), writes stop
before the undo (so the undo cannot pass for recovery), and read-back and
cleanup happen once, with failures journaled rather than raised.
"""

from __future__ import annotations

import contextlib
from typing import Any

from drillkit.engine.clock import Clock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalWriter
from drillkit.engine.retry import MAX_ERROR_TEXT
from drillkit.engine.samplers import CanaryWriter
from drillkit.errors import DrillError, GuardRefused, RunAborted
from drillkit.providers.base import CanaryHandler, StepContext
from drillkit.spec.probes import RpoCanaryProbe

_POLL_SECONDS = 0.02


class RpoCanary:
    def __init__(
        self,
        intent: RpoCanaryProbe,
        handler: CanaryHandler[Any],
        run_id: str,
        context: StepContext,
        journal: JournalWriter,
        clock: Clock,
        warmup_seconds: float = 0.0,
    ) -> None:
        self.intent = intent
        self.warmup = warmup_seconds
        self.handler = handler
        self.run_id = run_id
        self.context = context
        self.journal = journal
        self.clock = clock
        self.interval = intent.interval.total_seconds()
        self._writer: CanaryWriter | None = None
        self._finished = False

    def start(self, abort: AbortSignal) -> None:
        """Start writing; return once one write is acknowledged (refuse the run otherwise)
        and the warmup has passed."""
        self._writer = CanaryWriter(
            lambda seq: self.handler.write(self.intent, self.run_id, seq, self.context),
            self.interval,
            self.journal,
            self.clock,
        )
        self._writer.start()
        self.journal.append(
            "sampler-started", None, sampler="rpo-canary", intervalSeconds=self.interval
        )
        limit = self.clock.monotonic() + max(10.0, 3 * self.interval)
        while not self._writer.acknowledged.wait(_POLL_SECONDS):
            if abort.triggered:
                raise RunAborted(abort.reason or "aborted")
            if self.clock.monotonic() >= limit:
                raise GuardRefused(
                    "refused: the RPO canary could not write a single record before the fault",
                    fix="check the canary's writeUrl or database and the service",
                )
        if self.warmup > 0:
            self.journal.append("canary-warmup", None, seconds=self.warmup)
            if abort.event.wait(self.warmup):
                raise RunAborted(abort.reason or "aborted")

    def stop(self) -> None:
        """No more writes; safe to call more than once."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.stop()
        self.journal.append(
            "sampler-stopped", None, sampler="rpo-canary", samples=writer.seq, missed=0
        )

    def finish(self) -> None:
        """Read back which records survived, then remove this run's records; once."""
        if self._finished:
            return
        self._finished = True
        try:
            survivors = self.handler.read(self.intent, self.run_id, self.context)
            self.journal.append("canary-read", None, survivors=sorted(set(survivors)))
        except Exception as exc:  # a failed read-back is a measurement outcome, journaled
            self.journal.append("canary-read", None, error=_message(exc))
        try:
            self.handler.cleanup(self.intent, self.run_id, self.context)
            self.journal.append("canary-cleanup", None, ok=True)
        except Exception as exc:
            self.journal.append("canary-cleanup", None, ok=False, error=_message(exc))
        self._close_handler()

    def _close_handler(self) -> None:
        """Release the handler's pooled connections (HTTP clients, database engines), if any.

        ``close`` is optional in the canary handler protocol; a failure to close
        changes no measurement, so it is not an error of the run.
        """
        close = getattr(self.handler, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()


def _message(exc: Exception) -> str:
    return (exc.message if isinstance(exc, DrillError) else repr(exc))[:MAX_ERROR_TEXT]
