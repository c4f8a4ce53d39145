"""An AKS target around the shipped drills, for real ``drill`` processes: the repository,
its targets.yaml and environment, and a freshly seeded cluster on both servers.

Shared by ``tests/integration/test_aks_drills.py`` (each drill once, watched) and
``tests/reliability/test_crash_cloud.py`` (runs killed at random journal points):
both need the same target and the same view of "what Azure looks like", so it
lives here rather than in either test module.

``aks_setting`` copies the shipped drill folders into a fresh folder and writes
a ``targets.yaml`` with an ``aks`` target (``staging-aks``) whose ``azure``
section points at the ARM test server and whose credentials come from the
server's managed-identity endpoint through the real ``DefaultAzureCredential``,
plus the same cluster without a Traffic Manager profile (``staging-aks-unrouted``).
The orders front answers for the primary region; ``seeded`` gives one fresh
cluster (orders running three replicas) and resets both servers after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.arm.aks_seed import AksLayout, seed_aks
from tests.support.arm.fixtures import REGIONS, ZONE_ALIASES, add_aks_nodes, azure_environment
from tests.support.arm.server import ArmServer
from tests.support.dns_server import dns_server
from tests.support.kube.catalogue import DEPLOYMENTS
from tests.support.kube.cluster import seed_cluster
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.kube.workloads import WorkloadTiming
from tests.support.orders_front import OrdersFront
from tests.support.session import SESSION_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
TARGET = "staging-aks"
UNROUTED = "staging-aks-unrouted"
LOCATION = REGIONS["primary"]


@dataclass
class Setting:
    """The drill repository, the orders front, and the environment of a ``drill`` process."""

    repo: Path
    front: OrdersFront
    environment: dict[str, str]

    def drill(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``drill ARGS`` in the repository, as an operator runs it."""
        try:
            return subprocess.run(
                [sys.executable, "-m", "drillkit", *args],
                cwd=self.repo,
                env=self.environment,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            shown = exc.output.decode() if isinstance(exc.output, bytes) else exc.output
            raise AssertionError(f"drill {' '.join(args)} timed out; it said:\n{shown}") from None


@contextlib.contextmanager
def aks_setting(
    kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer, root: Path
) -> Iterator[Setting]:
    """The repository (the shipped drills copied into ``root``, a fresh folder), its
    targets.yaml, the orders front and DNS, as described in the module docstring."""
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    with (
        OrdersFront(
            lambda: kube_server.store, root.parent / f"{root.name}-tls", region=LOCATION
        ) as front,
        dns_server() as (zone, nameserver),
    ):
        zone.set(front.address, "A", front.address)
        layout = seed_aks(arm_server.world)  # only to name the cluster; reseeded per run
        arm_server.reset()
        target = {
            "provider": "aks",
            "tier": "staging",
            "description": "The Kubernetes emulator and the ARM test server.",
            "kubernetes": {"kubeconfig": str(kube_config), "context": "emulator"},
            "azure": {
                "subscriptionId": layout.subscription,
                "resourceGroup": layout.resource_group,
                "cluster": layout.cluster,
                "resourceManager": arm_server.url,
                "trafficManagerProfile": layout.traffic_profile,
            },
            "zones": ZONE_ALIASES,
            "regions": REGIONS,
            "variables": {
                "orders_url": front.url,
                "orders_host": front.address,
                "orders_port": "8443",
                "dns_server": nameserver,
            },
        }
        registry = {
            "apiVersion": "drillkit.io/v1",
            "kind": "TargetRegistry",
            "targets": {
                TARGET: target,
                # The same cluster, with no Traffic Manager profile named.
                UNROUTED: {
                    **target,
                    "azure": {
                        k: v for k, v in target["azure"].items() if k != "trafficManagerProfile"
                    },
                },
            },
        }
        (root / "targets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
        environment = {
            k: v for k, v in azure_environment(arm_server).items() if not k.startswith("DRILLKIT_")
        }
        environment.update({k: os.environ[k] for k in SESSION_VARIABLES})
        environment.update(
            {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "SSL_CERT_FILE": str(front.ca_file)}
        )
        environment.pop("SSL_CERT_DIR", None)
        yield Setting(root, front, environment)


def azure_state(server: ArmServer, layout: AksLayout) -> dict[str, Any]:
    """What a drill must leave exactly as it found it on the Azure side: every scale-set
    instance (power state included), node pool (autoscaler settings), security rule, and
    the Traffic Manager profile's endpoints."""
    snapshot = server.world.snapshot()
    keep = ("_power", "properties")
    return {
        key: {k: v for k, v in resource.items() if k in keep}
        for key, resource in snapshot.items()
        if "/virtualmachines/" in key or "/agentpools/" in key or "/securityrules/" in key
    } | {"profile": snapshot[layout.profile_id.lower()]["properties"]["endpoints"]}


@contextlib.contextmanager
def seeded(
    kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> Iterator[tuple[KubeCluster, AksLayout]]:
    """A fresh AKS world on both servers, orders running three replicas; reset afterwards."""
    kube_server.reset()
    arm_server.reset()
    kube = KubeCluster(kube_server, kube_config, kube_config.parent / "kubectl-cache")
    try:
        layout = seed_aks(arm_server.world, location=LOCATION, standby_location=REGIONS["standby"])
        add_aks_nodes(kube, layout)
        seed_cluster(kube.store, zones=(), velero=False)
        kube.run_controllers(workloads=WorkloadTiming(start_seconds=1.0))
        wait_for(lambda: ready_replicas(kube) == 3)
        yield kube, layout
    finally:
        kube.close()
        kube_server.reset()
        arm_server.reset()


def ready_replicas(kube: KubeCluster) -> int:
    """How many orders-api replicas the emulator reports ready."""
    deployment = kube.store.find(DEPLOYMENTS, "orders", "orders-api")
    return int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
