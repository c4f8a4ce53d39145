"""The recovery timeline chart: an inline SVG of the RTO probe's samples around the fault.

Time runs left to right in seconds from the fault's start (the RTO's own
origin). The upper panel plots each sample's latency, green when the probe
passed and red when it failed; the strip below shows pass or fail for every
sample, so a failure without a latency (a refused connection) still shows.
Dashed lines mark fault start, restore start and end, recovery and the
start of undo; the band from fault start to recovery is the outage users
saw. Colours and sizes are attributes, not CSS, so the chart prints as it
shows; everything is inline, nothing is fetched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drillkit.evidence.html_markup import Markup, element, join, void
from drillkit.evidence.report_model import Chart, ChartPoint
from drillkit.evidence.report_text import RTO_PHASE_WORDS

WIDTH = 960
_LEFT, _RIGHT = 70, 24
_PLOT_HEIGHT = 190
_STRIP_GAP, _STRIP_HEIGHT = 12, 16
_ROW_HEIGHT, _CHAR_WIDTH = 16, 6.8
PASS, FAIL, INK, MUTED, GRID = "#1f7a4d", "#c62828", "#1d2733", "#5b6673", "#e3e7ec"
MARKER_COLOURS = {
    "faultStart": "#c62828",
    "detected": "#e08a00",
    "restoreStarted": "#1f5fa8",
    "restoreFinished": "#1f5fa8",
    "recovered": "#1f7a4d",
    "undoStarted": "#5b6673",
}


def timeline_svg(chart: Chart) -> Markup:
    """The chart as an ``<svg>`` element sized by its viewBox (it scales to its container)."""
    points = list(chart.points)
    times = [p.t for p in points] + list(chart.markers.values())
    start, end = min(times), max(times)
    pad = max((end - start) * 0.03, 0.05)
    x = _Scale(start - pad, end + pad, _LEFT, WIDTH - _RIGHT)
    labels = _label_layout(chart, x)
    top = 20 + _ROW_HEIGHT * (max((label.row for label in labels), default=-1) + 1)
    height = top + _PLOT_HEIGHT + _STRIP_GAP + _STRIP_HEIGHT + 48
    latencies = [p.latency_ms for p in points if p.latency_ms is not None]
    ceiling = _nice_ceiling(max(latencies, default=1.0) * 1.1)
    y = _Scale(0.0, ceiling, top + _PLOT_HEIGHT, top)
    strip_y = top + _PLOT_HEIGHT + _STRIP_GAP
    parts = [
        element("title", _title(chart)),
        void("rect", x=0, y=0, width=WIDTH, height=height, fill="#ffffff"),
        _outage_band(chart, x, top, strip_y),
        _y_axis(y, ceiling, top),
        _x_axis(x, start - pad, end + pad, strip_y, chart.origin),
        _latency_line(points, x, y),
        _dots(points, x, y),
        _strip(points, x, strip_y, chart.bucket_seconds),
        _markers(chart, x, labels, strip_y),
    ]
    return element(
        "svg",
        join(parts),
        viewBox=f"0 0 {WIDTH} {height}",
        width="100%",
        role="img",
        aria_label=_title(chart),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
        font_size=12,
        class_="timeline",
    )


@dataclass(frozen=True)
class _Label:
    """One marker label: markers closer than a few pixels share one."""

    names: tuple[str, ...]
    value: float
    text: str
    x: float
    anchor: str
    row: int


def _label_layout(chart: Chart, x: _Scale) -> list[_Label]:
    groups: list[list[tuple[str, float]]] = []
    for name, value in sorted(chart.markers.items(), key=lambda item: item[1]):
        if groups and x(value) - x(groups[-1][0][1]) < 4:
            groups[-1].append((name, value))
        else:
            groups.append([(name, value)])
    rows: list[list[tuple[float, float]]] = []
    labels = []
    for group in groups:
        value = group[0][1]
        text = f"{', '.join(RTO_PHASE_WORDS.get(n, n) for n, _ in group)} {value:+.2f}s"
        pos, width = x(value), _CHAR_WIDTH * len(text)
        if pos + 4 + width <= WIDTH - 4:
            anchor, span = "start", (pos + 4, pos + 4 + width)
        else:
            anchor, span = "end", (pos - 4 - width, pos - 4)
        row = next(
            (
                index
                for index, taken in enumerate(rows)
                if all(span[1] + 8 < a or span[0] > b + 8 for a, b in taken)
            ),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append(span)
        labels.append(
            _Label(
                tuple(n for n, _ in group),
                value,
                text,
                pos + 4 if anchor == "start" else pos - 4,
                anchor,
                row,
            )
        )
    return labels


class _Scale:
    def __init__(self, low: float, high: float, out_low: float, out_high: float) -> None:
        self.low, self.high = low, high if high > low else low + 1.0
        self.out_low, self.out_high = out_low, out_high

    def __call__(self, value: float) -> float:
        fraction = (value - self.low) / (self.high - self.low)
        return round(self.out_low + fraction * (self.out_high - self.out_low), 2)


def _title(chart: Chart) -> str:
    origin = "fault start" if chart.origin == "fault-start" else "the first sample"
    bucket = f", grouped in {chart.bucket_seconds:g}s buckets" if chart.bucket_seconds else ""
    failed = sum(1 for p in chart.points if not p.ok)
    return (
        f"RTO probe samples: {chart.samples} samples{bucket}, {failed} failing, "
        f"seconds from {origin}"
    )


def _outage_band(chart: Chart, x: _Scale, top: float, strip_y: float) -> Markup:
    if "faultStart" not in chart.markers:
        return Markup("")
    last = max((p.t for p in chart.points), default=0.0)
    end = chart.markers.get("recovered", last)
    label = "outage seen by users" if "recovered" in chart.markers else "not recovered"
    left, right = x(chart.markers["faultStart"]), x(end)
    return join(
        [
            void(
                "rect",
                x=left,
                y=top,
                width=max(right - left, 1.0),
                height=strip_y + _STRIP_HEIGHT - top,
                fill="#fdecea",
            ),
            element(
                "text",
                label,
                x=round((left + right) / 2, 2),
                y=top + 14,
                fill=FAIL,
                text_anchor="middle",
                font_size=11,
            )
            if right - left > 90
            else Markup(""),
        ]
    )


def _y_axis(y: _Scale, ceiling: float, top: float) -> Markup:
    parts = []
    for value in _ticks(0.0, ceiling, 5):
        pos = y(value)
        parts.append(void("line", x1=_LEFT, x2=WIDTH - _RIGHT, y1=pos, y2=pos, stroke=GRID))
        parts.append(
            element("text", _number(value), x=_LEFT - 8, y=pos + 4, fill=MUTED, text_anchor="end")
        )
    parts.append(
        element(
            "text",
            "latency (ms)",
            x=16,
            y=top + _PLOT_HEIGHT / 2,
            fill=MUTED,
            text_anchor="middle",
            transform=f"rotate(-90 16 {top + _PLOT_HEIGHT / 2})",
        )
    )
    return join(parts)


def _x_axis(x: _Scale, low: float, high: float, strip_y: float, origin: str) -> Markup:
    bottom = strip_y + _STRIP_HEIGHT
    parts = [void("line", x1=_LEFT, x2=WIDTH - _RIGHT, y1=bottom, y2=bottom, stroke=MUTED)]
    for value in _ticks(low, high, 10):
        pos = x(value)
        parts.append(void("line", x1=pos, x2=pos, y1=bottom, y2=bottom + 5, stroke=MUTED))
        text = "0 s" if value == 0 else f"{value:+g} s"
        parts.append(element("text", text, x=pos, y=bottom + 18, fill=MUTED, text_anchor="middle"))
    parts.append(
        element(
            "text",
            "seconds from fault start" if origin == "fault-start" else "seconds from first sample",
            x=(_LEFT + WIDTH - _RIGHT) / 2,
            y=bottom + 36,
            fill=MUTED,
            text_anchor="middle",
        )
    )
    parts.append(
        element("text", "pass/fail", x=_LEFT - 8, y=strip_y + 12, fill=MUTED, text_anchor="end")
    )
    return join(parts)


def _latency_line(points: list[ChartPoint], x: _Scale, y: _Scale) -> Markup:
    coordinates = [f"{x(p.t)},{y(p.latency_ms)}" for p in points if p.latency_ms is not None]
    if len(coordinates) < 2:
        return Markup("")
    return void(
        "polyline", points=" ".join(coordinates), fill="none", stroke="#9aa5b1", stroke_width=1
    )


def _dots(points: list[ChartPoint], x: _Scale, y: _Scale) -> Markup:
    dots = []
    for point in points:
        if point.latency_ms is None:
            continue
        dots.append(
            void(
                "circle",
                cx=x(point.t),
                cy=y(point.latency_ms),
                r=2.6 if point.ok else 3.2,
                fill=PASS if point.ok else FAIL,
            )
        )
    return element("g", join(dots), class_="samples")


def _strip(points: list[ChartPoint], x: _Scale, strip_y: float, bucket: float | None) -> Markup:
    cells = []
    for index, point in enumerate(points):
        following = points[index + 1].t if index + 1 < len(points) else None
        width = (
            x(following) - x(point.t)
            if following is not None
            else (x(point.t + bucket) - x(point.t) if bucket else 2.0)
        )
        cells.append(
            void(
                "rect",
                x=x(point.t),
                y=strip_y,
                width=round(max(width, 1.0), 2),
                height=_STRIP_HEIGHT,
                fill=PASS if point.ok else FAIL,
            )
        )
    return element("g", join(cells), class_="strip")


def _markers(chart: Chart, x: _Scale, labels: list[_Label], strip_y: float) -> Markup:
    parts = []
    for label in labels:
        label_y = 16 + _ROW_HEIGHT * label.row
        for name in label.names:
            pos = x(chart.markers[name])
            parts.append(
                void(
                    "line",
                    x1=pos,
                    x2=pos,
                    y1=label_y - 10,
                    y2=strip_y + _STRIP_HEIGHT,
                    stroke=MARKER_COLOURS.get(name, INK),
                    stroke_width=1.5,
                    stroke_dasharray="5 3",
                )
            )
        parts.append(
            element(
                "text",
                label.text,
                x=label.x,
                y=label_y,
                fill=MARKER_COLOURS.get(label.names[0], INK),
                font_weight="600",
                text_anchor=label.anchor,
            )
        )
    return element("g", join(parts), class_="markers")


def _ticks(low: float, high: float, count: int) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(
        m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= value
    )


def _number(value: float) -> str:
    return f"{value:g}"
