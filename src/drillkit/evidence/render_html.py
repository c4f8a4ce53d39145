"""``report.html``: one self-contained page an auditor opens offline, or prints.

Nothing is fetched: styles are inline, the chart is inline SVG, there are no
scripts, fonts or images, and a Content-Security-Policy of
``default-src 'none'; style-src 'unsafe-inline'`` makes the browser refuse
anything else, so a hostile value that slipped through still could not load
or run. Every value is escaped (``html_markup``). The layout reads as a
document: verdict and key figures first, then objectives, the recovery
chart, the restore proof list, what was tested, steps, deviations and how
to verify; print styles keep sections together on A4 paper and keep badge
colours.
"""

from __future__ import annotations

from collections.abc import Sequence

from drillkit.evidence import report_text as words
from drillkit.evidence.html_markup import Markup, element, escape, join, void
from drillkit.evidence.report_model import ObjectiveResult, Report
from drillkit.evidence.report_style import STYLESHEET
from drillkit.evidence.timeline_svg import MARKER_COLOURS, timeline_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'"

_TONE = {
    "passed": "good",
    "met": "good",
    "proven": "good",
    "failed": "bad",
    "not-met": "bad",
    "error": "bad",
    "aborted": "warn",
    "interrupted": "warn",
    "refused": "warn",
    "dry-run": "muted",
    "not-measured": "muted",
    "not-set": "muted",
    "not-covered": "muted",
    "not-run": "muted",
    "reverted": "good",
    "still-applied": "bad",
}


def render_html(report: Report) -> str:
    title = f"Drill report: {words.headline(report)}"
    head = element(
        "head",
        void("meta", charset="utf-8"),
        void("meta", http_equiv="Content-Security-Policy", content=CSP),
        void("meta", name="viewport", content="width=device-width, initial-scale=1"),
        void("meta", name="generator", content=f"drillkit {report.tools.rendered_by}"),
        element("title", title),
        element("style", Markup(STYLESHEET)),
    )
    body = element(
        "body",
        _header(report),
        element(
            "main",
            _unsigned(report),
            _figures(report),
            _objectives(report),
            _chart(report),
            _proofs(report),
            _tested(report),
            _steps(report),
            _deviations(report),
            _errors_retries_undo(report),
            _timeline(report),
            _operator(report),
            _tools(report),
            _verification(report),
        ),
        _footer(report),
    )
    return "<!doctype html>\n" + element("html", head, body, lang="en") + "\n"


def badge(status: str, text: str | None = None) -> Markup:
    tone = _TONE.get(status, "muted")
    return element("span", text or status, class_=f"badge {tone}", data_status=status)


