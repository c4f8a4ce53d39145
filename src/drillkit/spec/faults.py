"""Fault intents: the failure a drill injects, said once for every provider.

A fault says *what* is lost (pods, a node, a zone, a region, a namespace),
never *how* a platform loses it: the same ``zone-outage`` becomes cordon and
taint on Kubernetes, a deny-all network ACL on EKS, deallocated scale-set
instances on AKS and stopped processes in the sandbox. Zones and regions are
named by alias (``a``, ``primary``); the target registry maps aliases to real
names, which is what lets one drill file run on EKS and AKS unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from drillkit.spec.base import LabelKey, Name, SpecModel
from drillkit.spec.duration import Duration
from drillkit.spec.references import check_reference


class PodKill(SpecModel):
    """Delete pods matching a selector, as a crash or an eviction would."""

    type: Literal["pod-kill"]
    namespace: Name
    selector: dict[LabelKey, str] = Field(min_length=1)
    """Label selector; every label must match."""
    count: int | None = Field(default=None, ge=1, le=10_000)
    percent: int | None = Field(default=None, ge=1, le=100)
    grace_period: Duration = timedelta(0)
    random: bool = True
    """Choose pods at random (the seed is recorded in the journal)."""
    seed: int | None = None

    @model_validator(mode="after")
    def _count_or_percent(self) -> PodKill:
        if self.count is not None and self.percent is not None:
            raise ValueError("give either `count` or `percent`, not both")
        return self


class NodeSelection(SpecModel):
    """Which nodes a node-level fault picks."""

    selector: dict[LabelKey, str] = Field(default_factory=dict)
    zone: str | None = None
    """Zone alias (``a``) or real zone name; only nodes in that zone."""
    names: list[str] = Field(default_factory=list)
    count: int = Field(default=1, ge=1, le=1_000)


class NodeFailure(SpecModel):
    """Lose whole nodes: drain them (Kubernetes), or stop/terminate the machine (cloud)."""

    type: Literal["node-failure"]
    nodes: NodeSelection = NodeSelection()
    mode: Literal["drain", "stop", "terminate", "restart"] = "drain"
    force: bool = False
    """Evict even when a PodDisruptionBudget blocks it. Off by default, on purpose."""
    eviction_deadline: Duration = timedelta(minutes=5)


class ZoneOutage(SpecModel):
    """Lose one availability zone: nothing scheduled or reachable there."""

    type: Literal["zone-outage"]
    zone: str = Field(min_length=1)
    """Zone alias from the target (``a``, ``b``, ``c``) or the platform's zone name."""
    mode: Literal["auto", "kubernetes", "network", "compute"] = "auto"
    """``auto`` lets the provider pick its strongest mode; ``kubernetes`` cordons and taints."""
    instance_action: Literal["stop", "terminate", "deallocate"] = "stop"


class RegionOutage(SpecModel):
    """Lose a whole region: its traffic endpoint is taken out of service."""

    type: Literal["region-outage"]
    region: str = Field(default="primary", min_length=1)
    """Region alias from the target (``primary``, ``standby``) or a region name."""
    mode: Literal["auto", "traffic", "compute"] = "auto"


class NamespaceLoss(SpecModel):
    """Delete a namespace, as an operator mistake or a corrupted cluster would."""

    type: Literal["namespace-loss"]
    namespace: Name
    require_backup: bool = True
    """Refuse to start unless a completed backup containing the namespace exists
    and is younger than the drill's RPO objective."""
    max_backup_age: Duration | None = None
    """How young that backup must be; defaults to the drill's RPO objective."""


class ChaosToolkitActivity(SpecModel):
    """One Chaos Toolkit activity, as written in an experiment's method."""

    type: Literal["action", "probe"] = "action"
    name: str = Field(min_length=1)
    provider: dict[str, object]


class ChaosToolkit(SpecModel):
    """Escape hatch: run a Chaos Toolkit experiment or activity as the fault."""

    type: Literal["chaostoolkit"]
    experiment: str | None = None
    """Path of an experiment under ``experiments/``, from the repository root."""
    activity: ChaosToolkitActivity | None = None
    rollbacks: bool = True
    _document: dict[str, Any] | None = PrivateAttr(default=None)
    """The experiment itself, attached at plan time from the resolved drill (not user input)."""

    @property
    def document(self) -> dict[str, Any] | None:
        return self._document

    def with_document(self, document: dict[str, Any] | None) -> ChaosToolkit:
        bound = self.model_copy()
        bound._document = document
        return bound

    @field_validator("experiment")
    @classmethod
    def _in_experiments(cls, value: str | None) -> str | None:
        return None if value is None else check_reference(value, "experiment")

    @model_validator(mode="after")
    def _experiment_or_activity(self) -> ChaosToolkit:
        if (self.experiment is None) == (self.activity is None):
            raise ValueError("give exactly one of `experiment` or `activity`")
        return self


FaultSpec = Annotated[
    PodKill | NodeFailure | ZoneOutage | RegionOutage | NamespaceLoss | ChaosToolkit,
    Field(discriminator="type"),
]
FAULT_KINDS: tuple[str, ...] = (
    "pod-kill",
    "node-failure",
    "zone-outage",
    "region-outage",
    "namespace-loss",
    "chaostoolkit",
)
