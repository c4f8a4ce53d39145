"""Deviations: everything in a run that did not go as its drill planned.

An auditor reads this list first. It gathers, from the journal and the
folder, what the other sections show in passing: a run that never ended, a
torn journal line, a verdict that changed after the run (``drill recover``
appended to it), refusing guards, failing baselines, failed or unrun steps,
unmet objectives, faults left applied or whose undo failed, missed samples,
warnings, and raw sample files that disagree with the journal. Errors,
retries and undo actions have their own sections and are not repeated here
unless they left something wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from drillkit.evidence.report_model import (
    Deviation,
    ObjectiveResult,
    RunFacts,
    StepResult,
    UndoAction,
)
from drillkit.evidence.run_folder import SAMPLES, RunFolder

_BROKEN_STEPS = ("failed", "error", "aborted", "interrupted")


def deviations(
    folder: RunFolder,
    run: RunFacts,
    steps: Sequence[StepResult],
    objectives: Sequence[ObjectiveResult],
    undo: Sequence[UndoAction],
) -> tuple[Deviation, ...]:
    found: list[Deviation] = []
    if not run.finished:
        found.append(
            _deviation(
                "unfinished",
                "the journal ends without `run-ended`: the run was killed or its machine "
                "stopped; run `drill recover` if faults may still be applied",
                at=run.last_event_at,
            )
        )
    if folder.torn_tail_bytes:
        found.append(
            _deviation(
                "torn-journal",
                f"journal.jsonl ends with an unfinished line of {folder.torn_tail_bytes} bytes "
                "(a crash mid-write); it is not part of the verified chain",
            )
        )
    if run.verdict_at_run_end is not None and run.verdict_at_run_end != run.verdict:
        found.append(
            _deviation(
                "verdict-changed",
                f"the run ended as {run.verdict_at_run_end}; with the events appended since "
                f"(such as `drill recover`), the journal now says {run.verdict}",
            )
        )
    found.extend(_journal_deviations(folder))
    found.extend(_step_deviations(run, steps))
    for objective in objectives:
        if objective.status == "not-met":
            found.append(
                _deviation(
                    "objective-not-met",
                    f"objective {objective.name} not met: target {objective.target}, "
                    f"measured {objective.measured}",
                )
            )
    for action in undo:
        if action.status != "reverted":
            error = f": {action.error}" if action.error else ""
            found.append(
                _deviation(
                    "fault-still-applied" if action.status == "still-applied" else "undo-failed",
                    f"fault {action.fault_id} is still applied{error}; run `drill recover "
                    f"{run.run_id}` once the cause is fixed",
                    step=action.step,
                )
            )
    found.extend(_sample_deviations(folder))
    return tuple(found)


def _journal_deviations(folder: RunFolder) -> list[Deviation]:
    found = []
    for event in folder.events:
        if event.type == "guard" and not event.data.get("ok"):
            text = f"guard {event.data.get('guard')} refused: {event.data.get('detail')}"
            found.append(_deviation("guard-refused", text, at=event.time))
        elif event.type == "baseline" and not event.data.get("ok"):
            text = (
                f"baseline {event.data.get('sampler')} probe failed before any fault: "
                f"{event.data.get('summary')}"
            )
            found.append(_deviation("baseline-failed", text, at=event.time))
        elif event.type == "warning":
            found.append(
                _deviation("warning", str(event.data.get("message")), event.step, event.time)
            )
        elif event.type == "sampler-stopped" and int(event.data.get("missed") or 0) > 0:
            text = (
                f"sampler {event.data.get('sampler')} missed {event.data.get('missed')} of its "
                "sampling slots (the probe took longer than the interval)"
            )
            found.append(_deviation("missed-samples", text, at=event.time))
        elif event.type == "recovery-started":
            found.append(
                _deviation("recovered-later", "`drill recover` ran on this run", at=event.time)
            )
    return found


def _step_deviations(run: RunFacts, steps: Sequence[StepResult]) -> list[Deviation]:
    found = []
    for step in steps:
        if step.status in _BROKEN_STEPS:
            detail = f": {step.detail}" if step.detail else ""
            found.append(
                _deviation(
                    f"step-{step.status}",
                    f"step {step.index} {step.name} {step.status}{detail}",
                    step.name,
                    step.started_at,
                )
            )
    unrun = [s.name for s in steps if s.status == "not-run"]
    if unrun and run.verdict not in ("dry-run", "refused"):  # by design, or said above
        found.append(
            _deviation(
                "steps-not-run",
                f"{len(unrun)} of {len(steps)} steps did not run: {', '.join(unrun)}",
            )
        )
    return found


def _sample_deviations(folder: RunFolder) -> list[Deviation]:
    """Raw sample files must hold exactly the samples the journal holds."""
    expected: dict[str, int] = {}
    for event in folder.events:
        if event.type == "sample":
            name = f"{SAMPLES}/{str(event.data.get('sampler')).replace(':', '-')}.jsonl"
            expected[name] = expected.get(name, 0) + 1
        elif event.type == "canary-write":
            expected[f"{SAMPLES}/rpo-canary.jsonl"] = (
                expected.get(f"{SAMPLES}/rpo-canary.jsonl", 0) + 1
            )
    found_rows = {f.name: f.rows for f in folder.sample_files}
    found = []
    for name in sorted(set(expected) | set(found_rows)):
        want, have = expected.get(name, 0), found_rows.get(name)
        if have is None:
            text = f"{name} is missing; the journal holds {want} samples for it"
        elif have != want:
            text = f"{name} holds {have} rows, but the journal holds {want} samples"
        else:
            continue
        found.append(_deviation("samples-mismatch", text))
    return found


def _deviation(kind: str, text: str, step: str | None = None, at: str | None = None) -> Deviation:
    return Deviation(kind=kind, text=text, step=step, at=at)
