"""A drillkit run as a Chaos Toolkit journal, for chaostoolkit-reporting and other readers.

The journal has the shape chaoslib 1.x writes (``initialize_run_journal`` and
``execute_activity``): ``experiment``, ``start``/``end``/``duration``,
``status``, ``deviated``, ``steady_states`` (before, after, during), ``run``
and ``rollbacks``, each activity run with ``activity``, ``output``,
``status`` (succeeded/failed), ``start``, ``end``, ``duration`` and, for
probes, ``tolerance_met``. Mapping:

- probe steps before the first fault are the steady state ``before``;
- every step from the first fault on is the method (faults and restores as
  actions, probes as probes); steps that never ran are left out;
- the drill's declared objectives are the steady state ``after``: one probe
  each, its output the measured value, its tolerance met when the objective was;
- undo actions are the rollbacks;
- ``status`` is ``completed`` for a passed or failed run (``deviated`` when it
  failed), ``aborted`` for an aborted or refused one, ``failed`` for an error.

Every figure comes from the run's ``report.json``. Activities name the
provider ``drillkit`` (module ``drillkit.interop.recorded``), which can only
return what was recorded: the journal is a record, not something to run again.
``extensions`` carries the run id, target, drill digest and where the signed
evidence is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drillkit import __version__
from drillkit.evidence.report_model import Report, StepResult

_METHOD_KINDS = ("fault", "restore")


def chaostoolkit_journal(report: Report, *, chaoslib_version: str | None) -> dict[str, Any]:
    steps = list(report.steps)
    first_fault = next((s.index for s in steps if s.kind == "fault"), None)
    before = [
        s for s in steps if s.kind == "probe" and (first_fault is None or s.index < first_fault)
    ]
    method = [
        s
        for s in steps
        if s.kind in (*_METHOD_KINDS, "probe") and s not in before and s.status != "not-run"
    ]
    objectives = [o for o in report.objectives if o.declared]
    verdict = report.run.verdict
    experiment = {
        "version": report.drill.version,
        "title": f"{report.drill.name} {report.drill.version}",
        "description": report.drill.description or report.drill.name,
        "tags": ["drillkit", report.target.name],
        "contributions": {},
        "steady-state-hypothesis": {
            "title": "the service answers before the fault",
            "probes": [_activity(s) for s in before],
        },
        "method": [_activity(s) for s in method],
        "rollbacks": [_undo_activity(u.fault_id, u.kind) for u in report.undo],
        "extensions": [
            {
                "name": "drillkit",
                "drillkitVersion": __version__,
                "drill": report.drill.name,
                "digest": report.drill.digest,
                "runId": report.run.run_id,
                "target": report.target.name,
                "verdict": verdict,
                "verdictReason": report.run.verdict_reason,
                "evidence": "attestation.intoto.json (drill verify DIR --key PUB)",
            }
        ],
    }
    after_probes = [
        {
            "activity": {
                "type": "probe",
                "name": f"objective-{o.name}",
                "tolerance": True,
                "provider": _provider("objective", o.name),
            },
            "output": {"target": o.target, "measured": o.measured, "value": o.value},
            "status": "succeeded" if o.status != "not-measured" else "failed",
            "start": _iso(report.run.ended_at or report.run.last_event_at),
            "end": _iso(report.run.ended_at or report.run.last_event_at),
            "duration": 0.0,
            "tolerance_met": o.status == "met",
        }
        for o in objectives
    ]
    before_runs = [_run(s) for s in before if s.status != "not-run"]
    return {
        "chaoslib-version": chaoslib_version,
        "platform": f"drillkit {__version__} ({report.target.provider})",
        "node": report.operator.host or "",
        "experiment": experiment,
        "start": _iso(report.run.started_at),
        "end": _iso(report.run.ended_at or report.run.last_event_at),
        "duration": report.run.duration_seconds or 0.0,
        "status": _status(verdict),
        "deviated": verdict == "failed",
        "steady_states": {
            "before": {
                "steady_state_met": all(r["tolerance_met"] for r in before_runs),
                "probes": before_runs,
            },
            "after": {
                "steady_state_met": all(p["tolerance_met"] for p in after_probes),
                "probes": after_probes,
            },
            "during": [],
        },
        "run": [_run(s) for s in method],
        "rollbacks": [
            {
                "activity": _undo_activity(u.fault_id, u.kind),
                "output": None,
                "status": "succeeded" if u.status == "reverted" else "failed",
                "start": _iso(u.reverted_at or u.planned_at),
                "end": _iso(u.reverted_at or u.planned_at),
                "duration": 0.0,
                **({"exception": [u.error]} if u.error else {}),
            }
            for u in report.undo
        ],
    }


def _activity(step: StepResult) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": "probe" if step.kind == "probe" else "action",
        "name": step.name,
        "provider": _provider(step.kind, step.action),
    }
    if step.kind == "probe":
        activity["tolerance"] = True
    return activity


def _undo_activity(fault_id: str, kind: str) -> dict[str, Any]:
    return {"type": "action", "name": f"undo-{fault_id}", "provider": _provider("undo", kind)}


def _provider(kind: str, action: str) -> dict[str, Any]:
    return {
        "type": "python",
        "module": "drillkit.interop.recorded",
        "func": "recorded",
        "arguments": {"kind": kind, "action": action},
    }


def _run(step: StepResult) -> dict[str, Any]:
    passed = step.status == "passed"
    start = _iso(step.started_at) if step.started_at else None
    run: dict[str, Any] = {
        "activity": _activity(step),
        "output": {"summary": step.summary, "values": dict(step.values)}
        if step.kind == "probe"
        else step.detail or None,
        "status": "succeeded" if passed else "failed",
        "start": start,
        "end": _plus(step.started_at, step.seconds),
        "duration": step.seconds or 0.0,
    }
    if step.kind == "probe":
        run["tolerance_met"] = passed
    if not passed and step.detail:
        run["exception"] = [step.detail]
    return run


def _status(verdict: str) -> str:
    if verdict in ("passed", "failed", "dry-run"):
        return "completed"
    if verdict in ("aborted", "refused"):
        return "aborted"
    return "failed"


def _iso(text: str) -> str:
    """RFC 3339 ``...Z`` as chaoslib writes times: ``isoformat()`` of an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()


def _plus(text: str | None, seconds: float | None) -> str | None:
    if text is None:
        return None
    from datetime import timedelta

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment + timedelta(seconds=seconds or 0.0)).isoformat()
