"""What the sandbox should look like right now: the one file faults and restores change.

``desired.json`` holds the namespace's presence, replicas per region, the
nodes, zones and regions that are down, and the region the DNS name points
at. The local provider changes it under an exclusive lock (read, change,
write atomically); the supervisor, DNS server and edge only read it. Every
fault's undo is "put back what this file said before", which is what makes
undo exact and idempotent.
"""

from __future__ import annotations

import copy
import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from drillkit.sandbox.layout import SandboxLayout, write_json_atomically
from drillkit.sandbox.topology import NAMESPACE, REGIONS


@dataclass
class DesiredState:
    namespace_present: bool = True
    replicas: dict[str, int] = field(default_factory=dict)
    down_nodes: list[str] = field(default_factory=list)
    down_zones: list[str] = field(default_factory=list)
    """``region/zone``, e.g. ``primary/a``."""
    down_regions: list[str] = field(default_factory=list)
    active_region: str = "primary"
    generation: int = 0
    """Bumped whenever a store is replaced wholesale (restore, failback): shipping restarts."""

    def to_json(self) -> dict[str, Any]:
        return {
            "namespaces": {NAMESPACE: {"present": self.namespace_present}},
            "replicas": dict(self.replicas),
            "down": {
                "nodes": sorted(set(self.down_nodes)),
                "zones": sorted(set(self.down_zones)),
                "regions": sorted(set(self.down_regions)),
            },
            "activeRegion": self.active_region,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesiredState:
        down = data.get("down") or {}
        namespaces = data.get("namespaces") or {}
        return cls(
            namespace_present=bool((namespaces.get(NAMESPACE) or {}).get("present", True)),
            replicas={str(k): int(v) for k, v in (data.get("replicas") or {}).items()},
            down_nodes=[str(n) for n in down.get("nodes") or []],
            down_zones=[str(z) for z in down.get("zones") or []],
            down_regions=[str(r) for r in down.get("regions") or []],
            active_region=str(data.get("activeRegion") or REGIONS[0]),
            generation=int(data.get("generation") or 0),
        )

    def copy(self) -> DesiredState:
        return copy.deepcopy(self)

    def node_down(self, name: str, region: str, zone: str) -> bool:
        return (
            name in self.down_nodes
            or f"{region}/{zone}" in self.down_zones
            or region in self.down_regions
        )

    @property
    def faults(self) -> list[str]:
        """Everything that differs from a healthy sandbox, for ``sandbox status``."""
        found = [f"node {n} down" for n in sorted(set(self.down_nodes))]
        found += [f"zone {z} down" for z in sorted(set(self.down_zones))]
        found += [f"region {r} down" for r in sorted(set(self.down_regions))]
        if not self.namespace_present:
            found.append(f"namespace {NAMESPACE} deleted")
        if self.active_region != REGIONS[0]:
            found.append(f"traffic on {self.active_region}")
        return found


def read_desired(layout: SandboxLayout) -> DesiredState:
    path = layout.root / "desired.json"
    try:
        return DesiredState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return DesiredState()


@contextmanager
def change_desired(layout: SandboxLayout) -> Iterator[DesiredState]:
    """Read, let the caller change, write back atomically; one writer at a time."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.root / "desired.lock", "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_desired(layout)
        yield state
        write_json_atomically(layout.root / "desired.json", state.to_json())
