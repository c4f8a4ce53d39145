"""The evidence report as data: what ``report.json`` holds, and what every renderer reads.

One frozen pydantic model tree, camelCase in JSON like the drill files, with
``additionalProperties: false`` in its published schema
(``schemas/report.schema.json``), so a consumer can rely on every field.
``schemaVersion`` follows semver: a new optional field is a minor change, a
renamed or removed one a major change. Times are RFC 3339 UTC text as the
journal wrote them; durations are seconds. Nothing here can hold a secret
value: every figure and text comes from the journal, which holds none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = "1.1.0"
"""What ``build_report`` writes. 1.1.0 added ``verification.signed``."""
SCHEMA_VERSIONS = ("1.0.0", "1.1.0")
"""Every version this drillkit reads (and ``drill verify`` accepts): older reports stay valid."""
SchemaVersion = Literal["1.0.0", "1.1.0"]

Verdict = Literal["passed", "failed", "aborted", "refused", "error", "dry-run"]
ObjectiveStatus = Literal["met", "not-met", "not-measured", "not-set"]
StepStatus = Literal["passed", "failed", "aborted", "error", "interrupted", "not-run"]
Outcome = Literal["passed", "failed", "not-run"]
ProofStatus = Literal["proven", "failed", "not-covered"]
UndoStatus = Literal["reverted", "failed", "still-applied"]


class ReportModel(BaseModel):
    """Base of every report model: strict, frozen, camelCase in JSON."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class RunbookFacts(ReportModel):
    """A runbook the drill's restore steps follow."""

    ref: str
    name: str
    version: str
    owner: str


class DrillFacts(ReportModel):
    """What was tested: the exact drill definition."""

    name: str
    version: str
    digest: str
    """sha256 over the RFC 8785 canonical JSON of the definition with references inlined."""
    owner: str
    tier: int
    description: str
    labels: dict[str, str]
    definition_sha256: str
    """sha256 of the drill.yaml file in the run folder."""
    references: tuple[str, ...]
    """Repository files the definition inlines (probes, runbooks, experiments)."""
    runbooks: tuple[RunbookFacts, ...]


class RunFacts(ReportModel):
    """When, and how the run ended."""

    run_id: str
    verdict: Verdict
    verdict_reason: str
    """One sentence saying why the verdict is what it is."""
    verdict_at_run_end: str | None
    """The verdict journaled when the run ended; differs when, say, ``drill recover`` ran later."""
    finished: bool
    """False when the journal has no ``run-ended`` event (the process was killed)."""
    dry_run: bool
    scheduled_start: str | None
    scheduled_end: str | None
    started_at: str
    ended_at: str | None
    duration_seconds: float | None
    last_event_at: str


class TargetFacts(ReportModel):
    """Where the drill ran and what it was about."""

    name: str
    provider: str
    tier: str | None
    description: str
    cluster: str | None
    regions: tuple[str, ...]
    zones: tuple[str, ...]
    namespaces: tuple[str, ...]
    services: tuple[str, ...]


class OperatorFacts(ReportModel):
    """Who ran the drill: the OS user and the identities the provider acted as."""

    os_user: str | None
    host: str | None
    aws_caller_arn: str | None
    azure_object_id: str | None
    kubernetes_user: str | None
    identity: dict[str, str]
    """Every identity fact the provider journaled, flattened to dotted keys."""


class ObjectiveResult(ReportModel):
    """One promise under test and what was measured against it."""

    name: str
    title: str
    declared: bool
    """True for objectives the drill sets; false for the ones implied by its probes."""
    target: str
    measured: str
    value: float | None
    """The measured figure: seconds for rto and rpo, days for minCertificateDays; None when
    nothing was measured (and for objectives implied by probes)."""
    status: ObjectiveStatus


class RtoMeasurement(ReportModel):
    """RTO as users saw it: from fault start to a stable run of passing probe samples."""

    seconds: float | None
    probe: str
    sampling_interval_seconds: float | None
    stable_for: int
    samples: int
    availability: float | None
    phases: dict[str, float]
    """Seconds after fault start: detected, restoreStarted, restoreFinished, recovered."""
    latency_ms: dict[str, float]


class RpoMeasurement(ReportModel):
    """RPO from canary records: fault start minus the newest write that survived."""

    seconds: float | None
    canary_writes_lost: int | None
    canary_gaps: int | None
    note: str


class Measurements(ReportModel):
    rto: RtoMeasurement | None
    rpo: RpoMeasurement | None
    certificate_days_left: float | None


class RestoreActionResult(ReportModel):
    """One restore intent of a restore step (a runbook step, or the inline intent)."""

    name: str
    kind: str
    outcome: Outcome
    error: str


