"""Time as the engine sees it: a wall clock for people and a monotonic clock for measurements.

Every journal event carries both. The wall-clock time (UTC, RFC 3339) says
*when* something happened, for the report and the auditor; the monotonic time
says *how long* things took, and does not jump when NTP steps the system clock
in the middle of a drill, which would otherwise corrupt an RTO. The engine reads
time only through the ``Clock`` protocol, so tests can drive a run with a clock
they control instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the engine reads the time from."""

    def wall(self) -> datetime:
        """The current wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (its origin is arbitrary)."""
        ...


class SystemClock:
    """The real clocks of this machine."""

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with microseconds, e.g. ``2026-11-23T19:55:01.123456Z``.

    One fixed shape (always six fractional digits, always ``Z``) so that the
    text sorts in time order and two renderings of one instant are equal
    byte for byte. A naive datetime is refused: its zone would be a guess.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"rfc3339 needs a timezone-aware datetime, got naive {moment!r}")
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"
