"""The shipped drills, unchanged, against a Kubernetes target: real ``drill run`` processes.

The issue promises that ``restore-orders`` and the zone, node and pod drills
run unchanged on a cluster, because the drill files name intents, aliases and
variables, never a provider. These tests hold the drill repository to that:
they copy ``drills/``, ``probes/``, ``runbooks/`` and ``experiments/`` as they
are, add only a ``targets.yaml`` (a ``kubernetes`` target, its zone and region
aliases and variables), and run each drill as an operator would, in its own
process, against the Kubernetes API emulator with its workload and Velero
controllers, the test ``velero`` CLI on PATH, an HTTPS orders front whose
answers come from the cluster's state (tests/support/orders_front.py), and a
real DNS server on loopback.

The cluster is read while each drill runs and after it ends, so "the fault
happened and was undone" is checked on the cluster itself, not taken from the
drill's own report; every run's signed evidence is verified with the
session's public key.

Two tests pin bugs these runs found and that are now fixed: the routing probe
accepts the target's real region for an alias, and waiting for a workload
waits on its watch instead of polling.

The target is ``staging-emulated``: the shipped drills allow only
``sandbox``, ``staging-*`` and ``prod-*`` (``spec.targets``), so a target
named ``emulated`` is refused, and allowing it would change the drills. The
plan test shows that refusal next to the plan of the allowed name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillkit.engine.journal import JournalEvent, read_journal
from tests.support.dns_server import dns_server
from tests.support.kube.catalogue import (
    BACKUPS,
    DEPLOYMENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    RESTORES,
    SECRETS,
)
from tests.support.kube.controllers import Controllers, wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer, RecordedRequest
from tests.support.kube.store import ResourceStore
from tests.support.kube.workloads import WorkloadTiming
from tests.support.orders_front import OrdersFront
from tests.support.session import SESSION_VARIABLES, SIGNING_KEY
from tests.support.velero_cli import install_velero

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def setting(
    kube_server: KubeApiServer, kube_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setting]:
    """The drill repository exactly as shipped plus a targets.yaml, and the orders front, DNS
    and ``velero`` its drills need; started once for the module, which keeps it fast."""
    root = tmp_path_factory.mktemp("kubernetes-repo")
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


class Watcher:
    """Polls the store from a thread, so a test sees what a drill really did mid-run."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store
        self.seen = Observed()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
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
            lease=store.get(LEASES, "default", f"drillkit-{TARGET}")["spec"],
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


def assert_recorded_on_the_emulator(outcome: Record, server: KubeApiServer) -> None:
    """The evidence verifies; the journal names this cluster (server, context, kube-system
    uid); the target's Lease was taken and given back; every fault applied was undone, and
    the cluster holds no cordon, no drillkit taint and all three replicas again."""
    assert outcome.verified.returncode == 0, outcome.verified.stdout + outcome.verified.stderr
    identity = outcome.first("identity").data
    assert identity["provider"] == "kubernetes", identity
    assert identity["kubernetes"]["server"] == server.url
    assert identity["kubernetes"]["context"] == "emulator"
    assert identity["kubernetes"]["clusterUid"] == server.cluster_uid
    assert outcome.first("lock-acquired")
    assert outcome.lease.get("holderIdentity") is None, outcome.lease
    assert outcome.summary["faultsLeftApplied"] == []
    assert outcome.summary["faultsApplied"] == outcome.summary["faultsReverted"] != []
    assert outcome.problems == []


def assert_passed(outcome: Record, server: KubeApiServer) -> None:
    assert outcome.result.returncode == 0, outcome.output
    verdict = outcome.summary["verdict"]
    assert verdict == "passed", (outcome.failed_steps(), outcome.unmet_objectives())
    assert_recorded_on_the_emulator(outcome, server)


# -- restore-orders --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def restore_orders(setting: Setting, kube_server: KubeApiServer, kube_config: Path) -> Record:
    """Before the backup the orders service takes one order (a canary record of another
    run), after it another one: the restore must bring back the first and not the second."""
    front = setting.front

    def before(cluster: Cluster) -> dict[str, Any]:
        assert front.store_record(AFTER_BACKUP_RUN, 1, "2026-01-01T00:00:01Z")
        return {"secret": cluster.store.get(SECRETS, "orders", "orders-db")["data"]}

    def after(cluster: Cluster) -> dict[str, Any]:
        store = cluster.store
        namespace = store.find(NAMESPACES, "", "orders") or {"metadata": {}}
        secret = store.find(SECRETS, "orders", "orders-db")
        return {
            "namespaceLabels": namespace["metadata"].get("labels") or {},
            "restores": [
                (r["spec"].get("backupName"), (r.get("status") or {}).get("phase"))
                for r in store.list(RESTORES, "velero")
            ],
            "secretAfter": None if secret is None else secret["data"],
            "canaryRuns": {r["runId"] for r in front.canary_records()},
        }

    return record(
        setting,
        kube_server,
        kube_config,
        "restore-orders",
        before_backup=lambda: front.store_record(EARLIER_RUN, 1, "2026-01-01T00:00:00Z"),
        before=before,
        after=after,
    )


