"""The sampler group against real local HTTP servers: schedule, deadlines, aborts, stop, journal."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.async_samplers import AsyncSamplerGroup, BoundProbe
from drillkit.engine.clock import SystemClock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalEvent, JournalWriter, read_journal
from drillkit.engine.measure import summarize_events
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.engine.samplers import Sampler, SamplerSpec
from drillkit.probes.http import HttpProbeHandler
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.spec.drill import Drill
from drillkit.spec.probes import HttpProbe
from drillkit.spec.repository import DrillRepository
from tests.support.http_server import LocalHttpServer
from tests.support.lab import TARGET, Lab
from tests.support.probe_context import ProbeContext
from tests.support.test_provider import TestProvider

CLOCK = SystemClock()


def http(url: str) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "url": url})


class Recorder:
    """The ``on_sample`` callback: every (sampler, ok) in order, and from which thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []
        self.threads: set[str] = set()

    def __call__(self, sampler: str, ok: bool) -> None:
        self.seen.append((sampler, ok))
        self.threads.add(threading.current_thread().name)


class ClosingHttp(HttpProbeHandler):
    """The real ``http`` handler, counting how often its loop clients were closed."""

    def __init__(self) -> None:
        super().__init__(provider=None)
        self.aclosed = 0

    async def aclose(self) -> None:
        self.aclosed += 1
        await super().aclose()


