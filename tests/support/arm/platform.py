"""What Azure does on its own around a drill: node lifecycle and Traffic Manager routing.

The ARM test server only keeps resource state; on Azure that state has
consequences the drills measure. ``NodeLifecycle`` plays the kubelet and the
node lifecycle controller: a node whose scale-set instance is not running
stops posting status, turns ``Ready=Unknown`` and gets the
``node.kubernetes.io/unreachable:NoExecute`` taint (so the Kubernetes
emulator's workload controller moves its pods); when the instance runs
again, the node is Ready and untainted. ``TrafficRouting`` plays Traffic
Manager's DNS: users reach the region of the enabled endpoint with the
lowest priority number, which is what the orders front answers at
``/region``. Both poll every 20 ms from a thread and remember what they saw,
so a test knows what happened mid-run and not only what was left after.
"""

from __future__ import annotations

from typing import Any, Protocol

from tests.support.arm.world import World
from tests.support.kube.catalogue import NODES
from tests.support.kube.store import ResourceStore
from tests.support.poller import Poller

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


class NodeLifecycle(Poller):
    def __init__(self, world: World, store: ResourceStore) -> None:
        super().__init__("node-lifecycle")
        self.world, self.store = world, store
        self.powers: dict[str, set[str]] = {}
        """Node name -> every power state its instance was seen in."""
        self.unreachable: set[str] = set()

    def poll(self) -> None:
        powers = {instance["id"].lower(): instance["_power"] for instance in self.world.instances()}
        for node in self.store.list(NODES):
            name = node["metadata"]["name"]
            power = powers.get(node["spec"].get("providerID", "").removeprefix("azure://").lower())
            if power is None:
                continue
            self.powers.setdefault(name, set()).add(power)
            up = power == "running"
            tainted = any(t["key"] == UNREACHABLE["key"] for t in node["spec"].get("taints") or [])
            if up == (not tainted):
                continue
            if not up:
                self.unreachable.add(name)
            self.store.edit(NODES, "", name, lambda n, up=up: _set_reachable(n, up))


def _set_reachable(node: dict[str, Any], up: bool) -> None:
    taints = [t for t in node["spec"].get("taints") or [] if t["key"] != UNREACHABLE["key"]]
    if not up:
        taints.append(dict(UNREACHABLE))
    if taints:
        node["spec"]["taints"] = taints
    else:
        node["spec"].pop("taints", None)
    for condition in node["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition["status"] = "True" if up else "Unknown"
            condition["reason"] = "KubeletReady" if up else "NodeStatusUnknown"


class Routed(Protocol):
    region: str


class TrafficRouting(Poller):
    def __init__(self, world: World, profile_id: str, front: Routed) -> None:
        super().__init__("traffic-routing")
        self.world, self.profile_id, self.front = world, profile_id, front
        self.regions: list[str] = []
        """Every region users were routed to, in order, without repeats."""

    def poll(self) -> None:
        with self.world.lock:
            profile = self.world.get(self.profile_id)
            endpoints = [] if profile is None else list(profile["properties"]["endpoints"])
        enabled = [
            e["properties"] for e in endpoints if e["properties"]["endpointStatus"] == "Enabled"
        ]
        if not enabled:
            return
        region = min(enabled, key=lambda e: int(e["priority"]))["endpointLocation"]
        self.front.region = region
        if not self.regions or self.regions[-1] != region:
            self.regions.append(region)
