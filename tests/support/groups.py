"""Which test modules must share one worker when the suite runs in parallel (pytest-xdist).

The sandbox listens on fixed ports (8443 for its edge, 8053 for its DNS), as a
real service's name and port are fixed, so two sandboxes cannot run at once:
every module that starts the sandbox is listed in ``SANDBOX_MODULES`` and
marked ``pytestmark = SANDBOX``; ``ModulesOnWorkers`` (the scheduler
tests/conftest.py gives xdist) runs each module on one worker, and all the
sandbox modules on the same one, in turn. Module-scoped worlds (an emulated
EKS or AKS setup takes tens of seconds to build) are built once that way.

xdist's own ``--dist loadgroup`` is not used: it tags node ids, which pytest
9.2's structured node ids silently ignore (pytest-dev/pytest-xdist#1386).
"""

from __future__ import annotations

from typing import Any

import pytest

SANDBOX = pytest.mark.xdist_group("sandbox")
SANDBOX_MODULES = frozenset(
    {
        "tests/integration/test_cli.py",
        "tests/integration/test_gameday_sandbox.py",
        "tests/integration/test_sandbox.py",
        "tests/reliability/test_crash.py",
        "tests/reliability/test_secrets.py",
    }
)


def scope_of(nodeid: str) -> str:
    """A test's unit of work: its module, or ``sandbox`` for every sandbox module."""
    module = nodeid.split("::", 1)[0]
    return "sandbox" if module in SANDBOX_MODULES else module


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ModulesOnWorkers(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ModulesOnWorkers(config, log)


def unlisted_sandbox_modules(items: list[pytest.Item]) -> set[str]:
    """Modules marked ``SANDBOX`` that ``SANDBOX_MODULES`` does not list (a mistake)."""
    marked = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if any(m.args == ("sandbox",) for m in item.iter_markers("xdist_group"))
    }
    return marked - SANDBOX_MODULES
