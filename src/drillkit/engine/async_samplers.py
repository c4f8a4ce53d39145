"""Many samplers on one event loop: how one process watches hundreds of endpoints.

A thread per sampler is fine for a drill's RTO probe and its stop conditions,
but not for a thousand endpoints: a thousand threads, each waking on its own
schedule, cost more in switching than the probes cost in work. Probes whose
handler can ``measure_async`` therefore share one event-loop thread here; the
rest keep their ``Sampler`` thread.

Each sampler keeps a fixed schedule: slot ``k`` is ``first + k * interval``, so
a slow sample never shifts later ones. First slots are staggered across one
interval (sampler ``i`` of ``n`` starts ``i/n`` of its interval late), so a
thousand samplers at 1 Hz make a steady thousand requests a second, not a burst
of a thousand once a second. A sample may run until its sampler's next slot
and never longer than one interval (at least half an interval when it started
late); a probe that has not answered by then is cancelled and journaled as a
failing sample, so a stalled service costs failing samples, not the schedule.
One sample per handler comes before the schedules, with up to
``WARM_UP_SECONDS``: a handler's first call on a loop imports its client
library and builds its client, which may take longer than a short interval and
must not make a healthy service's first sample fail (``_schedule``).

A *missed deadline* is a slot without an on-time sample: either the sample
started more than ``LATE_AFTER`` (20 ms, the slack the RTO accuracy target
allows for scheduling) after its slot, in which case it is still taken, at its
true start time; or no sample started in the slot at all, because the previous
one of that sampler still held the loop when the slot passed.

Samples are journaled with the same event as the thread ``Sampler``'s
(``journal_sample``), so ``measure`` and ``samples`` read both alike, and stop
conditions abort the run by the same rule (``StopConditionWatch``). ``stop``
cancels requests in flight (they are not journaled: they have no result),
closes every handler's clients on the loop with ``aclose`` and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from drillkit.engine.clock import Clock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalWriter
from drillkit.engine.samplers import SamplerSpec, StopConditionWatch, failed_sample, journal_sample
from drillkit.providers.base import ProbeHandler, ProbeResult, StepContext

logger = logging.getLogger(__name__)

LATE_AFTER = 0.020
"""Seconds after its slot a sample may start and still be on time."""

WARM_UP_SECONDS = 5.0
"""How long a handler's first, unscheduled sample may take (or its interval, if longer)."""

SCHEDULES_WAIT_SECONDS = 1.0
"""How long the schedules wait for the warm-ups before they start anyway."""

_CLOSE_SECONDS = 2.0
"""How long closing one handler's clients may take when the group stops."""


@runtime_checkable
class AsyncProbeHandler(Protocol):
    """A probe handler that can also measure on an event loop (``http`` does)."""

    async def measure_async(self, intent: Any, ctx: StepContext) -> ProbeResult: ...


@runtime_checkable
class ClosesOnLoop(Protocol):
    """A handler whose clients belong to an event loop and are closed on it."""

    async def aclose(self) -> None: ...


class BoundProbe:
    """A probe handler with its intent and context bound: what one sampler measures.

    Calling it measures synchronously (the baseline, thread samplers); when the
    handler can also measure on an event loop (``asynchronous``), the sampler
    group awaits ``measure_async`` instead.
    """

    def __init__(self, handler: ProbeHandler[Any], intent: Any, context: StepContext) -> None:
        self.handler = handler
        self.intent = intent
        self.context = context
        # Decided once: a runtime Protocol check costs tens of microseconds, per sample.
        self._on_loop = handler if isinstance(handler, AsyncProbeHandler) else None

    def __call__(self) -> ProbeResult:
        return self.handler.measure(self.intent, self.context)

    @property
    def asynchronous(self) -> bool:
        return self._on_loop is not None

    async def measure_async(self) -> ProbeResult:
        if self._on_loop is None:
            raise TypeError(f"{type(self.handler).__name__} cannot measure on an event loop")
        return await self._on_loop.measure_async(self.intent, self.context)


