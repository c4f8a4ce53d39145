"""The steps of a drill: fault, restore, probe, wait and checkpoint.

A step is a mapping with a ``name`` and exactly one of the keys ``fault``,
``restore``, ``probe``, ``wait`` or ``checkpoint``; the key present decides
the kind. That reads naturally in YAML and lets errors say "step 3 has both
`fault` and `probe`" instead of a generic union failure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from drillkit.spec.base import Name, SpecModel
from drillkit.spec.duration import Duration
from drillkit.spec.faults import FaultSpec
from drillkit.spec.probes import ProbeSpec
from drillkit.spec.references import ProbeRef, RunbookRef, reference_or_inline
from drillkit.spec.restores import RestoreSpec

STEP_KINDS: tuple[str, ...] = ("fault", "restore", "probe", "wait", "checkpoint")

ProbeSource = Annotated[
    Annotated[ProbeRef, Tag("ref")] | Annotated[ProbeSpec, Tag("inline")],
    Discriminator(reference_or_inline),
]
RestoreSource = Annotated[
    Annotated[RunbookRef, Tag("ref")] | Annotated[RestoreSpec, Tag("inline")],
    Discriminator(reference_or_inline),
]


class _Step(SpecModel):
    name: Name
    description: str | None = None
    timeout: Duration | None = None
    """Per-step timeout; the drill's ``safety.maxDuration`` still bounds the whole run."""


class FaultStep(_Step):
    """Inject a failure; its undo is journaled before it is applied."""

    fault: FaultSpec


class RestoreStep(_Step):
    """Run a restore intent inline, or a runbook's ordered restore steps."""

    restore: RestoreSource


class ProbeStep(_Step):
    """Measure once; the step fails when the probe does not pass within ``within``."""

    probe: ProbeSource
    within: Duration = timedelta(0)
    """Keep retrying the probe until it passes or this long has passed (0: once)."""
    interval: Duration = timedelta(seconds=1)


class WaitStep(_Step):
    """Let time pass (give a controller room, let backups age, hold the outage)."""

    wait: Duration


class Checkpoint(SpecModel):
    """A marker in the journal, optionally a human go/no-go."""

    message: str = Field(min_length=1)
    confirm: bool = False
    """Ask the operator to continue (skipped with ``--yes``; refused when not interactive)."""


class CheckpointStep(_Step):
    """Record a named point in the run, optionally asking a human to continue."""

    checkpoint: Checkpoint


def step_kind(value: Any) -> str | None:
    """Discriminator: which single step key is present (None when zero or several)."""
    if isinstance(value, dict):
        present = [kind for kind in STEP_KINDS if kind in value]
        return present[0] if len(present) == 1 else None
    for kind in STEP_KINDS:
        if hasattr(value, kind):
            return kind
    return None


Step = Annotated[
    Annotated[FaultStep, Tag("fault")]
    | Annotated[RestoreStep, Tag("restore")]
    | Annotated[ProbeStep, Tag("probe")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[CheckpointStep, Tag("checkpoint")],
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of `fault`, `restore`, `probe`, `wait`,"
        " `checkpoint`",
    ),
]

StepKind = Literal["fault", "restore", "probe", "wait", "checkpoint"]
