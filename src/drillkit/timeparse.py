"""Timestamps as platforms write them (RFC 3339, ``Z`` or an offset), read into aware UTC.

Kubernetes, Velero and the sandbox all write RFC 3339; one reader keeps
their timestamps comparable with the run's own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_utc(text: Any) -> datetime | None:
    """An aware datetime for an RFC 3339 timestamp; None for anything that is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
