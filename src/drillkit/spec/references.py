"""References from a drill to shared files: ``{ref: probes/orders-http.yaml}``.

References resolve from the repository root, never from the referring file,
so a drill reads the same wherever it is moved; and they may not leave the
repository, so the digest of a drill covers everything it runs.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from pydantic import Field, field_validator

from drillkit.spec.base import SpecModel

_FOLDERS = {
    "probe": ("probes", (".yaml", ".yml")),
    "runbook": ("runbooks", (".yaml", ".yml")),
    "experiment": ("experiments", (".json", ".yaml", ".yml")),
}


def check_reference(value: str, kind: str) -> str:
    """Return ``value`` if it names a file in the right folder, else raise ValueError."""
    folder, suffixes = _FOLDERS[kind]
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(
            f"expected a path inside the repository like `{folder}/name{suffixes[0]}`,"
            f" found {value!r}"
        )
    if not path.parts or path.parts[0] != folder or path.suffix not in suffixes:
        raise ValueError(
            f"expected a {kind} file under `{folder}/` ending in "
            f"{' or '.join(suffixes)}, found {value!r}"
        )
    return value


class ProbeRef(SpecModel):
    """A probe defined in ``probes/NAME.yaml``."""

    ref: str = Field(examples=["probes/orders-http.yaml"])

    @field_validator("ref")
    @classmethod
    def _in_probes(cls, value: str) -> str:
        return check_reference(value, "probe")


class RunbookRef(SpecModel):
    """A restore workflow defined in ``runbooks/NAME.yaml``."""

    ref: str = Field(examples=["runbooks/restore-orders.yaml"])

    @field_validator("ref")
    @classmethod
    def _in_runbooks(cls, value: str) -> str:
        return check_reference(value, "runbook")


def reference_or_inline(value: Any) -> str:
    """Discriminator: a mapping with ``ref`` is a reference, anything else is inline."""
    if isinstance(value, dict):
        return "ref" if "ref" in value else "inline"
    return "ref" if hasattr(value, "ref") else "inline"
