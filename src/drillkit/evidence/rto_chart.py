"""The data behind the report's timeline chart: RTO probe samples around fault and restore.

Time is measured from the fault's start (its write-ahead event), the same
origin as the RTO, so the chart's markers are the RTO phases themselves. A
long drill sampled every 250 ms has thousands of samples; past
``MAX_POINTS`` they are grouped into equal time buckets, each failing if any
of its samples failed and showing its highest latency, so a short outage is
never smoothed away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drillkit.engine.journal import JournalEvent
from drillkit.engine.measure import RunSummary
from drillkit.evidence.report_model import Chart, ChartPoint

MAX_POINTS = 1200


def rto_chart(events: Sequence[JournalEvent], summary: RunSummary, probe: str) -> Chart | None:
    """The chart of the ``rto`` sampler, or None when the run took no RTO samples."""
    samples = [e for e in events if e.type == "sample" and e.data.get("sampler") == "rto"]
    if not samples:
        return None
    fault_start = next((e.mono for e in events if e.type == "fault-undo-planned"), None)
    origin = fault_start if fault_start is not None else _at(samples[0])
    points = [
        ChartPoint(
            t=round(_at(s) - origin, 6),
            ok=bool(s.data.get("ok")),
            latency_ms=_latency(s),
        )
        for s in samples
    ]
    bucket: float | None = None
    if len(points) > MAX_POINTS:
        points, bucket = _bucketed(points)
    markers: dict[str, float] = {}
    if fault_start is not None:
        markers["faultStart"] = 0.0
        markers.update(summary.rto_phases)
        undo = next((e.mono for e in events if e.type == "fault-reverting"), None)
        if undo is not None:
            markers["undoStarted"] = round(undo - origin, 6)
    return Chart(
        sampler="rto",
        probe=probe,
        origin="fault-start" if fault_start is not None else "first-sample",
        samples=len(samples),
        bucket_seconds=bucket,
        points=tuple(points),
        markers=markers,
    )


def _bucketed(points: list[ChartPoint]) -> tuple[list[ChartPoint], float]:
    first, last = points[0].t, points[-1].t
    width = max((last - first) / MAX_POINTS, 1e-6)
    buckets: dict[int, list[ChartPoint]] = {}
    for point in points:
        index = min(MAX_POINTS - 1, math.floor((point.t - first) / width))
        buckets.setdefault(index, []).append(point)
    grouped = []
    for index, members in sorted(buckets.items()):
        latencies = [p.latency_ms for p in members if p.latency_ms is not None]
        grouped.append(
            ChartPoint(
                t=round(first + index * width, 6),
                ok=all(p.ok for p in members),
                latency_ms=max(latencies) if latencies else None,
            )
        )
    return grouped, round(width, 6)


def _at(event: JournalEvent) -> float:
    return float(event.data.get("at", event.mono))


def _latency(event: JournalEvent) -> float | None:
    value = event.data.get("latencyMs")
    return round(float(value), 3) if isinstance(value, int | float) else None
