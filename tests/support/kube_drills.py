"""Running the shipped drills against the Kubernetes API emulator, as an operator would.

What ``tests/integration/test_kubernetes_drills.py`` and the reliability suite
share: the drill repository copy with its ``targets.yaml``, the orders front,
DNS and the test ``velero`` around the cluster (``kubernetes_setting``), a
seeded cluster per run (``prepare``), a watcher that sees what a drill did
mid-run, and ``record``, which runs one drill in its own process and keeps
everything a test needs to judge it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drillkit.engine.journal import JournalEvent, read_journal
from tests.support.dns_server import dns_server
from tests.support.kube.catalogue import BACKUPS, DEPLOYMENTS, LEASES, NAMESPACES, NODES, PODS
from tests.support.kube.controllers import Controllers, wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer, RecordedRequest
from tests.support.kube.store import ResourceStore
from tests.support.kube.workloads import WorkloadTiming
from tests.support.orders_front import OrdersFront
from tests.support.poller import Poller
from tests.support.session import SESSION_VARIABLES, SIGNING_KEY
from tests.support.velero_cli import install_velero

ROOT = Path(__file__).resolve().parents[2]
TARGET = "staging-emulated"
REGION = "us-east-1"
ZONES = {"a": f"{REGION}a", "b": f"{REGION}b", "c": f"{REGION}c"}
TAINT_KEY = "drillkit.io/zone-outage"
POOL_LABEL = "drillkit.io/pool"
EARLIER_RUN = "01EARLIERRUN0000000000000A"
"""A canary record stored before the newest backup: a restore must bring it back."""
AFTER_BACKUP_RUN = "01AFTERBACKUP000000000000A"
"""A canary record stored after the newest backup: losing the namespace loses it for good."""


# -- the world around the cluster: one per module ----------------------------------------


@dataclass
class Setting:
    """The repository copy, the tools and the services every drill run here uses."""

    repo: Path
    front: OrdersFront
    environment: dict[str, str]


@contextlib.contextmanager
def kubernetes_setting(
    root: Path, kube_server: KubeApiServer, kube_config: Path
) -> Iterator[Setting]:
    """The drill repository exactly as shipped plus a targets.yaml, and the orders front, DNS
    and ``velero`` its drills need, in ``root`` (which must not exist yet)."""
    root.mkdir(parents=True)
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    tools = root.parent / f"{root.name}-bin"
    install_velero(tools)
    with (
        # The front names the region a service on this cluster runs in (its nodes' label),
        # as a real service would; `primary` is only the target's alias for it.
        OrdersFront(
            lambda: kube_server.store, root.parent / f"{root.name}-tls", region=REGION
        ) as front,
        dns_server() as (zone, nameserver),
    ):
        # The orders host is the front's address (its certificate names that IP), and DNS
        # answers the name with it, as a cluster's DNS name answers with its ingress.
        zone.set(front.address, "A", front.address)
        target = {
            "provider": "kubernetes",
            "tier": "staging",
            "description": "The Kubernetes API emulator with its controllers.",
            "kubernetes": {"kubeconfig": str(kube_config), "context": "emulator"},
            "zones": ZONES,
            "regions": {"primary": REGION},
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
            "targets": {TARGET: target, "emulated": target},
        }
        (root / "targets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
        environment.update({k: os.environ[k] for k in SESSION_VARIABLES})
        environment.update(
            {
                "PYTHONPATH": str(ROOT),
                "COLUMNS": "200",
                "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
                # The drill files set no caBundle: the front's CA is trusted the way an
                # operator's machine trusts a private CA, through the default trust store.
                "SSL_CERT_FILE": str(front.ca_file),
            }
        )
        environment.pop("SSL_CERT_DIR", None)
        yield Setting(root, front, environment)


@dataclass
class Cluster:
    """One drill's seeded cluster, its running controllers and its newest scheduled backup."""

    kube: KubeCluster
    controllers: Controllers
    backup: str

    @property
    def store(self) -> ResourceStore:
        return self.kube.store


def prepare(kube: KubeCluster, before_backup: Callable[[], object]) -> Cluster:
    """Two nodes per zone, all in the ``orders`` node pool (``node-failure-orders`` selects
    by it); orders-api with three replicas whose pods take a second to be ready, so a
    restore has an outage users can see and a replaced pod a moment to wait for; and a
    backup that ``orders-hourly`` took just now, so its age is within every drill's RPO (the
    seeded one is 20 minutes old). ``before_backup`` runs just before that backup."""
    kube.seed(nodes_per_zone=2)
    for node in kube.store.list(NODES):
        kube.store.edit(
            NODES,
            "",
            node["metadata"]["name"],
            lambda n: n["metadata"]["labels"].update({POOL_LABEL: "orders"}),
        )
    controllers = kube.run_controllers(workloads=WorkloadTiming(start_seconds=1.0))
    before_backup()
    backup = controllers.velero.run_schedule("orders-hourly")
    wait_for(lambda: _phase(kube.store, BACKUPS, "velero", backup) == "Completed")
    return Cluster(kube, controllers, backup)


# -- running a drill and watching the cluster meanwhile ----------------------------------


@dataclass
class Observed:
    """What the cluster looked like at some moment while a drill ran (polled every 20 ms)."""

    cordoned: set[str] = field(default_factory=set)
    tainted: set[str] = field(default_factory=set)
    namespace_missing: bool = False


