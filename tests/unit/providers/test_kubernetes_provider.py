"""The kubernetes provider against the API emulator: real client, real HTTP, real controllers.

Each fault is prepared, applied and reverted the way the engine does it, and
the cluster is read back from the emulator's store to see what really changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.providers.kubernetes.faults import TAINT_KEY
from drillkit.spec.faults import NamespaceLoss, NodeFailure, PodKill, ZoneOutage
from drillkit.spec.probes import AccessProbe, BackupAgeProbe, SecretProbe, WorkloadReadyProbe
from drillkit.spec.restores import BackupRestore, Scale, WaitForRecovery
from drillkit.spec.targets import Target
from tests.support.kube.catalogue import LEASES, NAMESPACES, NODES, PODS
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.scheduling import is_ready
from tests.support.kube.workloads import FAILING_READINESS
from tests.support.probe_context import ProbeContext
from tests.support.velero_cli import install_velero


@pytest.fixture
def provider(kube_cluster: KubeCluster, tmp_path: Path) -> Iterator[KubernetesProvider]:
    folder = tmp_path / "bin"
    install_velero(folder)
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{old_path}"
    target = Target.model_validate(
        {
            "provider": "kubernetes",
            "tier": "staging",
            "kubernetes": kube_cluster.target_settings(),
            "zones": {"a": "us-east-1a", "b": "us-east-1b", "c": "us-east-1c"},
        }
    )
    provider = KubernetesProvider("emulated", target)
    provider.open()
    try:
        yield provider
    finally:
        provider.close()
        os.environ["PATH"] = old_path


def fault(provider: KubernetesProvider, intent: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    handler = provider.fault_handler(intent.type)
    assert handler is not None
    ctx = ProbeContext()
    undo = handler.prepare(intent, ctx)
    result = handler.apply(intent, undo, ctx)
    return handler, undo, result


def node(kube: KubeCluster, name: str) -> dict[str, Any]:
    found: dict[str, Any] = kube.store.get(NODES, "", name)
    return found


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_identity_names_the_server_context_user_and_the_stable_cluster_uid(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    identity = provider.identity()["kubernetes"]

    assert identity["server"] == kube_cluster.url
    assert identity["context"] == kube_cluster.context
    assert identity["user"] == "drill-operator"
    assert identity["clusterUid"] == kube_cluster.server.cluster_uid
    assert identity["version"]


def test_pod_kill_deletes_the_chosen_pods_with_a_recorded_seed(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    intent = PodKill.model_validate(
        {
            "type": "pod-kill",
            "namespace": "orders",
            "selector": {"app": "orders-api"},
            "count": 1,
            "seed": 7,
        }
    )
    before = {p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders")}

    _, undo, result = fault(provider, intent)

    assert undo["seed"] == 7 and len(undo["pods"]) == 1 and undo["pods"][0] in before
    assert result["deleted"] == undo["pods"]
    assert kube_cluster.store.find(PODS, "orders", undo["pods"][0]) is None
    again = provider.fault_handler("pod-kill").impact(intent)  # type: ignore[union-attr]
    assert len(again.touched) == 1  # the same seed picks again among what runs now


def test_zone_outage_cordons_and_taints_the_zone_and_undo_removes_only_that(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    other = {"key": "team.example.com/maintenance", "effect": "NoSchedule"}
    kube_cluster.store.edit(
        NODES, "", "node-a-1", lambda n: n["spec"].setdefault("taints", []).append(other)
    )
    intent = ZoneOutage.model_validate({"type": "zone-outage", "zone": "a"})
    handler = provider.fault_handler("zone-outage")
    assert handler is not None
    on_a = [
        f"orders/{p['metadata']['name']}"
        for p in kube_cluster.store.list(PODS, "orders")
        if p["spec"].get("nodeName") == "node-a-1"
    ]
    impact = handler.impact(intent)
    assert [(t.kind, t.name) for t in impact.touched] == [
        ("zone", "us-east-1a"),
        ("node", "node-a-1"),
        *[("pod", name) for name in on_a],
    ]
    assert on_a and {t.action for t in impact.touched if t.kind == "pod"} == {"evict"}

    _, undo, _ = fault(provider, intent)
    tainted = node(kube_cluster, "node-a-1")
    assert tainted["spec"]["unschedulable"] is True
    assert {t["key"] for t in tainted["spec"]["taints"]} == {TAINT_KEY, other["key"]}
    # The workload controller moves the zone's pod away (NoExecute).
    wait_for(
        lambda: all(
            p["spec"].get("nodeName") != "node-a-1" for p in kube_cluster.store.list(PODS, "orders")
        )
    )

    handler.revert(undo, ProbeContext())
    handler.revert(undo, ProbeContext())  # twice is harmless

    restored = node(kube_cluster, "node-a-1")
    assert not restored["spec"].get("unschedulable")
    assert [t["key"] for t in restored["spec"]["taints"]] == [other["key"]]
    assert not node(kube_cluster, "node-b-1")["spec"].get("unschedulable")


def test_undo_keeps_a_cordon_the_operator_set_before_the_drill(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    kube_cluster.kubectl("cordon", "node-a-1")
    intent = ZoneOutage.model_validate({"type": "zone-outage", "zone": "a"})

    handler, undo, _ = fault(provider, intent)
    handler.revert(undo, ProbeContext())

    assert node(kube_cluster, "node-a-1")["spec"]["unschedulable"] is True
    assert not node(kube_cluster, "node-a-1")["spec"].get("taints")


def test_node_failure_drains_through_evictions_and_a_pdb_blocks_past_the_deadline(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    drain = NodeFailure.model_validate(
        {"type": "node-failure", "nodes": {"names": ["node-b-1"]}, "evictionDeadline": "3s"}
    )
    handler, undo, result = fault(provider, drain)
    assert result["cordoned"] == ["node-b-1"] and result["evicted"] and not result["forced"]
    handler.revert(undo, ProbeContext())
    assert not node(kube_cluster, "node-b-1")["spec"].get("unschedulable")

    # minAvailable 2 of 3: draining two zones' nodes at once must hit the budget.
    both = NodeFailure.model_validate(
        {
            "type": "node-failure",
            "nodes": {"names": ["node-a-1", "node-c-1"], "count": 2},
            "evictionDeadline": "1s",
        }
    )
    kube_cluster.store.edit(NODES, "", "node-b-1", lambda n: n["spec"].update(unschedulable=True))
    blocked_handler = provider.fault_handler("node-failure")
    assert blocked_handler is not None
    ctx = ProbeContext()
    blocked_undo = blocked_handler.prepare(both, ctx)
    with pytest.raises(PermanentError, match="blocked by a PodDisruptionBudget"):
        blocked_handler.apply(both, blocked_undo, ctx)
    assert any(event == "eviction-blocked" for event, _ in ctx.notes)
    blocked_handler.revert(blocked_undo, ProbeContext())
    assert not node(kube_cluster, "node-a-1")["spec"].get("unschedulable")


def test_a_cloud_only_mode_is_refused_at_plan_time(provider: KubernetesProvider) -> None:
    intent = NodeFailure.model_validate({"type": "node-failure", "mode": "terminate"})
    with pytest.raises(UserInputError, match="needs a cloud layer"):
        provider.fault_handler("node-failure").impact(intent)  # type: ignore[union-attr]


def test_namespace_loss_is_refused_without_a_young_enough_backup(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    intent = NamespaceLoss.model_validate(
        {"type": "namespace-loss", "namespace": "orders", "maxBackupAge": "5m"}
    )
    handler = provider.fault_handler("namespace-loss")
    assert handler is not None

    with pytest.raises(PermanentError, match="older than the RPO objective"):
        handler.prepare(intent, ProbeContext())
    assert kube_cluster.store.find(NAMESPACES, "", "orders") is not None


def test_namespace_loss_then_the_undo_restores_it_from_velero(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    intent = NamespaceLoss.model_validate({"type": "namespace-loss", "namespace": "orders"})

    handler, undo, result = fault(provider, intent)
    assert result["backup"] == kube_cluster.seeded.backup
    wait_for(lambda: kube_cluster.store.find(NAMESPACES, "", "orders") is None)
    ctx = ProbeContext()
    reverted = handler.revert(undo, ctx)

    assert reverted["restored"] == kube_cluster.seeded.backup
    assert reverted["restore"]["phase"] == "Completed" and reverted["restore"]["errors"] == 0
    assert kube_cluster.store.find(NAMESPACES, "", "orders") is not None
    assert any(event == "velero-restore-describe" for event, _ in ctx.notes)


def test_backup_restore_and_wait_for_recovery_bring_the_workload_back(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    fault(provider, NamespaceLoss.model_validate({"type": "namespace-loss", "namespace": "orders"}))
    wait_for(lambda: kube_cluster.store.find(NAMESPACES, "", "orders") is None)
    restore = provider.restore_handler("backup-restore")
    wait = provider.restore_handler("wait-for-recovery")
    assert restore is not None and wait is not None
    intent = BackupRestore.model_validate(
        {
            "type": "backup-restore",
            "backup": {"schedule": "orders-hourly"},
            "namespaces": ["orders"],
        }
    )
    restore.impact(intent)

    result = restore.run(intent, ProbeContext())
    ready = wait.run(
        WaitForRecovery.model_validate(
            {
                "type": "wait-for-recovery",
                "namespace": "orders",
                "workloads": [{"name": "orders-api"}],
                "timeout": "30s",
            }
        ),
        ProbeContext(),
    )

    assert result["phase"] == "Completed" and result["backupStartedAt"]
    assert ready["ready"] == {"orders-api": "3/3"}


def test_a_restore_that_completes_with_errors_does_not_count(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    from tests.support.kube.controllers import VeleroSettings

    kube_cluster.close()  # stop the default controllers; run a Velero that fails restores
    kube_cluster.run_controllers(
        velero=VeleroSettings(restore_phase="PartiallyFailed", restore_errors=2),
        manage_workloads=False,
    )
    restore = provider.restore_handler("backup-restore")
    assert restore is not None
    intent = BackupRestore.model_validate(
        {
            "type": "backup-restore",
            "backup": {"name": kube_cluster.seeded.backup},
            "namespaces": ["orders"],
        }
    )

    with pytest.raises(PermanentError, match="PartiallyFailed with 2 errors"):
        restore.run(intent, ProbeContext())


def test_a_missing_backup_is_refused_before_anything_runs(provider: KubernetesProvider) -> None:
    intent = BackupRestore.model_validate(
        {"type": "backup-restore", "backup": {"name": "no-such-backup"}, "namespaces": ["orders"]}
    )
    with pytest.raises(UserInputError, match="`no-such-backup` does not exist"):
        provider.restore_handler("backup-restore").impact(intent)  # type: ignore[union-attr]


def test_scale_changes_the_replicas_through_the_scale_subresource(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    scale = provider.restore_handler("scale")
    assert scale is not None
    result = scale.run(
        Scale.model_validate(
            {
                "type": "scale",
                "namespace": "orders",
                "workload": {"name": "orders-api"},
                "replicas": 5,
            }
        ),
        ProbeContext(),
    )
    assert result == {"replicas": 5, "before": 3}
    wait_for(lambda: len(kube_cluster.store.list(PODS, "orders")) == 5)


def test_probe_sources_read_the_cluster(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    secret = provider.probe_handler("secret")
    ready = provider.probe_handler("workload-ready")
    backup = provider.probe_handler("backup-age")
    access = provider.probe_handler("access")
    assert secret and ready and backup and access
    ctx = ProbeContext()

    found = secret.measure(
        SecretProbe.model_validate(
            {"type": "secret", "name": "orders-db", "key": "password", "namespace": "orders"}
        ),
        ctx,
    )
    synced = secret.measure(
        SecretProbe.model_validate(
            {
                "type": "secret",
                "source": "external-secrets",
                "name": "orders-db",
                "namespace": "orders",
            }
        ),
        ctx,
    )
    workloads = ready.measure(
        WorkloadReadyProbe.model_validate(
            {"type": "workload-ready", "namespace": "orders", "workloads": ["orders-api"]}
        ),
        ctx,
    )
    fresh = backup.measure(
        BackupAgeProbe.model_validate(
            {"type": "backup-age", "schedule": "orders-hourly", "maxAge": "1h"}
        ),
        ctx,
    )
    allowed = access.measure(
        AccessProbe.model_validate(
            {
                "type": "access",
                "impersonateGroup": "orders-oncall",
                "checks": [
                    {
                        "verb": "get",
                        "resource": "deployments",
                        "group": "apps",
                        "namespace": "orders",
                    }
                ],
            }
        ),
        ctx,
    )

    assert found.ok and len(found.values["sha256"]) == 64, found.summary
    assert synced.ok and synced.values["externalSecretReady"] == "True", synced.summary
    assert workloads.ok and workloads.values["workloads"][0]["ready"] == 3, workloads.summary
    assert fresh.ok and fresh.values["backup"] == kube_cluster.seeded.backup, fresh.summary
    assert allowed.ok, allowed.summary


def test_a_missing_secret_key_fails_naming_the_keys(provider: KubernetesProvider) -> None:
    secret = provider.probe_handler("secret")
    assert secret is not None
    result = secret.measure(
        SecretProbe.model_validate(
            {"type": "secret", "name": "orders-db", "key": "token", "namespace": "orders"}
        ),
        ProbeContext(),
    )
    assert not result.ok and "has no key `token` (keys: password, username)" in result.summary


def test_a_broken_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("not: [valid")
    target = Target.model_validate(
        {"provider": "kubernetes", "tier": "staging", "kubernetes": {"kubeconfig": str(config)}}
    )
    with pytest.raises(UserInputError, match="cannot load the Kubernetes configuration"):
        KubernetesProvider("broken", target).open()


def test_the_target_lock_is_a_lease_in_the_cluster(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    from drillkit.providers.base import LockHeld

    lock = provider.acquire_lock("01RUNONE", {"user": "alice", "drill": "zone"}, 60)
    try:
        with pytest.raises(LockHeld, match="01RUNONE"):
            provider.acquire_lock("01RUNTWO", {"user": "bob", "drill": "zone"}, 60)
        lease = kube_cluster.store.get(LEASES, "default", "drillkit-emulated")
        assert lease["spec"]["holderIdentity"] == "drillkit/01RUNONE"
    finally:
        lock.release()
    provider.acquire_lock("01RUNTWO", {"user": "bob", "drill": "zone"}, 60).release()


def test_a_chaos_toolkit_experiment_runs_its_method_through_chaoslib_as_the_fault(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    import json

    from drillkit.spec.faults import ChaosToolkit

    root = Path(__file__).resolve().parents[3]
    document = json.loads((root / "experiments" / "kill-orders-pod.json").read_text())
    intent = ChaosToolkit.model_validate(
        {"type": "chaostoolkit", "experiment": "experiments/kill-orders-pod.json"}
    ).with_document(document)
    before = {p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders")}
    handler = provider.fault_handler("chaostoolkit")
    assert handler is not None
    assert [t.name for t in handler.impact(intent).touched] == [
        f"{document['title']}: terminate-one-orders-api-pod"
    ]

    _, undo, result = fault(provider, intent)

    assert result["status"] == "completed"
    after = {p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders")}
    assert len(before - after) == 1  # chaosk8s really deleted one pod through the API
    assert undo["title"] == document["title"]
    assert "KUBERNETES_CONTEXT" not in os.environ  # the environment is put back


def test_a_chaos_toolkit_activity_that_fails_fails_the_fault(provider: KubernetesProvider) -> None:
    from drillkit.spec.faults import ChaosToolkit

    intent = ChaosToolkit.model_validate(
        {
            "type": "chaostoolkit",
            "activity": {
                "type": "action",
                "name": "kill-a-missing-deployment",
                "provider": {
                    "type": "python",
                    "module": "chaosk8s.node.actions",
                    "func": "cordon_node",
                    "arguments": {"name": "no-such-node"},
                },
            },
        }
    )
    handler = provider.fault_handler("chaostoolkit")
    assert handler is not None
    ctx = ProbeContext()
    undo = handler.prepare(intent, ctx)

    with pytest.raises(PermanentError, match="kill-a-missing-deployment"):
        handler.apply(intent, undo, ctx)
    assert any(event == "chaostoolkit-journal" for event, _ in ctx.notes)


def kubelet_reports(
    cluster: KubeCluster, name: str, *, restarts: int, finished: str | None = None
) -> None:
    """Play the kubelet: a pod's containers restarted ``restarts`` times in all; ``finished``
    is when its container last terminated."""

    def edit(pod: dict[str, Any]) -> None:
        for container in pod["status"]["containerStatuses"]:
            container["restartCount"] = restarts
            if finished:
                container["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}

    cluster.store.edit(PODS, "orders", name, edit)


def readiness_fails(cluster: KubeCluster, name: str, failing: bool) -> None:
    """The pod's readiness probe fails (or passes again); the emulated kubelet reports it."""
    value = "true" if failing else "false"
    cluster.store.edit(
        PODS,
        "orders",
        name,
        lambda pod: (
            pod["metadata"].setdefault("annotations", {}).update({FAILING_READINESS: value})
        ),
    )
    wait_for(lambda: is_ready(cluster.store.get(PODS, "orders", name)) is not failing)


