"""Sampler capacity: many HTTP endpoints sampled from one process, and what it costs.

Runs the engine's ``AsyncSamplerGroup`` with the real ``http`` probe handler
(one handler shared by every endpoint, as one probe definition watching many
URLs would be) and a real ``JournalWriter``: ``--endpoints`` samplers at
``--interval-ms`` for ``--seconds``. The endpoints are served by a separate
process (this script with ``--serve``), so the server's CPU is not counted: a
small asyncio server answering ``200 ok`` on ``--ports`` listening ports, the
endpoints spread over them round-robin (``/e/<n>``).

Printed: CPU seconds of the sampling process (user + sys from ``os.times``,
all its threads), that as a share of one core over the run, samples taken
against those the schedule expected, missed deadlines (a sample started more
than 20 ms after its slot, or a slot with no sample), failing samples, latency
p50/p95/max from the journal, the journal's own share of the CPU, and whether
the target holds: under 25% of one core and no missed deadline.

``--client httpx`` swaps in the probe's former event-loop path (httpx's
AsyncClient, same evaluation) and ``--client none`` a handler that answers at
once without a request, so the group's and the journal's own cost shows.
``--gc-freeze`` calls ``gc.freeze()`` once everything is built, as a process
dedicated to sampling may: the connections made in the first seconds otherwise
bring full collections of 100-250 ms that make every sampler late. The load
average and the involuntary context switches are printed because on a shared
machine other work takes the cores, and samples start late for that reason too.

Usage: python benchmarks/sampler_capacity.py [--endpoints N] [--seconds S]
       [--interval-ms MS] [--ports N] [--client aiohttp|httpx|none] [--gc-freeze]
       [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from figures import record

from drillkit.engine.async_samplers import LATE_AFTER, AsyncSamplerGroup, BoundProbe
from drillkit.engine.clock import SystemClock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalEvent, JournalWriter, read_journal
from drillkit.engine.samplers import SamplerSpec
from drillkit.probes.client_tls import client_key, httpx_verify
from drillkit.probes.http import (
    HttpProbeHandler,
    _Answer,
    _describe,
    _evaluate,
    _network_failure,
    _timeout,
)
from drillkit.probes.registry import probe_for
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.spec.probes import HttpProbe

TARGET_SHARE = 0.25
_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


# --- the endpoint server (a separate process) -----------------------------------------------


class _Endpoint(asyncio.Protocol):
    """Answers every request on a keep-alive connection with ``200 ok``; GET only."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._pending += data
        answers = self._pending.count(b"\r\n\r\n")
        if answers and self._transport is not None:
            self._pending = self._pending[self._pending.rfind(b"\r\n\r\n") + 4 :]
            self._transport.write(_ANSWER * answers)


async def _serve(ports: int) -> None:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(_Endpoint, "127.0.0.1", 0) for _ in range(ports)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin


