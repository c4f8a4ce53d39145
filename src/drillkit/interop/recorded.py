"""The provider named by activities of an exported journal: it only points at the record.

A journal exported from a drillkit run names this function so that Chaos
Toolkit's validator finds a real provider; calling it reports that the
activity is a record of a drillkit run, to be run again with ``drill run``.
"""

from __future__ import annotations


def recorded(kind: str, action: str) -> str:
    """What the activity was; the run itself is in the drillkit evidence bundle."""
    return f"recorded drillkit {kind}: {action} (run it again with `drill run`)"
