"""``drill validate`` and ``drill lock``: check every file, and keep versions honest.

Validation reads each file by its ``kind`` and collects every problem instead
of stopping at the first, so one run tells an author everything to fix. For
drills it also compares the digest with ``drills/drills.lock``: content that
changed under an unchanged version is the one mistake an auditor cannot
forgive, and it is refused here, in CI, before any run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drillkit.errors import DrillError, Problem, VersionError
from drillkit.spec.lock import LOCK_NAME, DrillLock
from drillkit.spec.repository import DrillRepository
from drillkit.spec.resolve import ResolvedDrill

_SUFFIXES = (".yaml", ".yml", ".json")
_REPOSITORY_FOLDERS = ("drills", "probes", "runbooks", "experiments")


@dataclass
class FileResult:
    path: str
    kind: str | None = None
    name: str | None = None
    version: str | None = None
    digest: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ValidationReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]


def expand(repo: DrillRepository, paths: list[Path]) -> list[Path]:
    """Files to validate: the given files, folders expanded, or the whole repository."""
    if not paths:
        paths = [
            repo.root / folder for folder in _REPOSITORY_FOLDERS if (repo.root / folder).is_dir()
        ]
        targets = repo.targets_file or repo.root / "targets.yaml"
        if targets.exists():
            paths.append(targets)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix in _SUFFIXES and p.name != LOCK_NAME
                )
            )
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path, None)
    return list(unique)


def validate(repo: DrillRepository, paths: list[Path]) -> ValidationReport:
    """Validate every file under ``paths`` and check drills against the lock."""
    report = ValidationReport()
    lock: DrillLock | None = None
    lock_problem: list[Problem] = []
    try:
        lock = repo.read_lock()
    except DrillError as exc:
        lock_problem = _problems_of(exc, repo.display(repo.lock_path))
    for path in expand(repo, paths):
        result = FileResult(path=repo.display(path))
        report.files.append(result)
        try:
            kind, document = repo.load_document(path)
        except DrillError as exc:
            result.problems.extend(_problems_of(exc, result.path))
            continue
        result.kind = kind
        if isinstance(document, ResolvedDrill):
            result.name, result.version, result.digest = (
                document.name,
                document.version,
                document.digest,
            )
            if lock_problem:
                result.problems.extend(lock_problem)
            elif lock is not None:
                result.problems.extend(_lock_problems(repo, lock, document))
        else:
            result.name = getattr(getattr(document, "metadata", None), "name", None)
            result.version = getattr(getattr(document, "metadata", None), "version", None)
    return report


def _lock_problems(repo: DrillRepository, lock: DrillLock, drill: ResolvedDrill) -> list[Problem]:
    if not lock.exists:
        return [
            drill.source.problem(
                ("metadata", "version"),
                f"no {LOCK_NAME} records released versions",
                suggestion=None,
                expected=f"{repo.display(repo.lock_path)} (run `drill lock`)",
            )
        ]
    why = lock.check(drill.name, drill.version, drill.digest)
    if why is None:
        return []
    if "changed but its version" in why:
        fix = "bump metadata.version (released versions are immutable), then run `drill lock`"
    elif "older than" in why:
        fix = "give it a version above the newest locked one"
    else:
        fix = "run `drill lock` to record it"
    return [drill.source.problem(("metadata", "version"), f"{why}; {fix}")]


def _problems_of(exc: DrillError, display: str) -> list[Problem]:
    problems = getattr(exc, "problems", None)
    if problems:
        return list(problems)
    message = exc.message + (f" ({exc.fix})" if exc.fix else "")
    return [Problem(display, None, None, "", message)]


@dataclass
class LockResult:
    added: list[tuple[str, str, str]] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)


def lock_repository(repo: DrillRepository, *, check_only: bool = False) -> LockResult:
    """Record every drill's current version in the lock; refuse to rewrite a locked one.

    Every drill must validate first: a lock must never record a broken definition.
    """
    lock = repo.read_lock()
    drills: list[ResolvedDrill] = []
    problems: list[Problem] = []
    for path in repo.drill_paths():
        try:
            drills.append(repo.load_drill(path))
        except DrillError as exc:
            problems.extend(_problems_of(exc, repo.display(path)))
    if problems:
        from drillkit.errors import InvalidDrill

        raise InvalidDrill(problems, fix="fix these drills before locking")
    result = LockResult()
    for drill in drills:
        if lock.record(drill.name, drill.version, drill.digest):
            result.added.append((drill.name, drill.version, drill.digest))
        else:
            result.unchanged.append((drill.name, drill.version))
    if result.added and check_only:
        names = ", ".join(f"{n} {v}" for n, v, _ in result.added)
        raise VersionError(f"{LOCK_NAME} is missing {names}", fix="run `drill lock` and commit it")
    if not check_only and (result.added or not lock.exists):
        lock.write()
    return result
