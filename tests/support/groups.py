"""Test groups that must share one worker when the suite runs in parallel (pytest-xdist).

The sandbox listens on fixed ports (8443 for its edge, 8053 for its DNS), as a
real service's name and port are fixed, so two sandboxes cannot run at once:
every module that starts the sandbox is marked ``SANDBOX`` and ``--dist
loadgroup`` runs them one after the other on a single worker.
"""

from __future__ import annotations

import pytest

SANDBOX = pytest.mark.xdist_group("sandbox")
