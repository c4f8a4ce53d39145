"""``report.md``: the report as Markdown, for code review, wikis and tickets.

Every value from the drill or the journal is user input (a description can
hold anything), so text is escaped for Markdown: characters that would start
emphasis, links, code or raw HTML are backslash-escaped or written as
entities, and table cells keep to one line. Commands in the verification
section are fenced code, where nothing is interpreted.
"""

from __future__ import annotations

import re

from drillkit.evidence import report_text as words
from drillkit.evidence.report_model import Report

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_WHITESPACE = re.compile(r"\s+")
_BLOCK_START = re.compile(r"^([#>+=-]|\d+[.)])")


def render_markdown(report: Report) -> str:
    sections = [
        _summary(report),
        _objectives(report),
        _proofs(report),
        _measurements(report),
        _steps(report),
        _phases(report),
        _timeline(report),
        _deviations(report),
        _errors_retries_undo(report),
        _who_and_where(report),
        _tools(report),
        _verification(report),
    ]
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"


def md(text: object) -> str:
    """Escape ``text`` for Markdown inline use, on one line (also safe in a table cell)."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _WHITESPACE.sub(" ", _SPECIAL.sub(r"\\\1", value))


def rich(text: object) -> str:
    """``md``, except that `backticked` parts (commands in fixes and rules) stay code."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code at all
        return md(text)
    return "".join(md(part) if index % 2 == 0 else _code(part) for index, part in enumerate(parts))


def _code(text: object) -> str:
    """Inline code for identifiers (digests, run ids); anything unusual is escaped instead."""
    value = " ".join(str(text).split())
    return md(value) if "`" in value or "|" in value else f"`{value}`"


def _paragraph(text: object) -> str:
    """``md`` for text that starts a line, where ``#``, ``-`` or ``1.`` would start a block."""
    return _BLOCK_START.sub(r"\\\1", md(text))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _summary(report: Report) -> str:
    drill, run, target = report.drill, report.run, report.target
    rows = [
        ["Verdict", f"**{words.VERDICT_WORDS[run.verdict]}**: {rich(run.verdict_reason)}"],
        [
            "Drill",
            f"{md(drill.name)} {md(drill.version)} (owner {md(drill.owner)}, tier {drill.tier})",
        ],
        ["Drill digest", _code(drill.digest)],
        ["Runbooks", ", ".join(f"{md(r.name)} {md(r.version)}" for r in drill.runbooks) or "none"],
        ["Run id", _code(run.run_id)],
        [
            "Target",
            f"{md(target.name)} (provider {md(target.provider)}, tier {md(target.tier or '?')})",
        ],
        ["Cluster", md(words.or_not_recorded(target.cluster))],
        ["Regions", md(", ".join(target.regions) or words.NOT_RECORDED)],
        ["Scope", _scope(report)],
        ["Scheduled (UTC)", md(words.scheduled(report))],
        ["Started (UTC)", md(words.utc(run.started_at))],
        ["Ended (UTC)", md(words.utc(run.ended_at) if run.finished else "did not end cleanly")],
        ["Duration", md(words.seconds(run.duration_seconds))],
        ["Operator", md(words.operator_line(report))],
    ]
    warning = words.unsigned_warning(report)
    if warning is not None:
        rows.insert(1, ["Evidence", "**NOT SIGNED** (`drill run --no-sign`): cannot be verified"])
    description = f"\n\n{_paragraph(drill.description)}" if drill.description else ""
    banner = f"\n\n> **Warning.** {rich(warning)}" if warning is not None else ""
    return f"# Drill report: {md(words.headline(report))}{banner}{description}\n\n" + _table(
        ["", ""], [[f"**{k}**", v] for k, v in rows]
    )


def _scope(report: Report) -> str:
    target = report.target
    namespaces = ", ".join(target.namespaces) or "none listed"
    services = ", ".join(target.services) or "none listed"
    return f"namespaces {md(namespaces)}; services {md(services)}"