class PromptHttpServer(LocalHttpServer):
    """The local test server with Nagle's algorithm off on its connections.

    It writes headers and body as two small writes; with Nagle on, the second
    waits for the client's delayed ACK, about 40 ms on Linux, longer than some
    intervals here. A service worth sampling at 50 ms answers faster than that.
    """

    def _track(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super()._track(connection)


class LoopHoggingHttp(HttpProbeHandler):
    """A badly written async handler: it calls the blocking client on the event loop."""

    async def measure_async(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        return self.measure(intent, ctx)


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with PromptHttpServer() as running:
        yield running


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalWriter]:
    with JournalWriter(tmp_path / "journal.jsonl", clock=CLOCK) as writer:
        yield writer


def group_of(
    journal: JournalWriter,
    probes: list[tuple[str, HttpProbeHandler, str, float]],
    *,
    failing_for: float | None = None,
    abort: AbortSignal | None = None,
    on_sample: Recorder | None = None,
) -> AsyncSamplerGroup:
    """A group of samplers, each ``(name, handler, url, interval)``."""
    group = AsyncSamplerGroup(journal, CLOCK, abort or AbortSignal(), on_sample or Recorder())
    for name, handler, url, interval in probes:
        bound = BoundProbe(handler, http(url), ProbeContext(step=name))
        group.add(SamplerSpec(name, bound, interval, failing_for), bound)
    return group


def samples(path: Path, sampler: str | None = None) -> list[JournalEvent]:
    events = read_journal(path).events
    return [
        e
        for e in events
        if e.type == "sample" and (sampler is None or e.data["sampler"] == sampler)
    ]


def run_for(group: AsyncSamplerGroup, seconds: float) -> None:
    group.start()
    try:
        time.sleep(seconds)
    finally:
        group.stop()


# --- schedule ---------------------------------------------------------------------------------


def test_slow_samples_do_not_shift_the_schedule(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    # 40% of the interval: a loop that sleeps an interval after each sample drifts 20 ms a turn.
    server.set(delay=0.02)
    group = group_of(journal, [("rto", HttpProbeHandler(None), server.url, 0.05)])

    run_for(group, 1.0)

    starts = [float(e.data["at"]) for e in samples(journal.path)][1:]  # after the warm-up
    assert 17 <= len(starts) <= 21
    offsets = [at - (starts[0] + k * 0.05) for k, at in enumerate(starts)]
    assert min(offsets) > -0.005, offsets  # never early
    # No drift: the last samples sit as close to their slots as the first (not 20 ms a turn).
    first, last = sum(offsets[:5]) / 5, sum(offsets[-5:]) / 5
    assert abs(last - first) < 0.015, offsets


def test_first_samples_are_staggered_across_one_interval(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    handler = HttpProbeHandler(None)
    group = group_of(journal, [(f"s{i}", handler, server.url, 1.0) for i in range(10)])

    run_for(group, 1.3)

    scheduled: dict[str, list[float]] = {}
    for event in samples(journal.path):
        scheduled.setdefault(event.data["sampler"], []).append(float(event.data["at"]))
    # s0 warmed the shared handler up; its warm-up sample stands for its first slot.
    starts = [scheduled[f"s{i}"][0] for i in range(1, 10)] + [scheduled["s0"][1]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(0.05 < gap < 0.15 for gap in gaps), gaps  # 100 ms apart: 1 s spread over 10


# --- deadlines --------------------------------------------------------------------------------


def test_a_server_stalling_longer_than_the_interval_costs_failing_samples_not_deadlines(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    group = group_of(journal, [("rto", HttpProbeHandler(None), server.url, 0.1)])
    group.start()
    server.set(delay=0.25)
    try:
        time.sleep(0.75)
    finally:
        group.stop()

    events = samples(journal.path)[1:]  # after the warm-up
    assert len(events) >= 6
    assert not any(e.data["ok"] for e in events)
    assert all("no result before the next sample was due" in e.data["summary"] for e in events)
    starts = [float(e.data["at"]) for e in events]
    assert all(abs(at - (starts[0] + k * 0.1)) < 0.05 for k, at in enumerate(starts)), starts
    sampler = group.samplers[0]
    assert sampler.skipped == 0  # each timeout freed the loop for the next slot
    assert sampler.timed_out == len(events)


def test_a_probe_holding_the_loop_through_a_stall_misses_deadlines_and_they_are_counted(
    journal: JournalWriter,
) -> None:
    with PromptHttpServer() as stalled, PromptHttpServer() as healthy:
        stalled.set(delay=0.35)
        group = group_of(
            journal,
            [
                ("hog", LoopHoggingHttp(None), stalled.url, 0.1),
                ("neighbour", HttpProbeHandler(None), healthy.url, 0.1),
            ],
        )
        run_for(group, 1.0)

    hog, neighbour = group.samplers
    # Each hogging sample holds the loop 350 ms: the slots passing meanwhile get no sample,
    # and the one after starts 50 ms late.
    assert hog.samples >= 2 and hog.skipped >= 4 and hog.late >= 1
    assert all(float(e.data["latencyMs"]) >= 350 for e in samples(journal.path, "hog"))
    # The neighbour's slots pass while the loop is held, too: no sample, or a late one.
    assert neighbour.missed >= 4
    assert neighbour.missed == neighbour.late + neighbour.skipped


# --- stop conditions --------------------------------------------------------------------------


def test_a_stop_condition_failing_for_its_limit_aborts_once_and_stops_sampling(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    server.set(status=503)
    abort = AbortSignal()
    recorder = Recorder()
    group = group_of(
        journal,
        [("stop:orders-down", HttpProbeHandler(None), server.url, 0.05)],
        failing_for=0.2,
        abort=abort,
        on_sample=recorder,
    )
    group.start()
    try:
        assert abort.event.wait(2.0)
        time.sleep(0.2)  # a sampler that kept going would add samples now
    finally:
        group.stop()

    assert abort.reason is not None
    assert abort.reason.startswith("stop condition orders-down failed for 0.")
    assert "503 Service Unavailable" in abort.reason
    events = read_journal(journal.path).events
    triggered = [e for e in events if e.type == "stop-condition-triggered"]
    assert len(triggered) == 1 and triggered[0].data["reason"] == abort.reason
    assert events[-1].type == "stop-condition-triggered"  # and nothing sampled after
    # It fired on the first sample at least 0.2 s after the first failure (at 50 ms that is
    # the fifth, fewer when a busy machine held the loop past whole slots), then no more.
    samples = [e for e in events if e.type == "sample"]
    assert 2 <= len(samples) == group.samplers[0].samples <= 7
    assert 0.2 <= samples[-1].data["at"] - samples[0].data["at"] < 0.35
    assert recorder.seen == [("stop:orders-down", False)] * group.samplers[0].samples


def test_samples_reach_on_sample_from_the_group_thread_in_order(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    recorder = Recorder()
    group = group_of(
        journal, [("rto", HttpProbeHandler(None), server.url, 0.05)], on_sample=recorder
    )

    run_for(group, 0.3)

    assert recorder.threads == {"sampler-group"}
    assert recorder.seen == [("rto", True)] * len(samples(journal.path))


# --- stopping ---------------------------------------------------------------------------------


def test_stop_cancels_requests_in_flight_closes_the_clients_and_joins_the_thread(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    server.set(delay=3.0)
    handler = ClosingHttp()
    group = group_of(
        journal,
        [("a", handler, server.url, 10.0), ("b", handler, f"{server.url}/b", 10.0)],
    )
    group.start()
    deadline = time.monotonic() + 2.0
    while server.requests < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.requests == 1  # "a" warms the handler up and waits; "b" is due 5 s later

    started = time.monotonic()
    group.stop()

    assert time.monotonic() - started < 1.0  # did not wait the 3 s for the answer
    assert not group.running
    assert handler.aclosed == 1  # once for the handler both samplers share
    assert samples(journal.path) == []  # a cancelled request has no result to journal
    assert [s.samples for s in group.samplers] == [0, 0]


def test_a_group_stopped_right_after_it_started_stops_at_once(journal: JournalWriter) -> None:
    refused = "http://127.0.0.1:9/"
    handler = HttpProbeHandler(None)
    group = group_of(journal, [("a", handler, refused, 60.0), ("b", handler, refused, 60.0)])
    group.start()
    started = time.monotonic()
    group.stop()
    assert time.monotonic() - started < 1.0
    assert not group.running
    assert [e.data["sampler"] for e in samples(journal.path)] == ["a"]  # the warm-up only


# --- the journal ------------------------------------------------------------------------------


def test_samples_are_journaled_exactly_like_the_thread_samplers(
    server: LocalHttpServer, tmp_path: Path
) -> None:
    def shape(event: JournalEvent) -> dict[str, str]:
        # Canonical JSON writes 3.0 as 3: a whole latency reads back as an int.
        return {
            key: "float" if isinstance(value, int) and key == "latencyMs" else type(value).__name__
            for key, value in event.data.items()
        }

    handler = HttpProbeHandler(None)
    bound = BoundProbe(handler, http(server.url), ProbeContext())
    with JournalWriter(tmp_path / "thread.jsonl", clock=CLOCK) as journal:
        sampler = Sampler(
            SamplerSpec("rto", bound, 0.05), journal, CLOCK, AbortSignal(), Recorder()
        )
        sampler.start()
        time.sleep(0.2)
        sampler.stop()
    with JournalWriter(tmp_path / "group.jsonl", clock=CLOCK) as journal:
        run_for(group_of(journal, [("rto", handler, server.url, 0.05)]), 0.2)
    handler.close()

    by_thread = samples(tmp_path / "thread.jsonl")
    by_group = samples(tmp_path / "group.jsonl")
    assert by_thread and by_group
    assert {e.type for e in by_thread} == {e.type for e in by_group} == {"sample"}
    assert {e.step for e in by_thread + by_group} == {None}
    assert {str(shape(e)) for e in by_thread} == {str(shape(e)) for e in by_group}
    assert shape(by_group[0]) == {
        "sampler": "str",
        "ok": "bool",
        "at": "float",
        "latencyMs": "float",
        "summary": "str",
    }
    strip = " in "  # "GET http://...: 200 OK in 0.00s": equal up to the timing
    assert {e.data["summary"].split(strip)[0] for e in by_thread} == {
        e.data["summary"].split(strip)[0] for e in by_group
    }


def rto_drill(url: str, interval_ms: int, stable_for: int) -> Drill:
    return Drill.model_validate(
        {
            "apiVersion": "drillkit.io/v1",
            "kind": "Drill",
            "metadata": {"name": "rto", "version": "1.0.0", "owner": "sre", "tier": 1},
            "spec": {
                "objectives": {"rto": "1m"},
                "targets": ["*"],
                "measure": {
                    "rto": {
                        "probe": {"type": "http", "url": url},
                        "interval": f"{interval_ms}ms",
                        "stableFor": stable_for,
                    }
                },
                "steps": [{"name": "s", "wait": "1s"}],
            },
        }
    )


def test_the_rto_measured_from_the_journal_matches_a_known_outage_within_one_interval(
    server: LocalHttpServer, journal: JournalWriter
) -> None:
    interval, outage, stable_for = 0.1, 0.6, 3
    drill = rto_drill(server.url, 100, stable_for)
    neighbours = HttpProbeHandler(None)
    group = group_of(
        journal,
        [("rto", HttpProbeHandler(None), server.url, interval)]
        + [  # neighbours sharing the loop, as in a process watching many endpoints
            (f"other-{i}", neighbours, f"{server.url}/{i}", interval) for i in range(20)
        ],
    )
    group.start()
    try:
        time.sleep(0.25)
        fault = journal.append("fault-undo-planned", "s", faultId="s/outage", kind="http", undo={})
        server.set(status=503)
        time.sleep(max(0.0, fault.mono + outage - CLOCK.monotonic()))
        server.set(status=200)
        recovered_at = CLOCK.monotonic()
        time.sleep(interval * (stable_for + 1.5))
    finally:
        group.stop()
    journal.append("fault-reverted", "s", faultId="s/outage")

    summary = summarize_events(read_journal(journal.path).events, drill)

    true_rto = recovered_at - fault.mono
    assert summary.rto_seconds is not None, summary.to_json()
    assert -0.02 <= summary.rto_seconds - true_rto <= interval + 0.02
    assert summary.rto_phases["detected"] <= interval + 0.02


# --- the runner -------------------------------------------------------------------------------


class HttpTestProvider(TestProvider):
    """The test provider, but ``http`` probes are the real generic handler."""

    name = "test-http"
    __test__ = False

    def probe_handler(self, kind: str) -> Any:
        if kind == "http":
            return HttpProbeHandler(self)
        return super().probe_handler(kind)


# A subclass gets empty handler tables: share the test provider's faults and restores.
HttpTestProvider.faults = TestProvider.faults
HttpTestProvider.restores = TestProvider.restores
HttpTestProvider.probes = TestProvider.probes
HttpTestProvider.canaries = TestProvider.canaries


class ThreadNames(SilentProgress):
    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def sample(self, sampler: str, ok: bool, fault_started_at: float | None) -> None:
        self.threads.add(threading.current_thread().name)


def test_the_runner_samples_async_probes_on_the_group_and_journals_their_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LocalHttpServer
) -> None:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.1)
    lab.add_drill(
        "watch",
        "- name: lose-zone-a\n  fault: {type: zone-outage, zone: a}\n- name: hold\n  wait: 400ms\n",
        measure=(
            f'rto:\n  probe: {{type: http, url: "{server.url}/readyz"}}\n'
            "  interval: 50ms\n  stableFor: 2\n"
        ),
        extra_spec=(
            "safety:\n  stopConditions:\n    - name: orders-down\n"
            f'      probe: {{type: http, url: "{server.url}/livez"}}\n'
            "      interval: 50ms\n      failingFor: 300ms\n"
        ),
    )
    repo = DrillRepository.discover(lab.root)
    target = repo.target(TARGET)
    plan = make_plan(repo.load_named("watch"), TARGET, target)
    progress = ThreadNames()
    runner = Runner(
        plan,
        HttpTestProvider(TARGET, target),
        RunOptions(output_dir=lab.root / "reports"),
        progress,
    )

    result = runner.run()

    assert result.summary.verdict == "passed", result.summary.errors
    assert progress.threads == {"sampler-group"}
    events = read_journal(result.run_dir / "journal.jsonl").events
    stopped = {e.data["sampler"]: e.data for e in events if e.type == "sampler-stopped"}
    assert set(stopped) == {"rto", "stop:orders-down"}
    for name, data in stopped.items():
        journaled = [e for e in events if e.type == "sample" and e.data["sampler"] == name]
        assert data["samples"] == len(journaled) >= 4
        assert isinstance(data["missed"], int)
