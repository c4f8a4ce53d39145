"""Load a drill with everything it references, and compute its digest.

Each referenced file is validated as its own document (so its errors point
at its own lines), then inlined into the resolved definition: a mapping
``{ref: probes/x.yaml}`` becomes ``{ref: probes/x.yaml, inline: {...}}`` and a
Chaos Toolkit ``experiment: experiments/x.json`` becomes the same shape. The
digest is taken over the user's own data with references inlined, not over
the model with defaults filled in, so upgrading drillkit never changes the
digest of an unchanged drill.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drillkit.errors import InvalidDocument, InvalidDrill, Problem
from drillkit.spec.digest import sha256_digest
from drillkit.spec.drill import Drill, ProbeDocument, Runbook
from drillkit.spec.faults import ChaosToolkit
from drillkit.spec.probes import ProbeSpec
from drillkit.spec.problems import problems_from
from drillkit.spec.references import ProbeRef, RunbookRef
from drillkit.spec.restores import RestoreSpec
from drillkit.spec.source import SourceDocument, load_source
from drillkit.spec.steps import FaultStep, ProbeStep, RestoreStep

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_model(
    model: type[ModelT], source: SourceDocument, error: type[InvalidDocument] = InvalidDrill
) -> ModelT:
    """Validate ``source.data`` as ``model`` or raise ``error`` with located problems."""
    if not isinstance(source.data, dict):
        raise error(
            [
                source.problem(
                    (),
                    "wrong type",
                    expected="a YAML mapping at the top level",
                    found=type(source.data).__name__,
                )
            ]
        )
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        raise error(problems_from(exc, source, model)) from None


@dataclass(frozen=True)
class ResolvedDrill:
    """A drill plus every document it references, with the digest auditors compare."""

    drill: Drill
    source: SourceDocument
    probes: dict[str, ProbeDocument]
    runbooks: dict[str, Runbook]
    experiments: dict[str, dict[str, Any]]
    resolved: dict[str, Any]
    digest: str
    references: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.drill.metadata.name

    @property
    def version(self) -> str:
        return self.drill.metadata.version

    def bindable_data(self) -> Any:
        """The resolved data whose ``${...}`` are target variables.

        Inlined Chaos Toolkit experiments are left out: their ``${name}``
        placeholders are Chaos Toolkit's own configuration, filled by chaoslib.
        """

        def strip(node: Any) -> Any:
            if isinstance(node, dict):
                if node.get("type") == "chaostoolkit" and isinstance(node.get("experiment"), dict):
                    return {k: strip(v) for k, v in node.items() if k != "experiment"}
                return {k: strip(v) for k, v in node.items()}
            if isinstance(node, list):
                return [strip(item) for item in node]
            return node

        return strip(self.resolved)

    def probe(self, source: ProbeRef | ProbeSpec) -> ProbeSpec:
        """The probe a step or sampler runs, with a reference followed."""
        if isinstance(source, ProbeRef):
            return self.probes[source.ref].spec
        return source

    def restore_actions(self, source: RunbookRef | RestoreSpec) -> list[tuple[str, RestoreSpec]]:
        """The ordered restore actions of an inline intent or a runbook."""
        if isinstance(source, RunbookRef):
            return [(step.name, step.restore) for step in self.runbooks[source.ref].spec.steps]
        return [(source.type, source)]


class ReferenceLoader:
    """Loads referenced documents once per repository, whatever number of drills use them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, tuple[Any, Any]] = {}

    def load(self, ref: str, parse: Callable[[SourceDocument], Any]) -> tuple[Any, Any]:
        """(validated document, raw data) for ``ref`` under the repository root."""
        if ref not in self._cache:
            source = load_source(self.root / ref, display=ref)
            self._cache[ref] = (parse(source), source.data)
        return self._cache[ref]