class Watcher(Poller):
    """Polls the store from a thread, so a test sees what a drill really did mid-run."""

    def __init__(self, store: ResourceStore) -> None:
        super().__init__("cluster-watcher")
        self.store = store
        self.seen = Observed()

    def poll(self) -> None:
        with self.store.lock:
            nodes = self.store.list(NODES)
            present = self.store.find(NAMESPACES, "", "orders") is not None
        for node in nodes:
            name, spec = node["metadata"]["name"], node["spec"]
            if spec.get("unschedulable"):
                self.seen.cordoned.add(name)
            if any(t["key"] == TAINT_KEY for t in spec.get("taints") or []):
                self.seen.tainted.add(name)
        self.seen.namespace_missing |= not present


def drill(setting: Setting, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=setting.repo,
        env=setting.environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Record:
    """One ``drill run`` and the cluster around it: before, during (``observed``, every API
    request) and after (pods, what was not put back, the Lease); ``facts`` holds what a
    drill's own hooks noted. Each drill runs once per module, because a run is what costs,
    and each concern is a test of its own over this record, so a known bug failing one
    concern hides none of the others."""

    result: subprocess.CompletedProcess[str]
    folder: Path
    events: list[JournalEvent]
    observed: Observed
    requests: list[RecordedRequest]
    backup: str
    pods_before: dict[str, str]
    """Pod name -> node, just before the run."""
    pods_after: dict[str, str]
    """Pod name -> node, once three replicas are ready again (or 10 s passed)."""
    problems: list[str]
    """What was not as before the drill: missing replicas, cordons, drillkit taints."""
    lease: dict[str, Any]
    verified: subprocess.CompletedProcess[str]
    facts: dict[str, Any]

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def summary(self) -> dict[str, Any]:
        ended = next(e for e in self.events if e.type == "run-ended")
        found: dict[str, Any] = ended.data["summary"]
        return found

    def failed_steps(self) -> dict[str, str]:
        return {s["name"]: s["detail"] for s in self.summary["steps"] if s["status"] != "passed"}

    def unmet_objectives(self) -> dict[str, str]:
        return {o["name"]: o["measured"] for o in self.summary["objectives"] if not o["met"]}

    def calls(self, name: str) -> list[dict[str, Any]]:
        """The provider's journaled calls of one kind (``ctx.note``), in order."""
        return [e.data for e in self.events if e.type == "provider-call" and e.data["call"] == name]

    def first(self, event_type: str) -> JournalEvent:
        return next(e for e in self.events if e.type == event_type)


Hook = Callable[[Cluster], dict[str, Any]]


def record(
    setting: Setting,
    server: KubeApiServer,
    kubeconfig: Path,
    name: str,
    *,
    before_backup: Callable[[], object] = lambda: None,
    before: Hook = lambda cluster: {},
    after: Hook = lambda cluster: {},
) -> Record:
    """Run drill ``name`` on a fresh cluster and record it; the cluster is reset at once
    afterwards, so nothing of it (controllers included) outlives the record."""
    server.reset()
    kube = KubeCluster(server, kubeconfig, kubeconfig.parent / "kubectl-cache")
    try:
        cluster = prepare(kube, before_backup)
        store = cluster.store
        facts = before(cluster)
        pods_before = _pods(store)
        server.requests.clear()
        with Watcher(store) as watcher:
            result = drill(setting, "run", name, "--target", TARGET)
        requests = list(server.requests)
        runs = setting.repo / "reports" / name
        assert runs.is_dir(), result.stdout + result.stderr
        folder = sorted(runs.iterdir())[-1]
        problems = _settle(store)
        facts |= after(cluster)
        return Record(
            result=result,
            folder=folder,
            events=read_journal(folder / "journal.jsonl").events,
            observed=watcher.seen,
            requests=requests,
            backup=cluster.backup,
            pods_before=pods_before,
            pods_after=_pods(store),
            problems=problems,
            lease=(store.find(LEASES, "default", f"drillkit-{TARGET}") or {"spec": {}})["spec"],
            verified=drill(
                setting, "verify", str(folder), "--key", os.environ[SIGNING_KEY] + ".pub"
            ),
            facts=facts,
        )
    finally:
        kube.close()
        server.reset()


def _settle(store: ResourceStore) -> list[str]:
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: _ready(store) == 3 and len(store.list(PODS, "orders")) == 3, timeout=10)
    problems = [f"orders-api has {_ready(store)}/3 ready replicas"] if _ready(store) != 3 else []
    for node in store.list(NODES):
        name, spec = node["metadata"]["name"], node["spec"]
        if spec.get("unschedulable"):
            problems.append(f"{name} is still cordoned")
        if any(t["key"] == TAINT_KEY for t in spec.get("taints") or []):
            problems.append(f"{name} still has the {TAINT_KEY} taint")
    return problems


def _pods(store: ResourceStore) -> dict[str, str]:
    return {
        p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in store.list(PODS, "orders")
    }


def _phase(store: ResourceStore, kind: Any, namespace: str, name: str) -> str | None:
    found = store.find(kind, namespace, name)
    return None if found is None else (found.get("status") or {}).get("phase")


def _ready(store: ResourceStore) -> int:
    deployment = store.find(DEPLOYMENTS, "orders", "orders-api")
    return int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
