"""Target variables: ``${orders_url}`` in a drill or probe, filled from the target.

This is what lets one drill file run on the sandbox, an EKS and an AKS
cluster unchanged: the drill says *which* endpoint, the target says *where*
it is. Substitution happens at plan time, after the digest is taken, so one
drill version has one digest whatever target it runs on. ``$${`` writes a
literal ``${``.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def placeholders(value: Any) -> set[str]:
    """Every variable name used anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(m.group(2) for m in _PLACEHOLDER.finditer(value) if not m.group(1))
    elif isinstance(value, dict):
        for item in value.values():
            found |= placeholders(item)
    elif isinstance(value, list):
        for item in value:
            found |= placeholders(item)
    return found


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """A copy of ``value`` with placeholders filled; KeyError names the first unknown one."""
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            return variables[match.group(2)]

        return _PLACEHOLDER.sub(fill, value)
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value
