"""The game-day plan file: which drills run on which targets, in what order, behind which gates.

::

    apiVersion: drillkit.io/v1
    kind: GameDay
    metadata: {name: q4-orders, description: Quarterly recovery day for orders}
    spec:
      target: sandbox              # default target of every entry
      entries:
        - drill: readiness-orders
        - pause: 30s
          message: Tell #orders-oncall the pod kill starts now
        - drill: pod-kill-orders
          confirm: true            # a person says go (at a terminal; --yes in CI)
        - drill: restore-orders
          gate: all                # every earlier drill passed (default: the previous one)
          requires: [readiness-orders]

Every mistake is found before anything runs and reported with file, line,
field and fix, like a drill's: an entry that is both a drill and a pause, a
``requires`` naming an entry that does not come earlier, two entries with one
name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from drillkit.errors import InvalidDocument, UserInputError
from drillkit.spec.base import Name, SpecModel
from drillkit.spec.duration import Duration
from drillkit.spec.resolve import parse_model
from drillkit.spec.source import SourceDocument, load_source

Gate = Literal["previous", "all", "none"]
"""``previous``: the nearest earlier drill entry passed; ``all``: every earlier one did."""


class InvalidGameDay(InvalidDocument):
    """The game-day plan file is not valid."""


class InvalidGameDayEntry(UserInputError):
    """A plan entry names a drill or target that does not load, or a run it may not make."""


class GameDayMetadata(SpecModel):
    name: Name
    description: str = ""
    owner: str = ""


class Entry(SpecModel):
    """One step of the day: a drill run on a target, or a pause."""

    drill: Name | None = None
    target: Name | None = None
    name: Name | None = None
    """How gates refer to this entry; default: the drill's name (or ``pause-N``)."""
    gate: Gate = "previous"
    requires: tuple[Name, ...] = ()
    """Entries that must have passed before this one runs."""
    confirm: bool = False
    """Ask a person before starting this entry; non-interactive runs need ``--yes``."""
    pause: Duration | None = None
    message: str = ""

    @model_validator(mode="after")
    def _drill_or_pause(self) -> Entry:
        if (self.drill is None) == (self.pause is None):
            raise ValueError("an entry is either a `drill` or a `pause`; give exactly one")
        if self.pause is not None and (self.target or self.requires or self.gate != "previous"):
            raise ValueError("a pause has no target, gate or requires; only `pause` and `message`")
        return self

    @property
    def is_drill(self) -> bool:
        return self.drill is not None


class GameDaySpec(SpecModel):
    target: Name = "sandbox"
    entries: tuple[Entry, ...] = Field(min_length=1)


class GameDayPlan(SpecModel):
    api_version: Literal["drillkit.io/v1"]
    kind: Literal["GameDay"]
    metadata: GameDayMetadata
    spec: GameDaySpec


class LoadedPlan:
    """A checked plan: entries with their resolved names and targets, and the source bytes."""

    def __init__(self, plan: GameDayPlan, source: SourceDocument, raw: bytes) -> None:
        self.plan = plan
        self.source = source
        self.raw = raw
        self.names = _entry_names(plan)

    @property
    def name(self) -> str:
        return self.plan.metadata.name

    def target_of(self, entry: Entry) -> str:
        return entry.target or self.plan.spec.target


def load_plan(path: Path) -> LoadedPlan:
    """Parse and check ``path``; ``InvalidGameDay`` lists every problem with its place."""
    source = load_source(path)
    plan = parse_model(GameDayPlan, source, InvalidGameDay)
    problems = []
    seen: dict[str, int] = {}
    for index, (entry, name) in enumerate(zip(plan.spec.entries, _entry_names(plan), strict=True)):
        where = ("spec", "entries", index)
        if name in seen:
            problems.append(
                source.problem(
                    (*where, "name" if entry.name else "drill"),
                    f"entry name `{name}` is used by entry {seen[name]} too",
                    expected="a unique name per entry (set `name:` on one of them)",
                )
            )
        for position, required in enumerate(entry.requires):
            if required not in seen:
                problems.append(
                    source.problem(
                        (*where, "requires", position),
                        f"`{required}` is not an earlier entry",
                        expected="the name of an entry above this one",
                        found=required,
                    )
                )
        seen.setdefault(name, index)
    if problems:
        raise InvalidGameDay(problems, fix="edit the plan file; nothing was run")
    return LoadedPlan(plan, source, path.read_bytes())


def _entry_names(plan: GameDayPlan) -> list[str]:
    names = []
    for index, entry in enumerate(plan.spec.entries):
        names.append(entry.name or entry.drill or f"pause-{index + 1}")
    return names