def _objectives(report: Report) -> str:
    rows = [
        [
            md(o.title) + ("" if o.declared else " (implied by probes)"),
            md(o.target),
            md(o.measured or "-"),
            f"**{words.OBJECTIVE_WORDS[o.status]}**",
        ]
        for o in report.objectives
    ]
    return "## Objectives\n\n" + _table(["Objective", "Target", "Measured", "Result"], rows)


def _proofs(report: Report) -> str:
    rows = []
    for item in report.proofs:
        evidence = "; ".join(
            f"{rich(e.source)}: {e.outcome}" + (f" ({rich(e.detail)})" if e.detail else "")
            for e in item.evidence
        )
        rows.append(
            [
                md(item.title),
                f"**{words.PROOF_WORDS[item.status]}**",
                evidence or "none",
                rich(item.rule),
            ]
        )
    return "## Restore proof\n\n" + _table(
        ["Claim", "Status", "Evidence", "Counts as evidence"], rows
    )


def _measurements(report: Report) -> str:
    lines = ["## Measurements", ""]
    rto = report.measurements.rto
    if rto is not None:
        lines.append(f"- **RTO**: {md(words.rto_figure(report))}, measured by {md(rto.probe)}")
        interval = rto.sampling_interval_seconds
        every = f"every {interval * 1000:.0f} ms, " if interval is not None else ""
        lines.append(
            f"- Sampling: {every}{rto.samples} samples, recovered after {rto.stable_for} "
            f"passing samples in a row; availability {words.percent(rto.availability)}"
        )
        for name, value in rto.phases.items():
            phase = md(words.RTO_PHASE_WORDS.get(name, name))
            lines.append(f"- {phase}: {words.offset(value)} after fault start")
        if rto.latency_ms:
            figures = ", ".join(f"{k} {v:.1f} ms" for k, v in rto.latency_ms.items())
            lines.append(f"- Probe latency: {figures}")
    else:
        lines.append("- **RTO**: not measured by this drill")
    rpo = report.measurements.rpo
    if rpo is not None:
        lost = (
            ""
            if rpo.canary_writes_lost is None
            else f" ({rpo.canary_writes_lost} canary writes lost, {rpo.canary_gaps or 0} gaps)"
        )
        lines.append(f"- **RPO**: {md(words.rpo_figure(report))}{lost}")
    else:
        lines.append("- **RPO**: not measured by this drill")
    lines.append(
        f"- **Certificate days left** (fewest seen): {md(words.certificate_figure(report))}"
    )
    for sampler in report.samplers:
        missed = "" if not sampler.missed else f", {sampler.missed} missed"
        lines.append(f"- Sampler {md(sampler.name)}: {sampler.samples} samples{missed}")
    return "\n".join(lines)


def _steps(report: Report) -> str:
    rows = [
        [
            str(s.index),
            md(s.name),
            md(s.kind),
            md(s.action),
            f"**{words.STEP_WORDS[s.status]}**",
            md(words.seconds(s.seconds, missing="-")),
            rich(s.summary or s.detail or "-"),
        ]
        for s in report.steps
    ]
    return "## Steps\n\n" + _table(
        ["#", "Step", "Kind", "Action", "Status", "Time", "Result"], rows
    )


def _phases(report: Report) -> str:
    rows = [
        [
            md(p.name),
            md(words.utc(p.started_at)),
            words.offset(p.offset_seconds),
            words.seconds(p.seconds),
        ]
        for p in report.phases
    ]
    timing = report.timing
    split = _table(
        ["Time went to", "Seconds", "Share"],
        [
            [label, words.seconds(seconds), f"{100 * seconds / timing.total_seconds:.1f}%"]
            for label, seconds in words.timing_rows(report.timing)
        ]
        if timing.total_seconds > 0
        else [],
    )
    return (
        "## Phases\n\n"
        + _table(["Phase", "Started (UTC)", "After start", "Took"], rows)
        + "\n\n## Timing\n\n"
        + split
    )