def test_workload_ready_reads_pods_and_counts_restarts_since_the_fault(
    provider: KubernetesProvider, kube_cluster: KubeCluster
) -> None:
    from datetime import UTC, datetime, timedelta

    handler = provider.probe_handler("workload-ready")
    assert handler is not None
    intent = WorkloadReadyProbe.model_validate(
        {
            "type": "workload-ready",
            "namespace": "orders",
            "workloads": ["orders-api"],
            "maxRestartsSinceFault": 1,
        }
    )
    pods = sorted(p["metadata"]["name"] for p in kube_cluster.store.list(PODS, "orders"))
    crashing, stuck, _ = pods
    kubelet_reports(kube_cluster, crashing, restarts=4)  # restarts before the fault

    before = handler.measure(intent, ProbeContext())
    assert before.ok, before.summary
    (seen,) = before.values["workloads"]
    assert (seen["pods"], seen["podsReady"]) == (3, 3) and "restartsSinceFault" not in seen

    fault_at = datetime.now(UTC)
    kubelet_reports(kube_cluster, crashing, restarts=6)  # two more after it
    readiness_fails(kube_cluster, stuck, True)
    after = handler.measure(intent, ProbeContext(fault_started_at=fault_at))

    assert not after.ok
    (seen,) = after.values["workloads"]
    assert (seen["pods"], seen["podsReady"], seen["restartsSinceFault"]) == (3, 2, 2)
    assert "`orders-api` has 2/3 replicas ready" in after.summary
    assert f"pods not Ready: {stuck}" in after.summary
    assert "restarted 2 times since the fault, above maxRestartsSinceFault 1" in after.summary

    # A source that never saw the pods before the fault (a new `drill` process after a
    # crash, say) counts what Kubernetes still shows: containers last terminated after it.
    fresh = KubernetesProvider("emulated", provider.target)
    later = (fault_at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    kubelet_reports(kube_cluster, crashing, restarts=6, finished=later)
    readiness_fails(kube_cluster, stuck, False)
    fresh_handler = fresh.probe_handler("workload-ready")
    assert fresh_handler is not None
    try:
        lower_bound = fresh_handler.measure(intent, ProbeContext(fault_started_at=fault_at))
    finally:
        fresh.close()
    assert lower_bound.ok, lower_bound.summary
    assert lower_bound.values["workloads"][0]["restartsSinceFault"] == 1
    assert "(1 restarts since the fault)" in lower_bound.summary