@dataclass(eq=False)  # samplers are compared by identity
class AsyncSampler:
    """One sampler in a group: its spec, its probe and what it has done so far."""

    spec: SamplerSpec
    probe: BoundProbe
    samples: int = 0
    late: int = 0
    """Samples taken, but more than ``LATE_AFTER`` after their slot."""
    skipped: int = 0
    """Slots that passed with no sample at all."""
    timed_out: int = 0
    """Samples cancelled at their deadline (journaled as failing)."""
    watch: StopConditionWatch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = StopConditionWatch(self.spec)

    @property
    def missed(self) -> int:
        """Slots without an on-time sample: ``late`` plus ``skipped``."""
        return self.late + self.skipped


@dataclass
class _Running:
    """What exists only while the loop thread runs."""

    loop: asyncio.AbstractEventLoop
    stopping: asyncio.Event
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    froze: bool = False
    """The schedules started and froze the collector's view; stopping unfreezes it."""


class AsyncSamplerGroup:
    """Runs every added sampler on one event-loop thread; ``start`` once, ``stop`` once."""

    def __init__(
        self,
        journal: JournalWriter,
        clock: Clock,
        abort: AbortSignal,
        on_sample: Callable[[str, bool], None],
        *,
        late_after: float = LATE_AFTER,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.abort = abort
        self.on_sample = on_sample
        self.late_after = late_after
        self.samplers: list[AsyncSampler] = []
        self._thread: threading.Thread | None = None
        self._running: _Running | None = None
        self._ready = threading.Event()

    def add(self, spec: SamplerSpec, probe: BoundProbe) -> None:
        """Add a sampler before ``start``; its probe's handler must measure on a loop."""
        if self._thread is not None:
            raise RuntimeError("add samplers before the group starts")
        if spec.interval <= 0:
            raise ValueError(f"sampler {spec.name}: the interval must be positive")
        if not probe.asynchronous:
            raise ValueError(f"sampler {spec.name}: its probe cannot measure on an event loop")
        self.samplers.append(AsyncSampler(spec, probe))

    def start(self) -> None:
        """Start the loop thread; returns once every sampler is on its schedule.

        That is after the warm-up samples (see ``_schedule``), usually within a
        fraction of a second, and never more than ``SCHEDULES_WAIT_SECONDS``.
        """
        if self._thread is not None:
            raise RuntimeError("a sampler group starts once")
        self._thread = threading.Thread(target=self._run, name="sampler-group", daemon=True)
        self._thread.start()
        self._ready.wait()

    @property
    def running(self) -> bool:
        """True from ``start`` until the loop thread has finished."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel samples in flight, close the handlers' clients, join the thread."""
        running = self._running
        if running is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                running.loop.call_soon_threadsafe(running.stopping.set)
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the sampler group did not stop within %.1fs", timeout)

    # ------------------------------------------------------------------ loop thread
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self._ready.set()  # never leave ``start`` waiting, whatever happened

    async def _main(self) -> None:
        running = _Running(asyncio.get_running_loop(), asyncio.Event())
        self._running = running
        scheduling = asyncio.create_task(self._schedule(running), name="schedule")
        try:
            await running.stopping.wait()
        finally:
            scheduling.cancel()
            await asyncio.gather(scheduling, return_exceptions=True)  # no new tasks after it
            tasks = [scheduling, *running.tasks]
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for task, outcome in zip(tasks, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.error(
                        "sampler %s stopped on an error: %s",
                        task.get_name(),
                        outcome,
                        exc_info=outcome,
                    )
            await self._close_clients()
            if running.froze:
                gc.unfreeze()

    async def _schedule(self, running: _Running) -> None:
        """Warm every handler up with one unscheduled sample, then start the schedules.

        A handler's first call on a loop builds its client (TLS context, lazy
        imports): tens of milliseconds that hold the loop and may outlast an
        interval. Paid before the schedules start, it makes no sample late and
        no first sample fail for want of time. The warm-up sample is a real
        one, journaled like the others, standing for its sampler's first slot;
        the schedules start when the warm-ups are done, or after
        ``SCHEDULES_WAIT_SECONDS`` if one is slower (its sampler then waits
        for it, and the slots that pass meanwhile count as missed).
        """
        firsts: dict[int, AsyncSampler] = {}
        for sampler in self.samplers:
            firsts.setdefault(id(sampler.probe.handler), sampler)
        warm_ups = {
            id(s): asyncio.create_task(
                self._take(s, self.clock.monotonic(), max(s.spec.interval, WARM_UP_SECONDS)),
                name=f"{s.spec.name} (warm-up)",
            )
            for s in firsts.values()
        }
        running.tasks.extend(warm_ups.values())
        await asyncio.wait(warm_ups.values(), timeout=SCHEDULES_WAIT_SECONDS)
        origin = self.clock.monotonic()
        count = len(self.samplers)
        for index, sampler in enumerate(self.samplers):
            warm_up = warm_ups.get(id(sampler))
            first = origin + sampler.spec.interval * (index / count + (warm_up is not None))
            running.tasks.append(
                asyncio.create_task(self._sample(sampler, first, warm_up), name=sampler.spec.name)
            )
        # Everything built so far (the run's plan, the probes' clients and their
        # connections) lives until the group stops: moved out of the collector's sight,
        # it is not walked by every full collection, which would otherwise stall the loop
        # for 100-250 ms with a thousand connections and make samples late.
        gc.freeze()
        running.froze = True
        self._ready.set()

    async def _close_clients(self) -> None:
        handlers = {id(s.probe.handler): s.probe.handler for s in self.samplers}
        for handler in handlers.values():
            if not isinstance(handler, ClosesOnLoop):
                continue
            try:
                async with asyncio.timeout(_CLOSE_SECONDS):
                    await handler.aclose()
            except Exception as exc:  # closing is best effort; the samples are journaled
                logger.warning("closing a probe's connections failed: %s", exc)

    async def _sample(
        self, sampler: AsyncSampler, slot: float, warm_up: asyncio.Task[bool] | None
    ) -> None:
        """One sampler's schedule, until cancelled or its stop condition fires."""
        if warm_up is not None and await warm_up:
            return  # its stop condition fired on the warm-up sample
        interval = sampler.spec.interval
        while True:
            await asyncio.sleep(max(0.0, slot - self.clock.monotonic()))
            started = self.clock.monotonic()
            passed = int((started - slot) // interval)
            if passed > 0:  # the loop was held past whole slots: they had no sample
                sampler.skipped += passed
                slot += passed * interval
            if started - slot > self.late_after:
                sampler.late += 1
            if await self._take(sampler, started, max(slot + interval - started, interval / 2)):
                return
            slot += interval

    async def _take(self, sampler: AsyncSampler, started: float, budget: float) -> bool:
        """Take, journal and report one sample; True when its stop condition fired."""
        result = await self._measure(sampler, budget)
        sampler.samples += 1
        journal_sample(self.journal, sampler.spec.name, started, result)
        self.on_sample(sampler.spec.name, result.ok)
        return sampler.watch.fires(started, result, self.abort, self.journal)

    async def _measure(self, sampler: AsyncSampler, budget: float) -> ProbeResult:
        """The probe's result, or a failing one if it raised or outran ``budget`` seconds."""
        started = self.clock.monotonic()
        try:
            async with asyncio.timeout(budget) as scope:
                return await sampler.probe.measure_async()
        except TimeoutError as exc:
            if not scope.expired():
                return failed_sample(exc)  # the probe's own timeout error, not ours
            sampler.timed_out += 1
            elapsed = self.clock.monotonic() - started
            return ProbeResult(
                ok=False,
                summary=f"no result before the next sample was due ({budget:.3g}s); cancelled",
                values={"failed": ["timeout"]},
                latency_ms=round(elapsed * 1000, 1),
            )
        except Exception as exc:  # a broken probe is a failing sample, not a dead sampler
            return failed_sample(exc)
