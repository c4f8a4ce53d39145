"""The evidence report of a run, computed from its run folder alone: ``report.json``.

``build_report`` reads the journal (hash chain verified), ``drill.yaml`` (its
digest recomputed) and ``samples/``, and computes every figure with the
engine's own ``summarize_events``: the report says exactly what the run's
summary says, and can be rebuilt years later without the process that ran
the drill. The JSON is RFC 8785 canonical and holds no timestamp of its own,
so rendering a folder twice with one drillkit version gives the same bytes.

Two readings go beyond the engine's summary, and are documented here because
an auditor relies on them:

- a run whose journal has no ``run-ended`` (the process was killed) has
  verdict ``error`` whatever its steps did: nothing after the kill is known;
- in a dry run, or a run refused before any change, no objective was tested,
  so objectives are ``not-measured`` rather than failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drillkit import __version__
from drillkit.engine.measure import RunSummary, summarize_events
from drillkit.evidence import run_story
from drillkit.evidence.deviations import deviations
from drillkit.evidence.how_to_verify import verification
from drillkit.evidence.identity import identity_facts, operator_facts, target_facts
from drillkit.evidence.no_sign import signing_disabled
from drillkit.evidence.proofs import prove
from drillkit.evidence.report_model import (
    SCHEMA_VERSION,
    DrillFacts,
    Measurements,
    ObjectiveResult,
    ObjectiveStatus,
    ProofEvidence,
    Report,
    RpoMeasurement,
    RtoMeasurement,
    RunbookFacts,
    RunFacts,
    SourceFile,
    Sources,
    StepResult,
    ToolVersions,
    Verdict,
)
from drillkit.evidence.rto_chart import rto_chart
from drillkit.evidence.run_folder import RunFolder, read_run_folder
from drillkit.evidence.step_results import step_results
from drillkit.spec.describe import describe
from drillkit.spec.digest import canonical_json

__all__ = ["Report", "build_report", "report_json"]

_UNTESTED = ("dry-run", "refused")
_OBJECTIVE_TITLES = {
    "rto": "Recovery time (RTO)",
    "rpo": "Recovery point (RPO)",
    "minCertificateDays": "Certificate validity",
    "secretsResolved": "Secrets resolved",
    "routingCorrect": "Routing correct",
}


def build_report(run_dir: Path) -> Report:
    """The report of the run in ``run_dir``; ``ReportError``/``JournalError`` if it cannot be."""
    folder = read_run_folder(run_dir)
    events = list(folder.events)
    drill = folder.definition.drill
    summary = summarize_events(events, drill)
    facts = folder.run_started.data
    ended = next((e for e in reversed(events) if e.type == "run-ended"), None)
    verdict, reason = _verdict(summary, finished=ended is not None)
    steps = step_results(folder.definition, events)
    objectives = _objectives(summary, steps, verdict)
    identity = identity_facts(events)
    rto_probe = _rto_probe(folder)
    undo = run_story.undo_actions(events)
    run = RunFacts(
        run_id=str(facts.get("runId", folder.path.name)),
        verdict=verdict,
        verdict_reason=reason,
        verdict_at_run_end=str(ended.data.get("verdict")) if ended is not None else None,
        finished=ended is not None,
        dry_run=bool(facts.get("dryRun")),
        scheduled_start=_text(facts.get("scheduledStart")),
        scheduled_end=_text(facts.get("scheduledEnd")),
        started_at=events[0].time,
        ended_at=ended.time if ended is not None else None,
        duration_seconds=round(ended.mono - events[0].mono, 3) if ended is not None else None,
        last_event_at=events[-1].time,
    )
    return Report(
        schema_version=SCHEMA_VERSION,
        drill=_drill_facts(folder),
        run=run,
        target=target_facts(facts, identity, drill),
        operator=operator_facts(facts, identity),
        objectives=objectives,
        measurements=_measurements(folder, summary, rto_probe),
        steps=steps,
        proofs=prove(steps, objectives, _rto_recovery(folder, summary)),
        phases=run_story.phases(events),
        timing=run_story.timing(events),
        timeline=run_story.timeline(events),
        deviations=deviations(folder, run, steps, objectives, undo),
        errors=run_story.errors(events),
        retries=run_story.retries(events),
        undo=undo,
        samplers=run_story.samplers(events),
        chart=rto_chart(events, summary, rto_probe),
        tools=_tools(facts),
        sources=_sources(folder),
        verification=verification(
            folder.definition.name,
            run.run_id,
            folder.journal_head,
            signed=not signing_disabled(facts),
        ),
    )


def report_json(report: Report) -> bytes:
    """``report.json``'s bytes: the RFC 8785 canonical JSON of ``report``."""
    return canonical_json(report.model_dump(mode="json", by_alias=True))


