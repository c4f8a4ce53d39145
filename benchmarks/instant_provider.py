"""A provider whose handlers succeed at once, for benchmarks that measure drillkit itself.

Shared by the engine-overhead and verify-throughput benchmarks: with provider
time at zero, what is left is the engine's (or the evidence's) own cost. The
benchmarks run as scripts, so this folder is on ``sys.path``.
"""

from __future__ import annotations

from typing import Any

from drillkit.providers.base import Impact, ProbeResult, Provider, StepContext
from drillkit.spec import faults, probes


class InstantHandler:
    """Every fault, restore and probe role, each doing nothing."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def impact(self, intent: Any) -> Impact:
        return Impact()

    def prepare(self, intent: Any, ctx: StepContext) -> dict[str, Any]:
        return {"noop": True}

    def apply(self, intent: Any, undo: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        return {}

    def revert(self, undo: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        return {}

    def measure(self, intent: Any, ctx: StepContext) -> ProbeResult:
        return ProbeResult(ok=True, summary="ok")


class InstantProvider(Provider):
    name = "bench-instant"


for _kind in faults.FAULT_KINDS:
    InstantProvider.faults.register(_kind, InstantHandler)
for _kind in probes.PROBE_KINDS:
    InstantProvider.probes.register(_kind, InstantHandler)


def register_instant_provider() -> None:
    """Make ``provider: bench-instant`` usable in a target registry (once per process)."""
    from drillkit.providers.registry import PROVIDERS

    PROVIDERS.register(InstantProvider)