def resolve_drill(source: SourceDocument, loader: ReferenceLoader) -> ResolvedDrill:
    """Validate the drill in ``source`` and everything it references."""
    drill = parse_model(Drill, source)
    problems: list[Problem] = []
    probes: dict[str, ProbeDocument] = {}
    runbooks: dict[str, Runbook] = {}
    experiments: dict[str, dict[str, Any]] = {}
    inlined: dict[str, Any] = {}

    def follow(ref: str, kind: str, where: tuple[str | int, ...]) -> None:
        try:
            if kind == "probe":
                document, raw = loader.load(ref, lambda s: parse_model(ProbeDocument, s))
                probes[ref] = document
            elif kind == "runbook":
                document, raw = loader.load(ref, lambda s: parse_model(Runbook, s))
                runbooks[ref] = document
            else:
                document, raw = loader.load(ref, parse_experiment)
                experiments[ref] = document
            inlined[ref] = raw
        except InvalidDocument as exc:
            if "file not found" in exc.problems[0].message and not (loader.root / ref).exists():
                problems.append(
                    source.problem(
                        where,
                        f"referenced file `{ref}` does not exist",
                        expected="a path from the repository root",
                    )
                )
            else:
                problems.extend(exc.problems)

    for where, ref, kind in _references(drill):
        follow(ref, kind, where)
    if problems:
        raise InvalidDrill(problems)
    resolved = _inline(source.data, inlined)
    return ResolvedDrill(
        drill=drill,
        source=source,
        probes=probes,
        runbooks=runbooks,
        experiments=experiments,
        resolved=resolved,
        digest=sha256_digest(resolved),
        references=tuple(sorted(inlined)),
    )


def _references(drill: Drill) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Every (data path, reference, kind) in a drill, in document order."""
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    spec = drill.spec
    if spec.measure.rto is not None and isinstance(spec.measure.rto.probe, ProbeRef):
        found.append(
            (("spec", "measure", "rto", "probe", "ref"), spec.measure.rto.probe.ref, "probe")
        )
    if spec.measure.rpo is not None and isinstance(spec.measure.rpo.canary, ProbeRef):
        found.append(
            (("spec", "measure", "rpo", "canary", "ref"), spec.measure.rpo.canary.ref, "probe")
        )
    for i, condition in enumerate(spec.safety.stop_conditions):
        if isinstance(condition.probe, ProbeRef):
            found.append(
                (
                    ("spec", "safety", "stopConditions", i, "probe", "ref"),
                    condition.probe.ref,
                    "probe",
                )
            )
    for i, step in enumerate(spec.steps):
        base: tuple[str | int, ...] = ("spec", "steps", i)
        if isinstance(step, ProbeStep) and isinstance(step.probe, ProbeRef):
            found.append(((*base, "probe", "ref"), step.probe.ref, "probe"))
        elif isinstance(step, RestoreStep) and isinstance(step.restore, RunbookRef):
            found.append(((*base, "restore", "ref"), step.restore.ref, "runbook"))
        elif (
            isinstance(step, FaultStep)
            and isinstance(step.fault, ChaosToolkit)
            and step.fault.experiment is not None
        ):
            found.append(((*base, "fault", "experiment"), step.fault.experiment, "experiment"))
    return found


def _inline(data: Any, inlined: dict[str, Any]) -> Any:
    """A deep copy of ``data`` with every reference replaced by ``{ref, inline}``."""
    result = copy.deepcopy(data)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"ref"} and node["ref"] in inlined:
                return {"ref": node["ref"], "inline": inlined[node["ref"]]}
            out = {}
            for key, value in node.items():
                if (
                    key == "experiment"
                    and node.get("type") == "chaostoolkit"
                    and isinstance(value, str)
                    and value in inlined
                ):
                    out[key] = {"ref": value, "inline": inlined[value]}
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return dict(walk(result))


def parse_experiment(source: SourceDocument) -> dict[str, Any]:
    """Check the shape Chaos Toolkit needs; ``chaos validate`` does the rest."""
    data = source.data
    if not isinstance(data, dict):
        raise InvalidDrill([source.problem((), "wrong type", expected="a JSON object")])
    problems = []
    if not isinstance(data.get("title"), str) or not data.get("title"):
        problems.append(
            source.problem(("title",), "required field is missing", expected="a non-empty `title`")
        )
    method = data.get("method")
    if not isinstance(method, list) or not method:
        problems.append(
            source.problem(
                ("method",),
                "required field is missing",
                expected="a non-empty `method` list of activities",
            )
        )
    if problems:
        raise InvalidDrill(problems)
    return data
