"""A test-provider instance whose platform-backed probes read a real sandbox state folder."""

from __future__ import annotations

from pathlib import Path

from drillkit.sandbox.layout import SandboxLayout
from drillkit.spec.targets import Target
from tests.support.test_provider import TestProvider, new_world


def sandbox_provider(root: Path) -> tuple[TestProvider, SandboxLayout]:
    """A provider over ``root/sandbox`` (created empty) and the layout to fill in."""
    world = new_world(root / "world.json")
    layout = SandboxLayout(root / "sandbox")
    target = Target(
        provider="test",
        tier="staging",
        variables={"world": str(world), "sandbox": str(layout.root)},
    )
    return TestProvider("lab", target), layout