_VERDICTS: dict[str, tuple[Verdict, str]] = {
    "passed": ("passed", "every step passed and every objective was met"),
    "failed": ("failed", "a step or an objective failed (see deviations)"),
    "aborted": ("aborted", "the run was aborted; see undo for what was reverted"),
    "refused": ("refused", "a guard or the target lock refused the run before anything changed"),
    "dry-run": ("dry-run", "dry run: guards, lock and baseline probes only; nothing was changed"),
    "error": ("error", "an internal error stopped the run (see errors)"),
}
_OBJECTIVE_STATUS: dict[bool | None, ObjectiveStatus] = {
    True: "met",
    False: "not-met",
    None: "not-measured",
}


def _verdict(summary: RunSummary, *, finished: bool) -> tuple[Verdict, str]:
    if not finished:
        return "error", "the journal ends without `run-ended`: the run was killed or crashed"
    if summary.faults_left:
        return "error", f"faults still applied: {', '.join(summary.faults_left)}"
    return _VERDICTS.get(summary.verdict, ("error", summary.verdict))


def _objectives(
    summary: RunSummary, steps: tuple[StepResult, ...], verdict: Verdict
) -> tuple[ObjectiveResult, ...]:
    outcomes = summary.objectives
    values = {
        "rto": summary.rto_seconds,
        "rpo": summary.rpo_seconds,
        "minCertificateDays": summary.certificate_days_left,
    }
    results = []
    for outcome in outcomes:
        status = "not-measured" if verdict in _UNTESTED else _OBJECTIVE_STATUS[outcome.met]
        results.append(
            ObjectiveResult(
                name=outcome.name,
                title=_OBJECTIVE_TITLES.get(outcome.name, outcome.name),
                declared=True,
                target=(
                    f"at least {outcome.target} days"
                    if outcome.name == "minCertificateDays"
                    else outcome.target
                ),
                measured=outcome.measured,
                value=values.get(outcome.name),
                status=status,
            )
        )
    declared = {o.name for o in outcomes}
    for name in ("rto", "rpo", "minCertificateDays"):
        if name not in declared:
            results.append(
                ObjectiveResult(
                    name=name,
                    title=_OBJECTIVE_TITLES[name],
                    declared=False,
                    target="not set",
                    measured="",
                    value=None,
                    status="not-set",
                )
            )
    results.append(_probe_objective("secretsResolved", "secret", steps, "resolves"))
    results.append(_probe_objective("routingCorrect", "routing", steps, "routes as expected"))
    return tuple(results)


def _probe_objective(
    name: str, probe_type: str, steps: tuple[StepResult, ...], what: str
) -> ObjectiveResult:
    """Implied by the drill's probes: every probe of ``probe_type`` must pass."""
    relevant = [s for s in steps if s.probe_type == probe_type]
    ran = [s for s in relevant if s.status != "not-run"]
    passed = [s for s in ran if s.status == "passed"]
    status: ObjectiveStatus
    if not relevant:
        status, measured = "not-set", f"no {probe_type} probe in this drill"
    elif not ran:
        status, measured = "not-measured", f"no {probe_type} probe ran"
    else:
        status = "met" if len(passed) == len(relevant) else "not-met"
        measured = f"{len(passed)} of {len(relevant)} {probe_type} probes passed"
    return ObjectiveResult(
        name=name,
        title=_OBJECTIVE_TITLES[name],
        declared=False,
        target=f"every {probe_type} probe {what}",
        measured=measured,
        value=None,
        status=status,
    )


