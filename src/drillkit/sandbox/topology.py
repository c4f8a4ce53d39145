"""The sandbox's fixed shape: two regions, three zones each, one node per zone, and the
orders replicas placed across them, plus the knobs a user may change (ports, delays).

Small on purpose: enough to lose a pod, a node, a zone, a region or a
namespace and see a real outage, and nothing a laptop would notice running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REGIONS = ("primary", "standby")
ZONES = ("a", "b", "c")
NAMESPACE = "orders"
WORKLOAD = "orders-api"
SCHEDULE = "orders-hourly"
SECRET = "orders-db"
DNS_NAME = "orders.sandbox.drillkit.test"
REGION_ADDRESSES = {"primary": "127.0.10.1", "standby": "127.0.20.1"}
"""What the DNS record answers for each region (loopback, never routed anywhere else)."""


@dataclass(frozen=True)
class Node:
    name: str
    region: str
    zone: str

    @property
    def labels(self) -> dict[str, str]:
        return {
            "drillkit.io/pool": "orders",
            "topology.kubernetes.io/region": self.region,
            "topology.kubernetes.io/zone": self.zone,
            "kubernetes.io/hostname": self.name,
        }


NODES: tuple[Node, ...] = tuple(
    Node(f"{region}-{zone}1", region, zone) for region in REGIONS for zone in ZONES
)


def node(name: str) -> Node | None:
    return next((n for n in NODES if n.name == name), None)


@dataclass(frozen=True)
class SandboxConfig:
    """Settings fixed when the sandbox starts (``config.json`` in its state folder)."""

    https_port: int = 8443
    dns_port: int = 8053
    replicas: dict[str, int] = field(default_factory=lambda: {"primary": 3, "standby": 1})
    """Desired orders replicas per region at start (a warm standby)."""
    restart_delay_seconds: float = 1.5
    """How long a killed replica stays dead before the supervisor starts it again."""
    backup_interval_seconds: float = 10.0
    shipping_interval_seconds: float = 2.0
    """How often the standby's store receives the primary's new writes."""
    certificate_days: float = 90.0
    dns_ttl_seconds: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
