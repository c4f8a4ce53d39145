"""The drill repository an SRE team keeps in git, and the target registry next to it.

The repository root is the folder that holds ``drills/``; it is found by
walking up from the working directory (like git finds ``.git``) unless
``--repo`` or ``DRILLKIT_REPO`` names it. References resolve from this root.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from drillkit.errors import (
    InvalidDocument,
    InvalidDrill,
    InvalidTargets,
    Problem,
    RepositoryNotFound,
    UnknownDrill,
    UnknownTarget,
)
from drillkit.spec.drill import ProbeDocument, Runbook
from drillkit.spec.lock import LOCK_NAME, DrillLock
from drillkit.spec.resolve import (
    ReferenceLoader,
    ResolvedDrill,
    parse_experiment,
    parse_model,
    resolve_drill,
)
from drillkit.spec.source import SourceDocument, load_source
from drillkit.spec.targets import SANDBOX, Target, TargetRegistry

DRILL_SUFFIXES = (".yaml", ".yml")
TARGETS_FILE = "targets.yaml"


@dataclass
class DrillRepository:
    """A folder with ``drills/`` (and usually ``probes/``, ``runbooks/``, ``experiments/``)."""

    root: Path
    targets_file: Path | None = None
    _loader: ReferenceLoader = field(init=False)

    def __post_init__(self) -> None:
        self._loader = ReferenceLoader(self.root)

    @classmethod
    def discover(
        cls,
        explicit: Path | None = None,
        *,
        start: Path | None = None,
        targets_file: Path | None = None,
    ) -> DrillRepository:
        """Find the repository: ``explicit``, then $DRILLKIT_REPO, then upward from ``start``."""
        chosen = explicit or (
            Path(os.environ["DRILLKIT_REPO"]) if os.environ.get("DRILLKIT_REPO") else None
        )
        if chosen is not None:
            if not (chosen / "drills").is_dir():
                raise RepositoryNotFound(
                    f"{chosen} is not a drill repository (no drills/ folder)",
                    fix="point --repo at the folder that holds drills/",
                )
            return cls(root=chosen.resolve(), targets_file=targets_file)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "drills").is_dir():
                return cls(root=folder, targets_file=targets_file)
        raise RepositoryNotFound(
            f"no drill repository found in {here} or any folder above it",
            fix="run drill inside a repository with a drills/ folder, or pass --repo PATH",
        )

    @property
    def drills_dir(self) -> Path:
        return self.root / "drills"

    @property
    def lock_path(self) -> Path:
        return self.drills_dir / LOCK_NAME

    def display(self, path: Path) -> str:
        """A path as the user should read it: relative to the repository when inside it."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)

    def drill_paths(self) -> list[Path]:
        return sorted(
            p for p in self.drills_dir.iterdir() if p.suffix in DRILL_SUFFIXES and p.is_file()
        )

    def drill_names(self) -> list[str]:
        return [p.stem for p in self.drill_paths()]

    def find_drill(self, name: str) -> Path:
        for suffix in DRILL_SUFFIXES:
            candidate = self.drills_dir / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
        close = difflib.get_close_matches(name, self.drill_names(), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise UnknownDrill(
            f"no drill named `{name}` in {self.display(self.drills_dir)}/",
            fix=f"{hint}`drill list` shows the drills there",
        )

    def load_drill(self, path: Path) -> ResolvedDrill:
        """Load, validate and resolve one drill file; its name must match the file."""
        source = load_source(path, display=self.display(path))
        resolved = resolve_drill(source, self._loader)
        if path.parent.resolve() == self.drills_dir.resolve() and resolved.name != path.stem:
            raise InvalidDrill(
                [
                    source.problem(
                        ("metadata", "name"),
                        "drill name does not match its file name",
                        expected=f"`{path.stem}` (from {path.name})",
                        found=resolved.name,
                    )
                ],
                fix=f"rename the file to {resolved.name}{path.suffix} or set metadata.name",
            )
        return resolved

    def load_named(self, name: str) -> ResolvedDrill:
        return self.load_drill(self.find_drill(name))

    def read_lock(self) -> DrillLock:
        return DrillLock.read(self.lock_path)

    def load_document(self, path: Path) -> tuple[str, object]:
        """Validate any repository file by its ``kind``: (kind, model)."""
        source = load_source(path, display=self.display(path))
        if path.suffix == ".json":
            return "Experiment", parse_experiment(source)
        kind = source.data.get("kind") if isinstance(source.data, dict) else None
        if kind == "Drill":
            return "Drill", self.load_drill(path)
        if kind == "Probe":
            return "Probe", parse_model(ProbeDocument, source)
        if kind == "Runbook":
            return "Runbook", parse_model(Runbook, source)
        if kind == "TargetRegistry":
            return "TargetRegistry", parse_model(TargetRegistry, source, InvalidTargets)
        raise InvalidDocument(
            [
                source.problem(
                    ("kind",),
                    "unknown document kind",
                    expected="one of `Drill`, `Probe`, `Runbook`, `TargetRegistry`",
                    found=repr(kind) if kind is not None else "no `kind`",
                )
            ]
        )

    def targets(self) -> dict[str, Target]:
        """The registry: ``targets.yaml`` (or --targets / $DRILLKIT_TARGETS) plus ``sandbox``."""
        path = self.targets_file or (
            Path(os.environ["DRILLKIT_TARGETS"]) if os.environ.get("DRILLKIT_TARGETS") else None
        )
        explicit = path is not None
        path = path or self.root / TARGETS_FILE
        registry: dict[str, Target] = {"sandbox": SANDBOX}
        if not path.exists():
            if explicit:
                raise InvalidTargets(
                    [Problem(str(path), None, None, "", "file not found")],
                    fix="check --targets / DRILLKIT_TARGETS",
                )
            return registry
        source: SourceDocument = load_source(path, display=self.display(path))
        registry.update(parse_model(TargetRegistry, source, InvalidTargets).targets)
        return registry

    def target(self, name: str) -> Target:
        registry = self.targets()
        if name in registry:
            return registry[name]
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise UnknownTarget(
            f"no target named `{name}`; known: {', '.join(sorted(registry))}",
            fix=f"{hint}add it to {TARGETS_FILE} or pick a known target",
        )