def _raise_file_limit() -> None:
    """A thousand endpoints are a thousand sockets on each side: lift the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _start_server(ports: int) -> tuple[subprocess.Popen[str], list[int]]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--ports", str(ports)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        sys.exit("the endpoint server did not start")
    return server, [int(port) for port in json.loads(line)]


# --- the sampling side ------------------------------------------------------------------------


class _Context:
    """The ``StepContext`` a probe handler needs, outside a run."""

    run_id = "bench"
    step = "capacity"

    fault_started_at = None

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def note(self, event: str, **data: Any) -> None:
        pass

    def remaining(self) -> float:
        return 3600.0


class _TimedJournal(JournalWriter):
    """A real journal that also adds up the CPU time its appends take on the calling thread."""

    cpu_ns = 0

    def append(self, type: str, step: str | None = None, /, **data: Any) -> JournalEvent:
        started = time.thread_time_ns()
        try:
            return super().append(type, step, **data)
        finally:
            self.cpu_ns += time.thread_time_ns() - started

    def append_sample(
        self, sampler: str, ok: bool, at: float, latency_ms: float | None, summary: str
    ) -> JournalEvent:
        started = time.thread_time_ns()
        try:
            return super().append_sample(sampler, ok, at, latency_ms, summary)
        finally:
            self.cpu_ns += time.thread_time_ns() - started


class _HttpxOnLoop(HttpProbeHandler):
    """``--client httpx``: the probe's former event-loop path, httpx's AsyncClient, to compare.

    Same evaluation and failure words as the real handler; only the client differs.
    """

    def __init__(self) -> None:
        super().__init__(provider=None)
        self._loop_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    async def measure_async(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        loop = asyncio.get_running_loop()
        client = self._loop_clients.get(loop)
        if client is None:
            key = client_key(intent.tls)
            client = self._loop_clients[loop] = httpx.AsyncClient(verify=httpx_verify(key))
        started = time.perf_counter()
        try:
            response = await client.request(
                intent.method,
                str(intent.url),
                headers=intent.headers,
                content=intent.body,
                timeout=_timeout(intent, ctx),
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            elapsed = time.perf_counter() - started
            return _network_failure(intent, ctx, _describe(intent, exc), elapsed)
        answer = _Answer(
            response.status_code,
            response.reason_phrase,
            response.headers.get,
            lambda: response.text,
        )
        return _evaluate(intent, answer, time.perf_counter() - started)

    async def aclose(self) -> None:
        client = self._loop_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class _NoNetwork(HttpProbeHandler):
    """``--client none``: a passing result at once, so only the group and journal are measured."""

    async def measure_async(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        values = {"status": 200, "latencyMs": 0.0}
        return ProbeResult(True, f"{intent.method} {intent.url}: 200 OK in 0.00s", values, 0.0)


def _handler(client: str) -> Any:
    if client == "httpx":
        return _HttpxOnLoop()
    if client == "none":
        return _NoNetwork(provider=None)
    return probe_for("http", None)


@dataclass
class _Run:
    """What one run measured."""

    group: AsyncSamplerGroup
    events: list[JournalEvent]
    cpu: float
    wall: float
    warm_up: float
    journal_cpu: float
    load: tuple[float, float]
    """The machine's 1-minute load average before and after: other work competes for cores."""
    preempted: int
    """Involuntary context switches of this process: how often the kernel took its core."""


def _run(args: argparse.Namespace, ports: int) -> _Run:
    """Serve, sample every endpoint on the group for ``--seconds``, read the journal back."""
    interval = args.interval_ms / 1000
    server, listening = _start_server(ports)
    handler = _handler(args.client)
    context = _Context()
    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="drillkit-capacity-", dir=args.dir) as scratch:
        journal = _TimedJournal(Path(scratch) / "journal.jsonl", clock=clock)
        group = AsyncSamplerGroup(journal, clock, AbortSignal(), lambda name, ok: None)
        for index in range(args.endpoints):
            url = f"http://127.0.0.1:{listening[index % len(listening)]}/e/{index}"
            intent = HttpProbe.model_validate({"type": "http", "url": url})
            probe = BoundProbe(handler, intent, context)
            group.add(SamplerSpec(f"e{index}", probe, interval), probe)
        if args.gc_freeze:  # what exists now is never garbage: keep it out of every collection
            gc.collect()
            gc.freeze()
        load_before, switches = os.getloadavg()[0], _preempted()
        try:
            cpu_before, wall_before = _cpu(), time.perf_counter()
            group.start()
            warm_up = time.perf_counter() - wall_before
            time.sleep(args.seconds)
            group.stop(timeout=30.0)
            cpu, wall = _cpu() - cpu_before, time.perf_counter() - wall_before
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
        journal.close()
        events = [e for e in read_journal(journal.path).events if e.type == "sample"]
    preempted = _preempted() - switches
    load = (load_before, os.getloadavg()[0])
    return _Run(group, events, cpu, wall, warm_up, journal.cpu_ns / 1e9, load, preempted)


