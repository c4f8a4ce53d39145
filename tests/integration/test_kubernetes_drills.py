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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.kube.catalogue import (
    NAMESPACES,
    NODES,
    RESTORES,
    SECRETS,
)
from tests.support.kube.server import KubeApiServer
from tests.support.kube_drills import (
    AFTER_BACKUP_RUN,
    EARLIER_RUN,
    TAINT_KEY,
    TARGET,
    ZONES,
    Cluster,
    Record,
    Setting,
    drill,
    kubernetes_setting,
    record,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setting(
    kube_server: KubeApiServer, kube_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setting]:
    """The shipped repository, its targets.yaml and the world around the cluster, started
    once for the module, which keeps it fast."""
    with kubernetes_setting(
        tmp_path_factory.mktemp("kubernetes") / "repo", kube_server, kube_config
    ) as world:
        yield world


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