def test_restore_orders_loses_the_namespace_and_velero_brings_back_what_the_backup_held(
    restore_orders: Record, kube_server: KubeApiServer
) -> None:
    outcome, facts = restore_orders, restore_orders.facts
    assert_recorded_on_the_emulator(outcome, kube_server)
    # The namespace really went away, and came back from the newest backup through Velero,
    # with its secret as it was and its workload ready again.
    assert outcome.observed.namespace_missing
    assert facts["namespaceLabels"].get("velero.io/backup-name") == outcome.backup
    assert facts["restores"] == [(outcome.backup, "Completed")]
    assert facts["secretAfter"] == facts["secret"]
    # Only what the backup held is back: the order stored before it, not the one after,
    # and none of this run's canary records (written after the backup, then cleaned up).
    assert facts["canaryRuns"] == {EARLIER_RUN}
    # The journal holds the provider's side: the backup the fault relied on, the velero
    # CLI's restore and each phase it reported, its describe and its logs.
    assert outcome.first("fault-applied").data["result"] == {
        "deleted": "orders",
        "backup": outcome.backup,
    }
    assert [c["source"] for c in outcome.calls("velero-restore-created")] == ["orders-hourly"]
    assert [c["phase"] for c in outcome.calls("velero-restore-phase")][-1] == "Completed"
    assert outcome.calls("velero-restore-describe") and outcome.calls("velero-restore-logs")
    restored = next(e.data["result"] for e in outcome.events if e.type == "restore-ended")
    assert restored["backup"] == outcome.backup and restored["errors"] == 0
    assert outcome.first("fault-reverted").data["result"]["restored"] is None  # already back
    # Every acknowledged canary write came after the backup, so none survived: the RPO is
    # the backup's age at fault start, an upper bound (seconds here; the objective is 15m).
    summary = outcome.summary
    assert summary["rpoUpperBound"] is True and summary["canaryWritesLost"] >= 1
    assert 0 < summary["rpoSeconds"] < 60
    assert 0 < summary["rtoSeconds"] < 60
    assert outcome.unmet_objectives() == {}
    # Every step but traffic-routed passes; the next test is about that one.
    assert set(outcome.failed_steps()) <= {"traffic-routed"}, outcome.failed_steps()


def test_restore_orders_passes_on_a_target_that_maps_its_region_alias(
    restore_orders: Record, kube_server: KubeApiServer
) -> None:
    assert restore_orders.failed_steps() == {}
    assert_passed(restore_orders, kube_server)


# -- zone-outage-orders ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone_outage(setting: Setting, kube_server: KubeApiServer, kube_config: Path) -> Record:
    """``drill plan`` runs first on the same cluster, as an operator would before the run."""

    def before(cluster: Cluster) -> dict[str, Any]:
        return {
            "refused": drill(setting, "plan", "zone-outage-orders", "--target", "emulated"),
            "planned": drill(setting, "plan", "zone-outage-orders", "--target", TARGET),
            "cordonedAfterPlan": [
                n["metadata"]["name"]
                for n in cluster.store.list(NODES)
                if n["spec"].get("unschedulable")
            ],
        }

    return record(setting, kube_server, kube_config, "zone-outage-orders", before=before)


def test_the_plan_names_exactly_the_nodes_of_zone_a_and_changes_nothing(
    zone_outage: Record,
) -> None:
    refused, planned = zone_outage.facts["refused"], zone_outage.facts["planned"]
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not allow target `emulated`" in refused.stdout + refused.stderr
    assert planned.returncode == 0, planned.stdout + planned.stderr
    blast = planned.stdout.split("Blast radius (what each step touches now):\n", 1)[1]
    lines = blast.splitlines()
    assert lines[:3] == [
        "  lose-zone-a: zone us-east-1a (outage)",
        f"  lose-zone-a: node node-a-1 (cordon+taint {TAINT_KEY})",
        f"  lose-zone-a: node node-a-2 (cordon+taint {TAINT_KEY})",
    ]
    # Then the pods those nodes run, which the taint evicts, and the totals.
    evicted = lines[3:-1]
    assert evicted and all(
        line.startswith("  lose-zone-a: pod orders/") and line.endswith(" (evict)")
        for line in evicted
    ), lines
    assert lines[-1] == f"  faults in total: 1 zone, 2 nodes, {len(evicted)} pod" + (
        "s" if len(evicted) > 1 else ""
    )
    assert zone_outage.facts["cordonedAfterPlan"] == []


