"""RTO accuracy: the RTO drillkit measures against the known length of a real outage.

Each trial runs the engine's own ``Sampler`` with the generic ``http`` probe
against a local HTTP server, journalling to a real ``JournalWriter`` on the
system clock. The fault starts when the ``fault-undo-planned`` event is
written (the server turns to 503 at that moment); after a seeded random outage
the server answers 200 again, and that moment on the monotonic clock is the
true recovery. Once ``stableFor`` samples pass, the sampler stops, the fault is
journalled as reverted and the RTO is computed from the journal by
``summarize_events``, exactly as at the end of a run. The error is measured
minus true RTO; a sampler can only see recovery at its next sample, so it
should stay within one interval (plus 20 ms for scheduling and the request).

Usage: python benchmarks/rto_accuracy.py [--trials N] [--interval-ms MS] [--seed S]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from drillkit.engine.clock import SystemClock
from drillkit.engine.interrupts import AbortSignal
from drillkit.engine.journal import JournalWriter, read_journal
from drillkit.engine.measure import summarize_events
from drillkit.engine.samplers import Sampler, SamplerSpec
from drillkit.probes.registry import probe_for
from drillkit.spec.drill import Drill

STABLE_FOR = 3
SLACK_MS = 20.0
TARGET_SHARE = 0.95
OUTAGE_RANGE = (0.3, 1.5)
"""Seconds of outage, uniform; 50 trials take about 75 s with these."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    up = True
    """200 when up, 503 when down; flipped by the benchmark."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the probe's pooled client expects
    server: _Server

    def do_GET(self) -> None:
        body = b"ok" if self.server.up else b"down"
        self.send_response(200 if self.server.up else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Context:
    """The ``StepContext`` a probe handler needs, outside a run."""

    run_id = "bench"
    step = "rto"

    fault_started_at = None

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def note(self, event: str, **data: Any) -> None:
        pass

    def remaining(self) -> float:
        return 30.0


def _drill(url: str, interval_ms: int) -> Drill:
    return Drill.model_validate(
        {
            "apiVersion": "drillkit.io/v1",
            "kind": "Drill",
            "metadata": {"name": "rto-bench", "version": "1.0.0", "owner": "bench", "tier": 1},
            "spec": {
                "objectives": {"rto": "1m"},
                "targets": ["*"],
                "measure": {
                    "rto": {
                        "probe": {"type": "http", "url": url},
                        "interval": f"{interval_ms}ms",
                        "stableFor": STABLE_FOR,
                    }
                },
                "steps": [{"name": "s", "wait": "1s"}],
            },
        }
    )


class _Streak:
    """Counts consecutive passing samples after recovery; sets ``stable`` at ``STABLE_FOR``."""

    def __init__(self) -> None:
        self.recovered = False
        self.passing = 0
        self.stable = threading.Event()
        self.seen_ok = threading.Event()

    def __call__(self, name: str, ok: bool) -> None:
        if ok:
            self.seen_ok.set()
        if not self.recovered:
            return
        self.passing = self.passing + 1 if ok else 0
        if self.passing >= STABLE_FOR:
            self.stable.set()


def _trial(
    root: Path, index: int, interval: float, outage: float, lead: float
) -> tuple[float, float, int]:
    """(measured RTO, true RTO, samples missed) of one outage of ``outage`` seconds."""
    clock = SystemClock()
    server = _Server(("127.0.0.1", 0), _Handler)
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    serving.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    drill = _drill(url, round(interval * 1000))
    rto = drill.spec.measure.rto
    assert rto is not None
    handler = probe_for("http", None)
    assert handler is not None
    context = _Context()
    journal_path = root / f"trial-{index}" / "journal.jsonl"
    journal = JournalWriter(journal_path, clock=clock)
    streak = _Streak()
    sampler = Sampler(
        SamplerSpec("rto", lambda: handler.measure(rto.probe, context), interval),
        journal,
        clock,
        AbortSignal(),
        streak,
    )
    try:
        sampler.start()
        if not streak.seen_ok.wait(5.0):
            sys.exit(f"trial {index}: the server never answered 200")
        time.sleep(lead)  # a random phase between the sampler's schedule and the fault
        fault = journal.append("fault-undo-planned", "s", faultId="s/outage", kind="http", undo={})
        server.up = False
        time.sleep(max(0.0, fault.mono + outage - clock.monotonic()))
        server.up = True
        recovered_at = clock.monotonic()
        streak.recovered = True
        if not streak.stable.wait(10.0):
            sys.exit(f"trial {index}: {STABLE_FOR} passing samples never came")
    finally:
        sampler.stop()
        close = getattr(handler, "close", None)
        if close is not None:
            close()
        server.shutdown()
        server.server_close()
    journal.append("fault-reverted", "s", faultId="s/outage")
    journal.close()
    summary = summarize_events(read_journal(journal_path).events, drill)
    if summary.rto_seconds is None:
        sys.exit(f"trial {index}: no RTO measured: {summary.to_json()}")
    return summary.rto_seconds, recovered_at - fault.mono, sampler.missed


def _rank(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile, as ``measure`` reports latency."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.trials < 1 or args.interval_ms < 50:
        parser.error("--trials must be at least 1 and --interval-ms at least 50")
    interval = args.interval_ms / 1000
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="drillkit-rto-bench-"))
    started = time.perf_counter()
    errors: list[float] = []
    outages: list[float] = []
    missed = 0
    for index in range(args.trials):
        outage = rng.uniform(*OUTAGE_RANGE)
        lead = rng.uniform(interval, 2 * interval)
        measured, true, skipped = _trial(root, index, interval, outage, lead)
        errors.append((measured - true) * 1000)
        outages.append(true)
        missed += skipped
    elapsed = time.perf_counter() - started

    limit_ms = args.interval_ms + SLACK_MS
    absolute = sorted(abs(e) for e in errors)
    within = sum(1 for e in absolute if e <= limit_ms) / len(absolute)
    met = within >= TARGET_SHARE
    print(
        f"RTO accuracy: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"  trials {args.trials}, interval {args.interval_ms} ms, stableFor {STABLE_FOR}, "
        f"seed {args.seed}, {elapsed:.1f} s"
    )
    print(f"  true outage        min {min(outages):.3f} s, max {max(outages):.3f} s")
    print(
        f"  |error|            p50 {_rank(absolute, 0.50):6.1f} ms   "
        f"p95 {_rank(absolute, 0.95):6.1f} ms   max {absolute[-1]:6.1f} ms"
    )
    print(
        f"  signed error       min {min(errors):6.1f} ms   "
        f"mean {sum(errors) / len(errors):6.1f} ms   max {max(errors):6.1f} ms"
    )
    print(f"  samples missed     {missed} (sampler fell behind its schedule)")
    print(
        f"  within {limit_ms:.0f} ms      {within:7.1%}   "
        f"target >= {TARGET_SHARE:.0%} {'met' if met else 'MISSED'}"
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
