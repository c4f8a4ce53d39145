"""The restore-drill proof list: which of the ten claims of a restore this run proved.

An auditor asks the same ten questions of every restore drill: did the
manifests apply, did controllers reconcile, do secrets resolve, are
certificates valid, is the data back within the RPO, does the app boot, is
traffic routed, does observability work, can humans act, and did the
post-restore checks pass. Each line is derived from what the drill *ran*,
never from what it was called: the kinds of its probe steps and restore
actions, its declared objectives, and the RTO sampler. A line is

- ``proven`` when at least one piece of evidence ran and passed and none failed,
- ``failed`` when any piece of evidence ran and failed,
- ``not-covered`` when this drill has no evidence for it, or none of it ran.

A probe kind cannot tell everything (no kind measures observability), so a
probe document may claim lines explicitly with the label
``drillkit.io/proves: observability-works`` (comma-separated ids); the claim
still has to pass to count. ``PROOF_RULES`` is the whole mapping, and each
line's ``rule`` text in the report says it in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drillkit.evidence.report_model import (
    ObjectiveResult,
    Outcome,
    ProofEvidence,
    ProofItem,
    ProofStatus,
    StepResult,
)

PROVES_LABEL = "drillkit.io/proves"
"""Probe document label naming proof ids the probe proves, comma-separated."""


@dataclass(frozen=True)
class ProofRule:
    """Which measurements count as evidence for one line of the proof list."""

    id: str
    title: str
    rule: str
    probe_types: tuple[str, ...] = ()
    restore_kinds: tuple[str, ...] = ()
    objective: str | None = None
    rto_recovery: bool = False
    after_last_restore: bool = False


PROOF_RULES: tuple[ProofRule, ...] = (
    ProofRule(
        "manifests-applied",
        "Manifests applied cleanly",
        "every `backup-restore` action completed without error",
        restore_kinds=("backup-restore",),
    ),
    ProofRule(
        "controllers-reconciled",
        "Controllers reconciled",
        "every `wait-for-recovery` action and `workload-ready` probe saw the desired "
        "replicas ready",
        probe_types=("workload-ready",),
        restore_kinds=("wait-for-recovery",),
    ),
    ProofRule(
        "secrets-resolve",
        "Secrets resolve",
        "every `secret` probe resolved its secret (digest recorded, never the value)",
        probe_types=("secret",),
    ),
    ProofRule(
        "certificates-valid",
        "Certificates valid",
        "every `tls` probe accepted the certificate, and the `minCertificateDays` "
        "objective (when set) was met",
        probe_types=("tls",),
        objective="minCertificateDays",
    ),
    ProofRule(
        "data-within-rpo",
        "Data restored within RPO",
        "the `rpo` objective was met, measured by canary records written before the fault",
        objective="rpo",
    ),
    ProofRule(
        "app-boots",
        "App boots and answers",
        "the RTO probe passed `stableFor` samples in a row after the fault, and every "
        "`http` probe step passed",
        probe_types=("http",),
        rto_recovery=True,
    ),
    ProofRule(
        "traffic-routed",
        "Traffic routed",
        "every `routing` probe found the expected region or records",
        probe_types=("routing",),
    ),
    ProofRule(
        "observability-works",
        "Observability works",
        f"every probe whose document is labelled `{PROVES_LABEL}: observability-works` "
        "passed (no probe kind measures observability by itself)",
    ),
    ProofRule(
        "humans-can-access",
        "Humans can access",
        "every `access` probe found the permissions the runbook needs granted",
        probe_types=("access",),
    ),
    ProofRule(
        "post-restore-validation",
        "Post-restore validation passed",
        "every probe step after the last restore step passed",
        after_last_restore=True,
    ),
)
PROOF_IDS: tuple[str, ...] = tuple(rule.id for rule in PROOF_RULES)


def prove(
    steps: Iterable[StepResult],
    objectives: Iterable[ObjectiveResult],
    rto_recovery: ProofEvidence | None,
) -> tuple[ProofItem, ...]:
    """The ten lines, in order, from the run's step results, objectives and RTO recovery."""
    step_list = list(steps)
    objective_list = list(objectives)
    items = []
    for rule in PROOF_RULES:
        evidence = [
            *_step_evidence(rule, step_list),
            *_objective_evidence(rule, objective_list),
        ]
        if rule.rto_recovery and rto_recovery is not None:
            evidence.insert(0, rto_recovery)
        items.append(
            ProofItem(
                id=rule.id,
                title=rule.title,
                status=_status(evidence),
                rule=rule.rule,
                evidence=tuple(evidence),
            )
        )
    return tuple(items)


def _status(evidence: list[ProofEvidence]) -> ProofStatus:
    outcomes = {item.outcome for item in evidence}
    if "failed" in outcomes:
        return "failed"
    if "passed" in outcomes:
        return "proven"
    return "not-covered"


def _step_evidence(rule: ProofRule, steps: list[StepResult]) -> list[ProofEvidence]:
    last_restore = max((s.index for s in steps if s.kind == "restore"), default=None)
    found: list[ProofEvidence] = []
    for step in steps:
        if step.kind == "probe" and (
            step.probe_type in rule.probe_types
            or rule.id in step.proves
            or (rule.after_last_restore and last_restore is not None and step.index > last_restore)
        ):
            found.append(
                ProofEvidence(
                    source=f"probe step `{step.name}` ({step.probe_type} probe)",
                    outcome=_step_outcome(step),
                    detail=step.summary or step.detail or _not_run_detail(step),
                )
            )
        if step.kind == "restore":
            for action in step.restore_actions:
                if action.kind in rule.restore_kinds:
                    found.append(
                        ProofEvidence(
                            source=f"restore step `{step.name}`: {action.name} ({action.kind})",
                            outcome=action.outcome,
                            detail=action.error or _action_detail(action.outcome),
                        )
                    )
    return found


_OBJECTIVE_OUTCOMES: dict[str, Outcome] = {"met": "passed", "not-met": "failed"}


def _objective_evidence(rule: ProofRule, objectives: list[ObjectiveResult]) -> list[ProofEvidence]:
    found = []
    for objective in objectives:
        if objective.declared and objective.name == rule.objective:
            # Not met because nothing was measured (the run ended first) is no evidence
            # against the claim: the objective's own row already says it was not met.
            outcome = (
                _OBJECTIVE_OUTCOMES.get(objective.status, "not-run")
                if objective.value is not None
                else "not-run"
            )
            found.append(
                ProofEvidence(
                    source=f"objective `{objective.name}` (target {objective.target})",
                    outcome=outcome,
                    detail=f"measured {objective.measured}",
                )
            )
    return found


def _step_outcome(step: StepResult) -> Outcome:
    if step.status == "passed":
        return "passed"
    if step.status in ("failed", "error"):
        return "failed"
    return "not-run"  # aborted, interrupted or never started: it gave no result


def _not_run_detail(step: StepResult) -> str:
    return {
        "not-run": "the run ended before this step",
        "aborted": "the run was aborted during this step",
        "interrupted": "the run stopped during this step",
    }.get(step.status, step.status)


def _action_detail(outcome: Outcome) -> str:
    return {"passed": "completed", "not-run": "did not run"}.get(outcome, outcome)
