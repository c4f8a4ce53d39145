"""``drills/drills.lock``: every released drill version and its digest, forever.

An auditor who reads "restore-orders 1.2.0 passed" must be able to trust that
1.2.0 means one exact definition. So a version, once locked, may never be
given other content: changing a drill means a new version. ``drill lock``
adds versions; it never rewrites one. The file is YAML written in one fixed
order so that its diffs in review are one line per new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drillkit.errors import InvalidDocument, Problem, VersionError
from drillkit.spec.semver import SemVer
from drillkit.spec.source import load_source

LOCK_NAME = "drills.lock"
_HEADER = (
    "# drills.lock: every released drill version and the sha256 of its resolved definition.\n"
    "# Written by `drill lock`. A locked version is immutable: change a drill, bump its version.\n"
)


@dataclass
class DrillLock:
    """Name -> version -> digest, as recorded."""

    path: Path
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    exists: bool = False

    @classmethod
    def read(cls, path: Path) -> DrillLock:
        if not path.exists():
            return cls(path=path)
        source = load_source(path, display=str(path))
        data = source.data
        problems: list[Problem] = []
        if (
            not isinstance(data, dict)
            or data.get("lockVersion") != 1
            or not isinstance(data.get("drills", {}), dict)
        ):
            raise InvalidDocument(
                [
                    source.problem(
                        (),
                        "not a drills.lock file",
                        expected="`lockVersion: 1` and a `drills` mapping",
                    )
                ],
                fix="restore it from version control, or delete it and run `drill lock`",
            )
        versions: dict[str, dict[str, str]] = {}
        for name, entries in (data.get("drills") or {}).items():
            if not isinstance(entries, dict):
                problems.append(
                    source.problem(
                        ("drills", name), "wrong type", expected="a mapping of version -> digest"
                    )
                )
                continue
            for version, digest in entries.items():
                if not (isinstance(digest, str) and digest.startswith("sha256:")):
                    problems.append(
                        source.problem(
                            ("drills", name, version), "not a digest", expected="`sha256:<hex>`"
                        )
                    )
                versions.setdefault(name, {})[str(version)] = str(digest)
        if problems:
            raise InvalidDocument(problems)
        return cls(path=path, versions=versions, exists=True)

    def check(self, name: str, version: str, digest: str) -> str | None:
        """None when ``name``@``version`` is locked with ``digest``; otherwise why not."""
        known = self.versions.get(name, {})
        if version in known:
            if known[version] == digest:
                return None
            return (
                f"content of {name} changed but its version {version} did not "
                f"(locked {known[version][:19]}…, now {digest[:19]}…)"
            )
        newest = self.newest(name)
        if newest is not None and SemVer.parse(version) < SemVer.parse(newest):
            return f"version {version} of {name} is older than the locked {newest}"
        return f"version {version} of {name} is not recorded in {LOCK_NAME}"

    def newest(self, name: str) -> str | None:
        known = self.versions.get(name, {})
        return max(known, key=SemVer.parse) if known else None

    def record(self, name: str, version: str, digest: str) -> bool:
        """Add a version; True if it was new. Refuses to change a locked version."""
        known = self.versions.setdefault(name, {})
        if version in known:
            if known[version] != digest:
                raise VersionError(
                    f"{name} {version} is already locked with other content; released versions "
                    "are immutable",
                    fix=f"bump metadata.version of {name} (for example to "
                    f"{_next_patch(version)}) and run `drill lock` again",
                )
            return False
        newest = self.newest(name)
        if newest is not None and SemVer.parse(version) < SemVer.parse(newest):
            raise VersionError(
                f"{name} {version} is older than the locked {newest}",
                fix=f"give {name} a version above {newest}",
            )
        known[version] = digest
        return True

    def render(self) -> str:
        lines = [_HEADER, "lockVersion: 1\n", "drills:\n"]
        for name in sorted(self.versions):
            lines.append(f"  {name}:\n")
            for version in sorted(self.versions[name], key=SemVer.parse):
                lines.append(f'    "{version}": {self.versions[name][version]}\n')
        if not self.versions:
            lines[-1] = "drills: {}\n"
        return "".join(lines)

    def write(self) -> None:
        temporary = self.path.with_suffix(".lock.tmp")
        temporary.write_text(self.render(), encoding="utf-8")
        temporary.replace(self.path)


def _next_patch(version: str) -> str:
    parsed = SemVer.parse(version)
    return f"{parsed.major}.{parsed.minor}.{parsed.patch + 1}"
