"""The scorecard as one self-contained HTML page, with a trend chart per line.

Same rules as the run report's HTML: no scripts, no fetches, a strict CSP,
every value escaped. Each line shows status, last pass and its age against
the policy, objectives, evidence, and inline SVG trends of RTO and RPO.
"""

from __future__ import annotations

from drillkit.evidence.html_markup import Markup, element, join, void
from drillkit.history.scorecard import HEALTHY, Scorecard, ScoreLine
from drillkit.history.trend_svg import trend_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body{font-family:system-ui,sans-serif;color:#1d2733;margin:2rem;max-width:1200px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e7ec;
padding:.4rem;text-align:left;vertical-align:top}.healthy{color:#1f7a4d;font-weight:600}
.bad{color:#c62828;font-weight:600}svg{display:block}
"""


def scorecard_html(card: Scorecard) -> bytes:
    verdict = "every drill is healthy" if card.ok else "attention needed"
    counts = ", ".join(f"{count} {status}" for status, count in sorted(card.counts().items()))
    head = element(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=CSP),
        element("title", "DR readiness scorecard"),
        element("style", Markup(_STYLE)),
    )
    rows = [
        element(
            "tr",
            *(
                element("th", text)
                for text in (
                    "drill",
                    "target",
                    "status",
                    "last pass",
                    "objectives",
                    "evidence",
                    "trend",
                )
            ),
        ),
        *(_row(line) for line in card.lines),
    ]
    body = element(
        "body",
        element("h1", "DR readiness scorecard"),
        element(
            "p",
            f"Scored at {card.scored_at:%Y-%m-%d %H:%M} UTC against {card.policy_origin}: "
            f"{verdict} ({counts or 'nothing to score'}).",
        ),
        element("table", join(rows)),
    )
    return ("<!doctype html>\n" + element("html", head, body, lang="en") + "\n").encode()


def _row(line: ScoreLine) -> Markup:
    last = line.last_pass
    age = (
        f"{last.run_id} ({last.finished_at[:10]}, {line.age.days}d old; policy "
        f"{line.max_age.days}d)"
        if last is not None and line.age is not None
        else "none"
    )
    status = element("span", line.status, class_="healthy" if line.status == HEALTHY else "bad")
    reasons = element("div", "; ".join(line.reasons)) if line.reasons else ""
    objectives = "n/a" if last is None else "met" if last.objectives_met else "NOT met"
    evidence = line.evidence.state if line.evidence else "n/a"
    runs = list(line.runs)
    return element(
        "tr",
        element("td", line.drill, element("div", f"tier {line.tier}")),
        element("td", line.target),
        element("td", status, reasons),
        element("td", age),
        element("td", objectives),
        element("td", evidence),
        element("td", trend_svg(runs, "rto"), trend_svg(runs, "rpo")),
    )