class StepResult(ReportModel):
    """One step of the drill, in definition order, whether it ran or not."""

    index: int
    name: str
    kind: str
    description: str
    action: str
    """What the step does, in a few words: ``zone-outage``, ``tls probe``, ``runbook x 1.0.0``."""
    probe_type: str | None
    probe_ref: str | None
    proves: tuple[str, ...]
    """Proof ids claimed by the probe document's ``drillkit.io/proves`` label."""
    status: StepStatus
    started_at: str | None
    seconds: float | None
    detail: str
    attempts: int
    summary: str
    """The last probe result's summary (probe steps only)."""
    values: dict[str, JsonValue]
    """The last probe result's measured values (digests, never secret values)."""
    restore_actions: tuple[RestoreActionResult, ...]


class ProofEvidence(ReportModel):
    """One measurement that counts toward a proof."""

    source: str
    outcome: Outcome
    detail: str


class ProofItem(ReportModel):
    """One line of the restore-drill proof list."""

    id: str
    title: str
    status: ProofStatus
    rule: str
    """What counts as evidence for this line."""
    evidence: tuple[ProofEvidence, ...]


class PhaseEntry(ReportModel):
    name: str
    started_at: str
    offset_seconds: float
    """Seconds after the run started."""
    seconds: float


class Timing(ReportModel):
    """Where the run's time went: the drill's own waits, the target's work, and the engine."""

    total_seconds: float
    waiting_seconds: float
    """Wait and checkpoint steps, the RPO canary's warmup, and waiting for stable recovery."""
    target_seconds: float
    """Fault, restore and probe steps, baseline probes and undo: time spent on the target."""
    engine_seconds: float
    """Everything else: drillkit's own work (plan checks, lock, journal, measuring)."""
    engine_share: float
    """``engine_seconds / total_seconds``."""


class TimelineEntry(ReportModel):
    at: str
    offset_seconds: float
    event: str
    step: str | None
    text: str


class Deviation(ReportModel):
    """Anything that did not go as the drill planned."""

    kind: str
    text: str
    step: str | None
    at: str | None


class ErrorEntry(ReportModel):
    error: str
    message: str
    fix: str | None
    step: str | None
    at: str


class RetryEntry(ReportModel):
    step: str | None
    call: str
    attempt: int
    error: str
    wait_seconds: float
    at: str


class UndoAction(ReportModel):
    """One applied fault and what became of it."""

    fault_id: str
    kind: str
    step: str | None
    planned_at: str
    status: UndoStatus
    reverted_at: str | None
    error: str
    by_recovery: bool
    """Undone later by ``drill recover``, not by the run itself."""


class SamplerFacts(ReportModel):
    name: str
    interval_seconds: float | None
    samples: int
    missed: int | None


class ChartPoint(ReportModel):
    t: float
    """Seconds from the chart's origin."""
    ok: bool
    latency_ms: float | None


class Chart(ReportModel):
    """The RTO probe's samples for the timeline chart (bucketed when there are many)."""

    sampler: str
    probe: str
    origin: Literal["fault-start", "first-sample"]
    samples: int
    bucket_seconds: float | None
    """Set when points are buckets: ``ok`` is false if any sample in it failed, latency the max."""
    points: tuple[ChartPoint, ...]
    markers: dict[str, float]
    """Seconds from the origin: faultStart, detected, restoreStarted, restoreFinished,
    recovered, undoStarted (whichever happened)."""


class ToolVersions(ReportModel):
    drillkit: str | None
    """The drillkit that ran the drill, as journaled."""
    python: str | None
    dependencies: dict[str, str]
    rendered_by: str
    """The drillkit that rendered this report."""


class SourceFile(ReportModel):
    name: str
    sha256: str
    rows: int | None


class Sources(ReportModel):
    """The files this report was computed from, so it can be checked against them."""

    journal_sha256: str
    journal_head: str
    journal_events: int
    torn_tail_bytes: int
    definition_sha256: str
    samples: tuple[SourceFile, ...]


class VerificationStep(ReportModel):
    title: str
    text: str
    command: str | None


class Verification(ReportModel):
    """How an auditor checks this bundle, with the tool and without it."""

    command: str
    attestation: str
    payload_type: str
    statement_type: str
    predicate_type: str
    steps: tuple[VerificationStep, ...]
    signed: bool = True
    """False when the run was made with ``drill run --no-sign``: nothing in the folder is
    signed, and ``drill verify`` refuses it. (Absent in 1.0.0 reports, which were all signed.)"""


class Report(ReportModel):
    """The evidence report of one run: ``report.json``."""

    schema_version: SchemaVersion
    drill: DrillFacts
    run: RunFacts
    target: TargetFacts
    operator: OperatorFacts
    objectives: tuple[ObjectiveResult, ...]
    measurements: Measurements
    steps: tuple[StepResult, ...]
    proofs: tuple[ProofItem, ...]
    phases: tuple[PhaseEntry, ...]
    timing: Timing
    timeline: tuple[TimelineEntry, ...]
    deviations: tuple[Deviation, ...]
    errors: tuple[ErrorEntry, ...]
    retries: tuple[RetryEntry, ...]
    undo: tuple[UndoAction, ...]
    samplers: tuple[SamplerFacts, ...]
    chart: Chart | None
    tools: ToolVersions
    sources: Sources
    verification: Verification
