"""The error tree every user-facing failure belongs to.

``DrillError`` carries its own fix, so the CLI can catch it once and print a
message a person can act on, without a traceback. Load-time mistakes in the
user's files (``UserInputError`` and below) exit with code 2; run-time
failures exit with code 1. This module imports nothing of ours, so every
layer, ``spec`` included, may raise these errors.
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2


class DrillError(Exception):
    """Base of every error drillkit reports to a person."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def diagnostics(self) -> str:
        """The text the CLI prints: what went wrong, then what to do."""
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


class UserInputError(DrillError):
    """The user's files, flags or names are wrong; nothing was changed."""

    exit_code = EXIT_USAGE


class Problem:
    """One thing wrong with one place in one file.

    A plain class rather than a dataclass: this module is imported by
    ``drill --help``, and the dataclasses machinery costs more than it saves.
    """

    __slots__ = ("column", "expected", "field", "file", "found", "line", "message", "suggestion")

    def __init__(
        self,
        file: str,
        line: int | None,
        column: int | None,
        field: str,
        message: str,
        expected: str | None = None,
        found: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        self.expected = expected
        self.found = found
        self.suggestion = suggestion

    def __repr__(self) -> str:
        return f"Problem({self.render()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self.render() == other.render()

    def __hash__(self) -> int:
        return hash(self.render())

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.field or '(document)'}: {self.message}"
        details = []
        if self.expected:
            details.append(f"expected {self.expected}")
        if self.found:
            details.append(f"found {self.found}")
        if details:
            text += "; " + ", ".join(details)
        if self.suggestion:
            text += f". Did you mean `{self.suggestion}`?"
        return text


class InvalidDocument(UserInputError):
    """A drill, probe, runbook, experiment or target file does not parse or validate."""

    def __init__(self, problems: list[Problem], *, fix: str | None = None) -> None:
        if not problems:
            raise ValueError("InvalidDocument needs at least one problem")
        self.problems = problems
        lines = [p.render() for p in problems]
        super().__init__("\n".join(lines), fix=fix)


class InvalidDrill(InvalidDocument):
    """A drill definition (or a file it references) is not valid."""


class InvalidTargets(InvalidDocument):
    """The target registry file is not valid."""


class UnknownDrill(UserInputError):
    """No drill of that name exists in the repository."""


class UnknownTarget(UserInputError):
    """No target of that name exists in the registry."""


class VersionError(UserInputError):
    """A drill's version and its content disagree with drills.lock."""


class RepositoryNotFound(UserInputError):
    """No drill repository (a folder with ``drills/``) was found."""


class NotImplementedYet(DrillError):
    """A command or provider part that a later release delivers."""


class GuardRefused(UserInputError):
    """A safety guard refused the run before anything was changed."""


class StepFailed(DrillError):
    """A fault, restore or probe step did not do what it promised."""

    def __init__(self, message: str, *, step: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.step = step


class FaultFailed(StepFailed):
    """Injecting a fault failed; whatever part of it was applied is undone."""


class RestoreFailed(StepFailed):
    """A restore action failed or did not finish in time."""


class ProbeFailed(StepFailed):
    """A probe measured a failure."""


class StepTimeout(StepFailed):
    """A step ran past its timeout or the run's deadline."""


class RunAborted(DrillError):
    """The run stopped early (signal, stop condition, deadline); faults were undone."""


class TransientError(DrillError):
    """A platform call failed in a way worth retrying (throttling, 5xx, reset)."""


class PermanentError(DrillError):
    """A platform call failed in a way retrying cannot fix."""
