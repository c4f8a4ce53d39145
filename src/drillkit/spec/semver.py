"""Semantic versions for drills and runbooks (https://semver.org), compared correctly.

Versions are what auditors trust: ``1.10.0`` is newer than ``1.9.0`` and a
pre-release sorts before its release, so plain string comparison is wrong.
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_RE = re.compile(PATTERN)


@total_ordering
class SemVer:
    """A parsed version; construct with ``SemVer.parse``."""

    __slots__ = ("major", "minor", "patch", "prerelease", "text")

    def __init__(
        self, text: str, major: int, minor: int, patch: int, prerelease: tuple[int | str, ...]
    ) -> None:
        self.text = text
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _RE.fullmatch(text)
        if not match:
            raise ValueError(f"expected a semantic version such as `1.2.0`, found {text!r}")
        pre = (
            tuple(int(p) if p.isdigit() else p for p in match.group(4).split("."))
            if match.group(4)
            else ()
        )
        return cls(text, int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemVer) and self._key() == other._key()

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text


def _check(text: str) -> str:
    SemVer.parse(text)
    return text


Version = Annotated[
    str,
    AfterValidator(_check),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["1.0.0", "2.1.0-rc.1"]}),
]
