"""The versions of Python and of drillkit's direct dependencies, journaled at run start.

An auditor reading a report years later asks which code ran the drill. The
report is rebuilt from the run folder alone, so the answer has to be in the
journal: the versions seen by the process that ran it, not those of whatever
machine renders the report. Only drillkit's own declared dependencies are
listed (the platform SDKs among them), read from installed package metadata
once per process.
"""

from __future__ import annotations

import functools
import platform
import re
from importlib import metadata

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@functools.cache
def dependency_versions() -> dict[str, str]:
    """Installed version of each runtime dependency drillkit declares (name -> version)."""
    try:
        requirements = metadata.requires("drillkit") or []
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return {}
    versions: dict[str, str] = {}
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        match = _NAME.match(requirement)
        if match is None:
            continue
        try:
            versions[match.group()] = metadata.version(match.group())
        except metadata.PackageNotFoundError:
            versions[match.group()] = "not installed"
    return dict(sorted(versions.items(), key=lambda item: item[0].lower()))


def python_version() -> str:
    """``CPython 3.11.9``: the interpreter that ran the drill."""
    return f"{platform.python_implementation()} {platform.python_version()}"