def rich(text: str) -> Markup:
    """Escaped text in which `backticked` parts (commands in rules and fixes) are code."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code at all
        return escape(text)
    return join(
        escape(part) if index % 2 == 0 else element("code", part)
        for index, part in enumerate(parts)
    )


def _section(anchor: str, heading: str, *content: object) -> Markup:
    return element("section", element("h2", heading), *content, id=anchor)


def _table(header: list[str], rows: Sequence[Sequence[object]], class_: str = "") -> Markup:
    head = element("thead", element("tr", join([element("th", h) for h in header])))
    body = element(
        "tbody",
        join([element("tr", join([element("td", cell) for cell in row])) for row in rows]),
    )
    return element("table", head, body, class_=class_ or None)


def _facts(rows: list[tuple[str, object]]) -> Markup:
    return element(
        "dl", join([join([element("dt", k), element("dd", v)]) for k, v in rows]), class_="facts"
    )


def _mono(text: str) -> Markup:
    return element("code", text)


def _header(report: Report) -> Markup:
    run, drill, target = report.run, report.drill, report.target
    verdict = words.VERDICT_WORDS[run.verdict]
    return element(
        "header",
        element(
            "div",
            element("p", "Disaster-recovery drill evidence", class_="kicker"),
            element("h1", f"{drill.name} ", element("span", drill.version, class_="version")),
            element(
                "p",
                f"on {target.name} ({target.provider}, tier {target.tier or '?'}) · run ",
                _mono(run.run_id),
                f" · {words.utc(run.started_at)}",
                class_="subtitle",
            ),
            class_="identity",
        ),
        element(
            "div",
            element("div", verdict, class_="verdict-word", id="verdict"),
            element("div", rich(run.verdict_reason), class_="verdict-reason"),
            class_=f"verdict {_TONE.get(run.verdict, 'muted')}",
            data_verdict=run.verdict,
        ),
    )


def _unsigned(report: Report) -> Markup | str:
    """A banner above everything else when the evidence is unsigned (``--no-sign``)."""
    warning = words.unsigned_warning(report)
    if warning is None:
        return ""
    return element("p", rich(warning), class_="unsigned", id="unsigned", role="alert")


def _figures(report: Report) -> Markup:
    objectives = {o.name: o for o in report.objectives}
    rto = report.measurements.rto
    cards = [
        _card("rto", "RTO", words.rto_figure(report), objectives.get("rto")),
        _card("rpo", "RPO", words.rpo_figure(report), objectives.get("rpo")),
        _card(
            "availability",
            "Availability during drill",
            words.percent(rto.availability) if rto else "not measured",
            None,
            f"{rto.samples} samples" if rto else "",
        ),
        _card(
            "certificates",
            "Certificate days left",
            words.certificate_figure(report),
            objectives.get("minCertificateDays"),
        ),
    ]
    return element("section", join(cards), class_="figures", aria_label="Key figures")


def _card(
    key: str, label: str, value: str, objective: ObjectiveResult | None, note: str = ""
) -> Markup:
    status = objective.status if objective is not None else "not-set"
    if objective is not None and objective.declared:
        note = f"objective {objective.target}"
    return element(
        "div",
        element("div", label, class_="figure-label"),
        element(
            "div",
            value,
            class_="figure-value long" if len(value) > 14 else "figure-value",
            id=f"figure-{key}",
        ),
        element(
            "div",
            note,
            " ",
            badge(status, words.OBJECTIVE_WORDS[status])
            if objective is not None and objective.declared
            else "",
            class_="figure-note",
        ),
        class_=f"figure {_TONE.get(status, 'muted')}",
    )


def _objectives(report: Report) -> Markup:
    rows: list[list[object]] = [
        [
            join(
                [
                    element("strong", o.title),
                    element("span", " implied by probes", class_="muted") if not o.declared else "",
                ]
            ),
            o.target,
            o.measured or "—",
            badge(o.status, words.OBJECTIVE_WORDS[o.status]),
        ]
        for o in report.objectives
    ]
    return _section(
        "objectives", "Objectives", _table(["Objective", "Target", "Measured", "Result"], rows)
    )


def _chart(report: Report) -> Markup:
    chart = report.chart
    if chart is None:
        return _section(
            "recovery", "Recovery timeline", element("p", "No RTO samples: nothing to chart.")
        )
    legend = [
        _legend_swatch("#1f7a4d", "sample passed"),
        _legend_swatch("#c62828", "sample failed"),
        *[
            _legend_swatch(
                MARKER_COLOURS.get(name, "#1d2733"), words.RTO_PHASE_WORDS.get(name, name)
            )
            for name in chart.markers
        ],
    ]
    rto = report.measurements.rto
    caption = [
        f"{chart.samples} samples of the RTO probe ({chart.probe})",
        f", every {rto.sampling_interval_seconds * 1000:.0f} ms"
        if rto and rto.sampling_interval_seconds
        else "",
        f", grouped in {chart.bucket_seconds:g}s buckets (a bucket fails if any sample in it did)"
        if chart.bucket_seconds
        else "",
        ". Recovery counts after ",
        str(rto.stable_for) if rto else "?",
        " passing samples in a row.",
    ]
    phases: list[list[object]] = [
        [words.RTO_PHASE_WORDS.get(name, name), words.offset(value)]
        for name, value in (rto.phases.items() if rto else [])
    ]
    return _section(
        "recovery",
        "Recovery timeline",
        element(
            "figure",
            timeline_svg(chart),
            element("figcaption", *caption),
            element("div", join(legend), class_="legend"),
        ),
        _table(["RTO phase", "After fault start"], phases, class_="compact") if phases else "",
    )


def _legend_swatch(colour: str, text: str) -> Markup:
    return element(
        "span",
        element("i", "", style=f"background:{colour}"),
        text,
        class_="swatch",
    )


def _proofs(report: Report) -> Markup:
    items = []
    for item in report.proofs:
        evidence = (
            element(
                "ul",
                join(
                    [
                        element(
                            "li",
                            badge(e.outcome),
                            " ",
                            rich(e.source),
                            element("span", " — ", rich(e.detail), class_="muted")
                            if e.detail
                            else "",
                        )
                        for e in item.evidence
                    ]
                ),
            )
            if item.evidence
            else element("p", "This drill has no step that tests it.", class_="muted")
        )
        items.append(
            element(
                "li",
                element(
                    "div",
                    badge(item.status, words.PROOF_WORDS[item.status]),
                    element("strong", item.title),
                    class_="proof-head",
                ),
                evidence,
                element("p", "Counts as evidence: ", rich(item.rule), class_="rule"),
                class_="proof",
                data_proof=item.id,
                data_status=item.status,
            )
        )
    return _section("proof", "Restore proof", element("ol", join(items), class_="proofs"))


def _tested(report: Report) -> Markup:
    drill, run, target = report.drill, report.run, report.target
    runbooks = ", ".join(f"{r.name} {r.version}" for r in drill.runbooks) or "none"
    return _section(
        "tested",
        "What was tested",
        element("p", drill.description, class_="description") if drill.description else "",
        _facts(
            [
                ("Drill", f"{drill.name} {drill.version} (owner {drill.owner}, tier {drill.tier})"),
                ("Drill digest", _mono(drill.digest)),
                ("Runbooks", runbooks),
                (
                    "Target",
                    f"{target.name} (provider {target.provider}, tier {target.tier or '?'})",
                ),
                ("Cluster", words.or_not_recorded(target.cluster)),
                ("Regions", ", ".join(target.regions) or words.NOT_RECORDED),
                ("Zones", ", ".join(target.zones) or words.NOT_RECORDED),
                ("Namespaces", ", ".join(target.namespaces) or "none listed"),
                ("Services", ", ".join(target.services) or "none listed"),
                ("Scheduled (UTC)", words.scheduled(report)),
                ("Started (UTC)", words.utc(run.started_at)),
                ("Ended (UTC)", words.utc(run.ended_at) if run.finished else "did not end cleanly"),
                ("Duration", words.seconds(run.duration_seconds)),
                ("Operator", words.operator_line(report)),
            ]
        ),
    )


def _steps(report: Report) -> Markup:
    rows: list[list[object]] = [
        [
            str(s.index),
            join(
                [
                    element("strong", s.name),
                    element("div", s.description, class_="muted") if s.description else "",
                ]
            ),
            s.kind,
            s.action,
            badge(s.status, words.STEP_WORDS[s.status]),
            words.seconds(s.seconds, missing="—"),
            rich(s.summary or s.detail or "—"),
        ]
        for s in report.steps
    ]
    return _section(
        "steps", "Steps", _table(["#", "Step", "Kind", "Action", "Status", "Time", "Result"], rows)
    )


def _deviations(report: Report) -> Markup:
    if not report.deviations:
        return _section(
            "deviations", "Deviations", element("p", "None: the run went as the drill planned.")
        )
    items = [
        element("li", element("strong", d.kind), ": ", rich(d.text), class_="deviation")
        for d in report.deviations
    ]
    return _section("deviations", "Deviations", element("ul", join(items), class_="callout"))


def _errors_retries_undo(report: Report) -> Markup:
    rows: list[list[object]] = []
    for failure in report.errors:
        fix = f" Fix: {failure.fix}" if failure.fix else ""
        rows.append(
            [
                "error",
                words.utc(failure.at),
                failure.step or "run",
                rich(f"{failure.error}: {failure.message}.{fix}"),
            ]
        )
    for retry in report.retries:
        rows.append(
            [
                "retry",
                words.utc(retry.at),
                retry.step or "run",
                f"attempt {retry.attempt} of {retry.call} after {retry.error}; "
                f"waited {retry.wait_seconds:.2f}s",
            ]
        )
    for undo in report.undo:
        how = " by drill recover" if undo.by_recovery else ""
        error = f": {undo.error}" if undo.error else ""
        rows.append(
            [
                badge(undo.status),
                words.utc(undo.reverted_at or undo.planned_at),
                undo.step or "run",
                f"undo of {undo.fault_id} ({undo.kind}){how}{error}",
            ]
        )
    if not rows:
        content: Markup = element("p", "No errors, no retries, no fault to undo.")
    else:
        content = _table(["What", "When (UTC)", "Step", "Detail"], rows)
    return _section("errors", "Errors, retries and undo", content)


def _timeline(report: Report) -> Markup:
    phases: list[list[object]] = [
        [p.name, words.utc(p.started_at), words.offset(p.offset_seconds), words.seconds(p.seconds)]
        for p in report.phases
    ]
    events: list[list[object]] = [
        [words.utc(e.at), words.offset(e.offset_seconds), e.step or "", rich(e.text)]
        for e in report.timeline
    ]
    timing = report.timing
    split: list[list[object]] = [
        [label, words.seconds(seconds), f"{100 * seconds / timing.total_seconds:.1f}%"]
        for label, seconds in words.timing_rows(timing)
        if timing.total_seconds > 0
    ]
    return _section(
        "timeline",
        "Phases and timeline",
        element("h3", "Phases"),
        _table(["Phase", "Started (UTC)", "After start", "Took"], phases, class_="compact"),
        element("h3", "Timing"),
        _table(["Time went to", "Seconds", "Share"], split, class_="compact"),
        element("h3", "Timeline"),
        _table(["Time (UTC)", "After start", "Step", "Event"], events, class_="compact events"),
    )


def _operator(report: Report) -> Markup:
    operator = report.operator
    rows: list[tuple[str, object]] = [
        ("OS user", words.or_not_recorded(operator.os_user)),
        ("Host", words.or_not_recorded(operator.host)),
        ("AWS caller (STS)", words.or_not_recorded(operator.aws_caller_arn)),
        ("Azure object id", words.or_not_recorded(operator.azure_object_id)),
        ("Kubernetes user", words.or_not_recorded(operator.kubernetes_user)),
        *[(f"identity: {key}", value) for key, value in operator.identity.items()],
    ]
    return _section("operator", "Operator and identity", _facts(rows))


def _tools(report: Report) -> Markup:
    tools, sources = report.tools, report.sources
    rows: list[tuple[str, object]] = [
        ("drillkit (ran the drill)", words.or_not_recorded(tools.drillkit)),
        ("Python", words.or_not_recorded(tools.python)),
        ("drillkit (rendered this report)", tools.rendered_by),
    ]
    dependencies = (
        element(
            "ul",
            join(
                element("li", name, " ", element("span", version, class_="muted"))
                for name, version in tools.dependencies.items()
            ),
            class_="versions",
        )
        if tools.dependencies
        else element("p", words.NOT_RECORDED)
    )
    files: list[Sequence[object]] = [
        ["journal.jsonl", _mono(sources.journal_sha256), f"{sources.journal_events} events"],
        ["drill.yaml", _mono(sources.definition_sha256), ""],
        *[[f.name, _mono(f.sha256), f"{f.rows} rows"] for f in sources.samples],
    ]
    return _section(
        "tools",
        "Tools and versions",
        _facts(rows),
        element("h3", "Dependencies, as installed when the drill ran"),
        dependencies,
        element("h3", "Computed from"),
        _table(["File", "sha256", ""], files, class_="compact"),
    )


def _verification(report: Report) -> Markup:
    verification = report.verification
    steps = [
        element(
            "div",
            element("h3", step.title),
            element("p", rich(step.text)),
            element("pre", element("code", step.command)) if step.command else "",
            class_="verify-step",
        )
        for step in verification.steps
    ]
    return _section(
        "verify",
        "How to verify",
        element("pre", element("code", verification.command), class_="command"),
        join(steps),
    )


def _footer(report: Report) -> Markup:
    return element(
        "footer",
        f"Rendered by drillkit {report.tools.rendered_by} from journal.jsonl (sha256 ",
        _mono(report.sources.journal_sha256[:16] + "…"),
        f", {report.sources.journal_events} events) and drill.yaml. Report schema "
        f"{report.schema_version}. This page is self-contained and fetches nothing.",
    )
