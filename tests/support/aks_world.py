"""An AKS target around the shipped drills: the Kubernetes emulator and the ARM test server.

What ``tests/integration/test_aks_drills.py`` and the reliability suite
share. The repository is copied as shipped and gains only a ``targets.yaml``
with an ``aks`` target whose ``azure`` section points at the ARM test server
(its ``resourceManager``, or a proxy in front of it) and whose credentials
come from the server's managed identity endpoint through the real
``DefaultAzureCredential`` (``aks_setting``). ``seeded`` builds a fresh AKS
world on both servers for one run, and ``record`` runs one drill in its own
process with ``tests.support.arm.platform`` playing what Azure does by itself
(a deallocated node becomes unreachable, Traffic Manager routes users), and
keeps what both sides looked like around it.
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

from drillkit.engine.journal import JournalEvent, read_journal
from tests.support.arm.aks_seed import AksLayout, seed_aks
from tests.support.arm.fixtures import REGIONS, ZONE_ALIASES, add_aks_nodes, azure_environment
from tests.support.arm.platform import NodeLifecycle, TrafficRouting
from tests.support.arm.server import ArmServer
from tests.support.dns_server import dns_server
from tests.support.kube.catalogue import DEPLOYMENTS, NODES
from tests.support.kube.cluster import seed_cluster
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.kube.workloads import WorkloadTiming
from tests.support.orders_front import OrdersFront
from tests.support.session import SESSION_VARIABLES, SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
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
    kube_server: KubeApiServer,
    kube_config: Path,
    arm_server: ArmServer,
    root: Path,
    *,
    resource_manager: str | None = None,
) -> Iterator[Setting]:
    """The repository copy in ``root`` (a fresh folder), its targets and environment.

    ``resource_manager`` is the address the targets give drillkit for ARM
    (a proxy in front of the server, say); the server's own by default.
    """
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
        target: dict[str, Any] = {
            "provider": "aks",
            "tier": "staging",
            "description": "The Kubernetes emulator and the ARM test server.",
            "kubernetes": {"kubeconfig": str(kube_config), "context": "emulator"},
            "azure": {
                "subscriptionId": layout.subscription,
                "resourceGroup": layout.resource_group,
                "cluster": layout.cluster,
                "resourceManager": resource_manager or arm_server.url,
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


def drill(setting: Setting, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return setting.drill(*args, timeout=timeout)


@dataclass
class Record:
    """One ``drill run`` on a fresh AKS world, with what both sides looked like around it."""

    result: subprocess.CompletedProcess[str]
    events: list[JournalEvent]
    verified: subprocess.CompletedProcess[str]
    layout: AksLayout
    lifecycle: NodeLifecycle
    routing: TrafficRouting
    before: dict[str, Any]
    after: dict[str, Any]
    ready_after: int
    nodes_after: dict[str, dict[str, Any]]
    """Node name -> its spec, read from the emulator after the run."""

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def summary(self) -> dict[str, Any]:
        ended = next(e for e in self.events if e.type == "run-ended")
        found: dict[str, Any] = ended.data["summary"]
        return found

    def first(self, event_type: str) -> JournalEvent:
        return next(e for e in self.events if e.type == event_type)

    def calls(self, name: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == "provider-call" and e.data["call"] == name]


def azure_state(server: ArmServer, layout: AksLayout) -> dict[str, Any]:
    """What a drill must leave exactly as it found it on the Azure side."""
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


def record(
    setting: Setting,
    kube_server: KubeApiServer,
    kube_config: Path,
    arm_server: ArmServer,
    name: str,
    *args: str,
) -> Record:
    with seeded(kube_server, kube_config, arm_server) as (kube, layout):
        setting.front.region = LOCATION
        before = azure_state(arm_server, layout)
        with (
            NodeLifecycle(arm_server.world, kube.store) as lifecycle,
            TrafficRouting(arm_server.world, layout.profile_id, setting.front) as routing,
        ):
            result = drill(setting, "run", name, "--target", TARGET, *args)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: ready_replicas(kube) == 3, timeout=10)
        runs = setting.repo / "reports" / name
        assert runs.is_dir(), result.stdout + result.stderr
        folder = sorted(runs.iterdir())[-1]
        return Record(
            result=result,
            events=read_journal(folder / "journal.jsonl").events,
            verified=drill(
                setting, "verify", str(folder), "--key", os.environ[SIGNING_KEY] + ".pub"
            ),
            layout=layout,
            lifecycle=lifecycle,
            routing=routing,
            before=before,
            after=azure_state(arm_server, layout),
            ready_after=ready_replicas(kube),
            nodes_after={n["metadata"]["name"]: n["spec"] for n in kube.store.list(NODES)},
        )


def ready_replicas(kube: KubeCluster) -> int:
    deployment = kube.store.find(DEPLOYMENTS, "orders", "orders-api")
    return int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
