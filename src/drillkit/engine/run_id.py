"""Run ids: ULIDs, so run folders sort by start time and never collide.

A ULID is 48 bits of milliseconds since the epoch and 80 random bits, in
Crockford base32 (26 characters, no ambiguous letters). Written here rather
than taken from a package: it is twenty lines and the CLI imports it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_run_id(now: datetime) -> str:
    millis = int(now.timestamp() * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def run_id_time(run_id: str) -> float:
    """Seconds since the epoch encoded in ``run_id``."""
    value = 0
    for char in run_id[:10]:
        value = value * 32 + _ALPHABET.index(char)
    return value / 1000
