"""RTO and RPO over time for one drill on one target: a small inline SVG.

Runs are placed by when they finished; each point is a measured value,
green when the run passed and red when it did not, with the objective as a
dashed line. Runs that measured nothing leave a gap rather than a zero.
Drawn by hand (like the report's timeline chart) with every value escaped, so
the scorecard page needs no plotting library and fetches nothing.
"""

from __future__ import annotations

from drillkit.evidence.html_markup import Markup, element, join, void
from drillkit.history.records import RunRecord

WIDTH, HEIGHT = 360, 120
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 10, 14, 22
PASS, FAIL, INK, GRID, OBJECTIVE = "#1f7a4d", "#c62828", "#1d2733", "#e3e7ec", "#1f5fa8"


def trend_svg(runs: list[RunRecord], measure: str) -> Markup:
    """``measure`` is ``rto`` or ``rpo``; an empty string when no run measured it."""
    points = [
        (r.finished_datetime().timestamp(), value, r.passed)
        for r in runs
        if r.counts and (value := _value(r, measure)) is not None
    ]
    if not points:
        return Markup("")
    objective = next((o for r in reversed(runs) if (o := _objective(r, measure)) is not None), None)
    times = [p[0] for p in points]
    start, end = min(times), max(times)
    if end == start:
        start, end = start - 1, end + 1
    ceiling = max([p[1] for p in points] + [objective or 0.0]) * 1.15 or 1.0
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(t: float) -> float:
        return round(_LEFT + (t - start) / (end - start) * plot_w, 1)

    def y(v: float) -> float:
        return round(_TOP + plot_h - v / ceiling * plot_h, 1)

    parts = [
        element("title", f"{measure.upper()} per run (seconds)"),
        void("rect", x=0, y=0, width=WIDTH, height=HEIGHT, fill="#ffffff"),
        void("line", x1=_LEFT, y1=y(0), x2=WIDTH - _RIGHT, y2=y(0), stroke=GRID),
        element("text", "0", x=_LEFT - 4, y=y(0) + 4, text_anchor="end", font_size=10, fill=INK),
        element(
            "text",
            f"{ceiling:.3g}s",
            x=_LEFT - 4,
            y=_TOP + 4,
            text_anchor="end",
            font_size=10,
            fill=INK,
        ),
        element("text", measure.upper(), x=_LEFT, y=HEIGHT - 6, font_size=10, fill=INK),
    ]
    if objective is not None:
        parts.append(
            void(
                "line",
                x1=_LEFT,
                y1=y(objective),
                x2=WIDTH - _RIGHT,
                y2=y(objective),
                stroke=OBJECTIVE,
                stroke_dasharray="4 3",
            )
        )
    if len(points) > 1:
        path = " ".join(f"{x(t)},{y(v)}" for t, v, _ in points)
        parts.append(void("polyline", points=path, fill="none", stroke=INK, stroke_width=1))
    for t, v, passed in points:
        parts.append(
            element(
                "circle",
                element("title", f"{v:.3g}s"),
                cx=x(t),
                cy=y(v),
                r=3,
                fill=PASS if passed else FAIL,
            )
        )
    return element(
        "svg",
        join(parts),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        width=WIDTH,
        height=HEIGHT,
        role="img",
        aria_label=f"{measure.upper()} trend",
    )


def _value(record: RunRecord, measure: str) -> float | None:
    return record.rto_seconds if measure == "rto" else record.rpo_seconds


def _objective(record: RunRecord, measure: str) -> float | None:
    return record.rto_objective_seconds if measure == "rto" else record.rpo_objective_seconds
