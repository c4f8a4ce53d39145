"""The drill definition (``kind: Drill``) and the shared documents it references.

Invariants live here, not in the engine: unique step names, a measurement for
every time objective, sampling no faster than 50 ms. A ``Drill`` that
constructs is a drill the engine can plan.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from drillkit.spec.base import API_VERSION, LabelKey, Name, SpecModel
from drillkit.spec.duration import Duration
from drillkit.spec.probes import ProbeSpec, RpoCanaryProbe
from drillkit.spec.references import ProbeRef
from drillkit.spec.restores import RestoreSpec
from drillkit.spec.semver import Version
from drillkit.spec.steps import ProbeSource, Step

_TARGET_PATTERN = re.compile(r"^[a-z0-9*?\[\]-]{1,63}$")
MIN_SAMPLING_INTERVAL = timedelta(milliseconds=50)


class DrillMetadata(SpecModel):
    """Who owns the drill, how critical the service is, and which version this is."""

    name: Name
    version: Version
    owner: str = Field(min_length=1)
    """A team or a person reachable when the drill fails (an email or a handle)."""
    tier: int = Field(ge=0, le=3)
    """Service criticality: 0 (most critical) to 3. Scorecards use it for drill frequency."""
    description: str = ""
    labels: dict[LabelKey, str] = Field(default_factory=dict)


class Objectives(SpecModel):
    """The promises under test. Each one set here gets a pass/fail verdict."""

    rto: Duration | None = None
    """Recovery time objective: fault start until the service is back, seen by users."""
    rpo: Duration | None = None
    """Recovery point objective: how much recent data may be lost."""
    min_certificate_days: int | None = Field(default=None, ge=0, le=3650)
    """Every TLS probe must see at least this many days before its certificate expires."""


class Scope(SpecModel):
    """What the drill is about: the report and the blast-radius guard read it."""

    namespaces: list[Name] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)


class BlastRadius(SpecModel):
    """Upper bounds on what the drill may touch; a plan that exceeds one is refused."""

    max_pods: int | None = Field(default=None, ge=0)
    max_nodes: int | None = Field(default=None, ge=0)
    max_zones: int = Field(default=1, ge=0)
    max_regions: int = Field(default=1, ge=0)
    max_namespaces: int = Field(default=1, ge=0)


class StopCondition(SpecModel):
    """Abort the drill (and undo every fault) when a probe keeps failing."""

    name: Name
    probe: ProbeSource
    failing_for: Duration = timedelta(seconds=30)
    """How long the probe may fail continuously before the run aborts."""
    interval: Duration = timedelta(seconds=1)


class Safety(SpecModel):
    """Guards that apply before and during a run."""

    blast_radius: BlastRadius = BlastRadius()
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    confirmation: Literal["prod", "always"] = "prod"
    """``prod``: prod-tier targets need ``--yes`` or a typed confirmation; ``always``: all do."""
    max_duration: Duration = timedelta(hours=1)
    """Overall deadline; past it the run aborts and undoes its faults."""


class RtoMeasurement(SpecModel):
    """The user-side probe sampled continuously to measure RTO."""

    probe: ProbeSource
    interval: Duration = timedelta(milliseconds=250)
    stable_for: int = Field(default=3, ge=1, le=1000)
    """Consecutive passing samples that count as recovered."""

    @field_validator("interval")
    @classmethod
    def _not_too_fast(cls, value: timedelta) -> timedelta:
        if value < MIN_SAMPLING_INTERVAL:
            raise ValueError("expected a sampling interval of at least `50ms`")
        return value


RpoCanarySource = Annotated[ProbeRef | RpoCanaryProbe, Field(union_mode="left_to_right")]


class RpoMeasurement(SpecModel):
    """The canary writer whose surviving records measure RPO."""

    canary: RpoCanarySource
    warmup: Duration = timedelta(0)
    """How long the canary writes before the first fault. Make it longer than the
    replication or shipping lag (or the backup interval) of the target, so a write
    that should survive exists; otherwise every write may be lost and nothing measured."""


class Measurement(SpecModel):
    """Samplers that run from before the fault until recovery."""

    rto: RtoMeasurement | None = None
    rpo: RpoMeasurement | None = None


class DrillSpec(SpecModel):
    objectives: Objectives
    targets: list[str] = Field(min_length=1)
    """Targets this drill may run on; shell patterns allowed (``staging-*``)."""
    scope: Scope = Scope()
    safety: Safety = Safety()
    measure: Measurement = Measurement()
    steps: list[Step] = Field(min_length=1, max_length=500)

    @field_validator("targets")
    @classmethod
    def _target_patterns(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _TARGET_PATTERN.fullmatch(item):
                raise ValueError(
                    f"expected a target name or pattern like `sandbox` or `prod-*`, found {item!r}"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DrillSpec:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(
                    f"step name `{step.name}` is used twice; step names must be unique"
                )
            seen.add(step.name)
        if self.objectives.rto is not None and self.measure.rto is None:
            raise ValueError(
                "objective `rto` needs `spec.measure.rto` (the probe that measures it)"
            )
        if self.objectives.rpo is not None and self.measure.rpo is None:
            raise ValueError(
                "objective `rpo` needs `spec.measure.rpo` (the canary that measures it)"
            )
        return self

    def allows_target(self, target: str) -> bool:
        return any(fnmatch.fnmatchcase(target, pattern) for pattern in self.targets)


class Drill(SpecModel):
    """One versioned drill definition: ``drills/NAME.yaml``."""

    api_version: Literal["drillkit.io/v1"] = Field(alias="apiVersion")
    kind: Literal["Drill"]
    metadata: DrillMetadata
    spec: DrillSpec


class DocumentMetadata(SpecModel):
    name: Name
    description: str = ""
    labels: dict[LabelKey, str] = Field(default_factory=dict)


class ProbeDocument(SpecModel):
    """A reusable probe: ``probes/NAME.yaml``."""

    api_version: Literal["drillkit.io/v1"] = Field(alias="apiVersion")
    kind: Literal["Probe"]
    metadata: DocumentMetadata
    spec: ProbeSpec


class RunbookMetadata(DocumentMetadata):
    version: Version
    owner: str = Field(min_length=1)


class RunbookStep(SpecModel):
    """One restore action and the words a human follows to do it by hand."""

    name: Name
    restore: RestoreSpec
    instructions: str = ""
    """Markdown for the human runbook: what to run, what to check."""


class RunbookSpec(SpecModel):
    steps: list[RunbookStep] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique_steps(self) -> RunbookSpec:
        names = [step.name for step in self.steps]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"runbook step names must be unique; repeated: {', '.join(duplicates)}"
            )
        return self


class Runbook(SpecModel):
    """A restore workflow: ``runbooks/NAME.yaml``."""

    api_version: Literal["drillkit.io/v1"] = Field(alias="apiVersion")
    kind: Literal["Runbook"]
    metadata: RunbookMetadata
    spec: RunbookSpec


assert API_VERSION == "drillkit.io/v1"