def test_zone_outage_cordons_and_taints_zone_a_then_puts_it_back(
    zone_outage: Record, kube_server: KubeApiServer
) -> None:
    outcome, zone_a = zone_outage, ["node-a-1", "node-a-2"]
    assert_passed(outcome, kube_server)
    # Both zone-a nodes were cordoned and tainted NoExecute during the run, and no other.
    assert outcome.observed.cordoned == set(zone_a) and outcome.observed.tainted == set(zone_a)
    undo = outcome.first("fault-undo-planned").data["undo"]
    assert undo["zone"] == ZONES["a"] and [n["name"] for n in undo["nodes"]] == zone_a
    assert outcome.first("fault-applied").data["result"] == {"zone": ZONES["a"], "nodes": zone_a}
    assert outcome.first("fault-reverted").data["result"] == {"restored": zone_a}
    # The taint evicted the zone's pod; its replacement runs in another zone and stays there.
    evicted = {p for p, node in outcome.pods_before.items() if node in zone_a}
    assert evicted and not evicted & set(outcome.pods_after)
    assert not [p for p, node in outcome.pods_after.items() if node in zone_a]
    # The orders data never left the cluster: every canary write survived.
    assert outcome.summary["rpoSeconds"] == 0.0 and outcome.summary["canaryWritesLost"] == 0


# -- pod-kill-orders -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pod_kill(setting: Setting, kube_server: KubeApiServer, kube_config: Path) -> Record:
    return record(setting, kube_server, kube_config, "pod-kill-orders")


def test_pod_kill_deletes_half_the_pods_and_the_replicaset_replaces_them(
    pod_kill: Record, kube_server: KubeApiServer
) -> None:
    outcome = pod_kill
    assert_passed(outcome, kube_server)
    (deleted,) = outcome.calls("pods-deleted")
    assert deleted["namespace"] == "orders" and len(deleted["pods"]) == 1  # 50% of 3
    assert set(deleted["pods"]) <= set(outcome.pods_before)
    assert outcome.first("fault-applied").data["result"]["deleted"] == deleted["pods"]
    deletes = [r.path.rsplit("/", 1)[1] for r in outcome.requests if r.method == "DELETE"]
    assert deletes == deleted["pods"]
    assert not set(deleted["pods"]) & set(outcome.pods_after)
    assert len(set(outcome.pods_after) - set(outcome.pods_before)) == 1  # the replacement
    assert not outcome.observed.cordoned and not outcome.observed.tainted


def test_waiting_for_recovery_waits_on_the_watch_instead_of_polling(pod_kill: Record) -> None:
    watches = [
        r
        for r in pod_kill.requests
        if r.path == "/apis/apps/v1/namespaces/orders/deployments" and "watch=true" in r.query
    ]
    # A watch should end only when a Deployment changes; while one pod is replaced,
    # orders-api changes twice (one replica fewer ready, then three again), so a waiter
    # on the watch needs about three; the tight loop makes dozens.
    assert len(watches) <= 10, f"{len(watches)} watches of orders Deployments in one run"


# -- node-failure-orders ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_failure(setting: Setting, kube_server: KubeApiServer, kube_config: Path) -> Record:
    return record(setting, kube_server, kube_config, "node-failure-orders")


def test_node_failure_drains_one_pool_node_through_evictions_then_uncordons_it(
    node_failure: Record, kube_server: KubeApiServer
) -> None:
    outcome = node_failure
    assert_passed(outcome, kube_server)
    applied = outcome.first("fault-applied").data["result"]
    assert applied["cordoned"] == ["node-a-1"]  # the first of the pool's schedulable nodes
    assert outcome.observed.cordoned == {"node-a-1"} and not outcome.observed.tainted
    drained = sorted(p for p, node in outcome.pods_before.items() if node == "node-a-1")
    assert drained and sorted(applied["evicted"]) == [f"orders/{p}" for p in drained]
    assert applied["forced"] == []
    evictions = [r for r in outcome.requests if r.method == "POST" and r.path.endswith("/eviction")]
    assert sorted(r.path.split("/")[-2] for r in evictions) == drained
    assert outcome.first("fault-reverted").data["result"] == {"uncordoned": ["node-a-1"]}
    assert not [p for p, node in outcome.pods_after.items() if node == "node-a-1"]
