"""Durations as people write them in drills: ``250ms``, ``90s``, ``15m``, ``1h30m``, ``2d``.

A bare number is refused on purpose: ``timeout: 90`` could mean seconds or
minutes, and a DR drill is the wrong place to guess. Values are kept as
``timedelta`` and written back in the shortest exact form, so the digest of a
drill does not change when it is re-serialised.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_MAX = timedelta(days=366)
PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"


def parse_duration(value: Any) -> timedelta:
    """Parse ``value`` into a timedelta, or raise ValueError with the expected form."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration such as `90s` or `15m`, found {value!r}")
    text = value.strip().replace(" ", "")
    if not _WHOLE.match(text):
        raise ValueError(f"expected a duration such as `90s` or `15m`, found {value!r}")
    total_ms = 0.0
    for number, unit in _PART.findall(text):
        total_ms += float(number) * _UNITS_MS[unit]
    result = timedelta(milliseconds=total_ms)
    if result > _MAX:
        raise ValueError(f"duration {value!r} is longer than a year")
    return result


def format_duration(value: timedelta) -> str:
    """The shortest exact text for ``value``: 90 s -> ``90s``, 5400 s -> ``1h30m``."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["90s", "15m", "1h30m"]}),
]
