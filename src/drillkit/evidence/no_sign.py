"""Runs made with ``drill run --no-sign``: how the journal says so, and who reads it back.

Unsigned evidence must never pass for signed evidence, nor look like a
bundle whose attestation was lost. So the choice is recorded where the run's
facts live, in the journal's ``run-started`` event (``evidenceSigning``);
the report computed from the journal says the evidence is unsigned, sealing
refuses to sign such a run later, and ``drill verify`` names ``--no-sign``
as the reason there is no attestation. Only the word of the journal is
available there, unsigned by definition, so verification uses it to explain
a failure, never to pass anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drillkit.evidence.bundle import JOURNAL

SIGNING_FACT = "evidenceSigning"
"""The ``run-started`` fact that records how the run's evidence is signed."""
NO_SIGN = "disabled (--no-sign)"
"""Its value for a run made with ``drill run --no-sign``."""
UNSIGNED_NOTE = (
    "this run was made with `drill run --no-sign`: its evidence is NOT signed and cannot be "
    "verified; nothing proves these files are the ones the run wrote, or who ran it"
)
"""What reports say, near the top, about unsigned evidence."""

_FIRST_LINE_LIMIT = 1024 * 1024


def signing_disabled(run_started: Mapping[str, Any]) -> bool:
    """True when the ``run-started`` facts say the run was made with ``--no-sign``."""
    return run_started.get(SIGNING_FACT) == NO_SIGN


def is_unsigned_run(run_dir: Path) -> bool:
    """True when the journal of ``run_dir`` starts with a ``run-started`` saying ``--no-sign``.

    Reads the first line only, without checking the hash chain (False when it
    cannot be read): it decides whether a run is to be signed, and explains
    why a folder has no attestation; whoever signs checks the whole chain.
    """
    try:
        with (Path(run_dir) / JOURNAL).open("rb") as handle:
            first = handle.readline(_FIRST_LINE_LIMIT)
        event = json.loads(first)
    except (OSError, ValueError):
        return False
    if not isinstance(event, dict) or event.get("type") != "run-started":
        return False
    data = event.get("data")
    return isinstance(data, dict) and signing_disabled(data)