def _timeline(report: Report) -> str:
    rows = [
        [md(words.utc(e.at)), words.offset(e.offset_seconds), md(e.step or ""), rich(e.text)]
        for e in report.timeline
    ]
    return "## Timeline\n\n" + _table(["Time (UTC)", "After start", "Step", "Event"], rows)


def _deviations(report: Report) -> str:
    if not report.deviations:
        return "## Deviations\n\nNone: the run went as the drill planned."
    lines = [f"- **{md(d.kind)}**: {rich(d.text)}" for d in report.deviations]
    return "## Deviations\n\n" + "\n".join(lines)


def _errors_retries_undo(report: Report) -> str:
    lines = ["## Errors, retries and undo", ""]
    for failure in report.errors:
        fix = f" Fix: {rich(failure.fix)}" if failure.fix else ""
        lines.append(
            f"- Error {md(failure.error)} at {md(words.utc(failure.at))}: "
            f"{rich(failure.message)}.{fix}"
        )
    for retry in report.retries:
        lines.append(
            f"- Retry {retry.attempt} of {md(retry.call)} ({md(retry.step or 'run')}) after "
            f"{md(retry.error)}; waited {retry.wait_seconds:.2f}s"
        )
    for undo in report.undo:
        how = " by `drill recover`" if undo.by_recovery else ""
        when = f" at {md(words.utc(undo.reverted_at))}" if undo.reverted_at else ""
        error = f": {md(undo.error)}" if undo.error else ""
        lines.append(f"- Undo of {md(undo.fault_id)}: **{md(undo.status)}**{how}{when}{error}")
    if len(lines) == 2:
        lines.append("No errors, no retries, no fault to undo.")
    return "\n".join(lines)


def _who_and_where(report: Report) -> str:
    operator = report.operator
    rows = [
        ["OS user", md(words.or_not_recorded(operator.os_user))],
        ["Host", md(words.or_not_recorded(operator.host))],
        ["AWS caller (STS)", md(words.or_not_recorded(operator.aws_caller_arn))],
        ["Azure object id", md(words.or_not_recorded(operator.azure_object_id))],
        ["Kubernetes user", md(words.or_not_recorded(operator.kubernetes_user))],
        *[[f"Provider identity: {md(k)}", md(v)] for k, v in operator.identity.items()],
        ["Zones", md(", ".join(report.target.zones) or words.NOT_RECORDED)],
    ]
    return "## Operator and identity\n\n" + _table(["Fact", "Value"], rows)


def _tools(report: Report) -> str:
    tools = report.tools
    rows = [
        ["drillkit (ran the drill)", md(words.or_not_recorded(tools.drillkit))],
        ["Python", md(words.or_not_recorded(tools.python))],
        *[[md(name), md(version)] for name, version in tools.dependencies.items()],
        ["drillkit (rendered this report)", md(tools.rendered_by)],
    ]
    sources = report.sources
    files = [
        [
            "journal.jsonl",
            _code(sources.journal_sha256),
            f"{sources.journal_events} events, head {_code(sources.journal_head[:16])}",
        ],
        ["drill.yaml", _code(sources.definition_sha256), ""],
        *[[md(f.name), _code(f.sha256), f"{f.rows} rows"] for f in sources.samples],
    ]
    return (
        "## Tools and versions\n\n"
        + _table(["Component", "Version"], rows)
        + "\n\nComputed from:\n\n"
        + _table(["File", "sha256", ""], files)
    )


def _verification(report: Report) -> str:
    verification = report.verification
    parts = ["## How to verify", "", f"```\n{verification.command}\n```"]
    for step in verification.steps:
        parts += ["", f"**{md(step.title)}.** {rich(step.text)}"]
        if step.command:
            parts += ["", f"```sh\n{step.command}\n```"]
    return "\n".join(parts)