def _rank(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile, as ``measure`` reports latency."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _preempted() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


def _client_name(client: str) -> str:
    """What ``--client`` ran: the probe's own event-loop path is the lean client, with
    aiohttp behind it for proxies and credentials (``aiohttp`` is that option's old name)."""
    return {"aiohttp": "http probe (lean client)"}.get(client, client)


def _report(args: argparse.Namespace, ports: int, run: _Run) -> bool:
    """Print the figures; True when the target is met."""
    samplers = run.group.samplers
    taken = sum(s.samples for s in samplers)
    missed = sum(s.missed for s in samplers)
    late = sum(s.late for s in samplers)
    skipped = sum(s.skipped for s in samplers)
    failing = sum(1 for e in run.events if not e.data["ok"])
    latencies = sorted(
        float(e.data["latencyMs"]) for e in run.events if e.data["latencyMs"] is not None
    )
    # Each sampler's first slot is its warm-up (or comes within one interval), then one an interval.
    expected = args.endpoints * math.floor(args.seconds * 1000 / args.interval_ms)
    share = run.cpu / run.wall
    met = share < TARGET_SHARE and missed == 0
    print(
        f"sampler capacity: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"  endpoints {args.endpoints} on {ports} ports, interval {args.interval_ms} ms, "
        f"{args.seconds:g} s, client {_client_name(args.client)}, "
        f"warm-up {run.warm_up * 1000:.0f} ms" + (", gc.freeze()" if args.gc_freeze else "")
    )
    print(
        f"  machine            load average {run.load[0]:.2f} before, {run.load[1]:.2f} after; "
        f"{run.preempted} involuntary context switches"
    )
    print(f"  CPU (user+sys)     {run.cpu:.2f} s in {run.wall:.1f} s = {share:.1%} of one core")
    print(
        f"  per sample         {run.cpu / max(1, taken) * 1e6:.0f} µs CPU, of which journal "
        f"{run.journal_cpu / max(1, len(run.events)) * 1e6:.0f} µs "
        f"({run.journal_cpu / run.cpu:.0%})"
    )
    print(f"  samples            {taken} taken, {expected} expected ({taken / expected:.1%})")
    print(
        f"  missed deadlines   {missed} ({late} started > {LATE_AFTER * 1000:.0f} ms late, "
        f"{skipped} slots without a sample)"
    )
    print(f"  failing samples    {failing}")
    if latencies:
        print(
            f"  latency            p50 {_rank(latencies, 0.50):.1f} ms   "
            f"p95 {_rank(latencies, 0.95):.1f} ms   max {latencies[-1]:.1f} ms"
        )
    print(f"  target: < {TARGET_SHARE:.0%} of one core, 0 missed: {'met' if met else 'NOT met'}")
    setting = f"{args.endpoints} endpoints every {args.interval_ms} ms, {args.seconds:g} s"
    record(
        "sampler capacity",
        "CPU share of one core",
        100 * share,
        "%",
        versus=setting,
        ratio=share / TARGET_SHARE,
        target=f"< {TARGET_SHARE:.0%}",
        met=share < TARGET_SHARE,
    )
    record(
        "sampler capacity",
        "missed deadlines",
        missed,
        "samples",
        versus=f"{taken} taken",
        target="0",
        met=missed == 0,
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument(
        "--ports", type=int, default=0, help="listening ports to spread them over (0: one each)"
    )
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx", "none"),
        default="aiohttp",
        help="aiohttp: the http probe as shipped; httpx: its former AsyncClient path; "
        "none: no request at all (the group and journal alone)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() before sampling, as a process dedicated to sampling may",
    )
    parser.add_argument("--dir", type=Path, default=None, help="folder for the journal")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_file_limit()
    ports = args.ports or args.endpoints
    if args.serve:
        asyncio.run(_serve(ports))
        return
    if args.endpoints < 1 or args.seconds <= 0 or args.interval_ms < 10 or ports < 1:
        parser.error("--endpoints and --ports at least 1, --seconds above 0, --interval-ms >= 10")
    sys.exit(0 if _report(args, ports, _run(args, ports)) else 1)


if __name__ == "__main__":
    main()
