"""Environment variables the test session sets for itself and passes to every subprocess."""

from __future__ import annotations

SANDBOX_DIR = "DRILLKIT_SANDBOX_DIR"
SIGNING_KEY = "DRILLKIT_SIGNING_KEY"
LOCK_DIR = "DRILLKIT_LOCK_DIR"
SESSION_VARIABLES = frozenset({SANDBOX_DIR, SIGNING_KEY, LOCK_DIR})