def _rto_probe(folder: RunFolder) -> str:
    measure = folder.definition.drill.spec.measure.rto
    if measure is None:
        return ""
    probe = folder.definition.probe(measure.probe)
    return f"{probe.type} probe: {describe(probe)}"


def _rto_recovery(folder: RunFolder, summary: RunSummary) -> ProofEvidence | None:
    """Whether the run saw users' service come back after the fault, before any undo.

    Only the runner's own ``recovered`` event counts: samples passing again
    after an aborted run undid its faults show the undo worked, not that the
    restore did.
    """
    measure = folder.definition.drill.spec.measure.rto
    if measure is None:
        return None
    source = f"RTO probe: {measure.stable_for} passing samples in a row after the fault"
    types = {event.type for event in folder.events}
    verified = any(e.type == "phase" and e.data.get("phase") == "verify" for e in folder.events)
    if "fault-undo-planned" not in types:
        return ProofEvidence(source=source, outcome="not-run", detail="no fault was injected")
    if "recovered" in types:
        return ProofEvidence(
            source=source,
            outcome="passed",
            detail=f"recovered {summary.rto_seconds or 0.0:.2f}s after fault start",
        )
    if verified:
        return ProofEvidence(
            source=source, outcome="failed", detail="the service did not recover during the run"
        )
    return ProofEvidence(
        source=source, outcome="not-run", detail="the run ended before it waited for recovery"
    )


def _measurements(folder: RunFolder, summary: RunSummary, rto_probe: str) -> Measurements:
    spec = folder.definition.drill.spec
    rto = None
    if spec.measure.rto is not None:
        rto = RtoMeasurement(
            seconds=summary.rto_seconds,
            probe=rto_probe,
            sampling_interval_seconds=summary.sampling_interval_seconds,
            stable_for=spec.measure.rto.stable_for,
            samples=summary.samples,
            availability=summary.availability,
            phases=dict(summary.rto_phases),
            latency_ms=dict(summary.latency_ms),
        )
    rpo = None
    if spec.measure.rpo is not None:
        rpo = RpoMeasurement(
            seconds=summary.rpo_seconds,
            canary_writes_lost=summary.canary_writes_lost,
            canary_gaps=summary.canary_gaps,
            note=summary.rpo_note,
        )
    return Measurements(rto=rto, rpo=rpo, certificate_days_left=summary.certificate_days_left)


def _drill_facts(folder: RunFolder) -> DrillFacts:
    resolved = folder.definition
    meta = resolved.drill.metadata
    return DrillFacts(
        name=meta.name,
        version=meta.version,
        digest=resolved.digest,
        owner=meta.owner,
        tier=meta.tier,
        description=meta.description.strip(),
        labels=dict(meta.labels),
        definition_sha256=folder.definition_sha256,
        references=resolved.references,
        runbooks=tuple(
            RunbookFacts(
                ref=ref,
                name=runbook.metadata.name,
                version=runbook.metadata.version,
                owner=runbook.metadata.owner,
            )
            for ref, runbook in sorted(resolved.runbooks.items())
        ),
    )


def _tools(facts: dict[str, Any]) -> ToolVersions:
    dependencies = facts.get("dependencies")
    return ToolVersions(
        drillkit=_text(facts.get("drillkit")),
        python=_text(facts.get("python")),
        dependencies=(
            {str(k): str(v) for k, v in dependencies.items()}
            if isinstance(dependencies, dict)
            else {}
        ),
        rendered_by=__version__,
    )


def _sources(folder: RunFolder) -> Sources:
    return Sources(
        journal_sha256=folder.journal_sha256,
        journal_head=folder.journal_head,
        journal_events=len(folder.events),
        torn_tail_bytes=folder.torn_tail_bytes,
        definition_sha256=folder.definition_sha256,
        samples=tuple(
            SourceFile(name=f.name, sha256=f.sha256, rows=f.rows) for f in folder.sample_files
        ),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
