"""The miniature Velero: backups, schedules and restores processed through the API objects."""

from __future__ import annotations

from typing import Any

from kubernetes.client import AppsV1Api, CoreV1Api, CustomObjectsApi

from tests.support.kube.catalogue import BACKUPS, NAMESPACES, PODS, RESTORES, SECRETS
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.velero import VeleroSettings

VELERO = ("velero.io", "v1", "velero")


def create(client: Any, plural: str, body: dict) -> dict:
    return CustomObjectsApi(client).create_namespaced_custom_object(*VELERO, plural, body)  # type: ignore[no-any-return]


def phase_of(
    kube: KubeCluster,
    kind: Any,
    name: str,
    *,
    done: tuple[str, ...] = ("Completed", "PartiallyFailed", "Failed", "FailedValidation"),
) -> dict:
    return wait_for(
        lambda: (
            (o := kube.store.get(kind, "velero", name)).get("status", {}).get("phase") in done and o
        )
    )  # type: ignore[return-value]


def restore_body(name: str, **spec: Any) -> dict:
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_a_backup_goes_in_progress_then_completed_with_its_timestamps(
    kube_cluster: KubeCluster,
) -> None:
    kube = kube_cluster
    create(
        kube.client(),
        "backups",
        {
            "apiVersion": "velero.io/v1",
            "kind": "Backup",
            "metadata": {"name": "manual-1"},
            "spec": {"includedNamespaces": ["orders"], "ttl": "24h0m0s"},
        },
    )

    backup = phase_of(kube, BACKUPS, "manual-1")

    status = backup["status"]
    assert status["phase"] == "Completed"
    assert status["startTimestamp"] <= status["completionTimestamp"] < status["expiration"]
    assert status["progress"]["itemsBackedUp"] == status["progress"]["totalItems"] > 3


def test_a_schedule_makes_backups_labelled_with_its_name(kube_cluster: KubeCluster) -> None:
    kube = kube_cluster
    controllers = kube._controllers[0]

    made = controllers.velero.run_schedule("orders-hourly")
    backup = phase_of(kube, BACKUPS, made)

    assert made.startswith("orders-hourly-")
    assert backup["metadata"]["labels"]["velero.io/schedule-name"] == "orders-hourly"
    assert backup["spec"]["includedNamespaces"] == ["orders"]


def test_a_schedule_with_an_interval_backs_up_by_itself(kube: KubeCluster) -> None:
    kube.seed()
    kube.run_controllers(velero=VeleroSettings(schedule_every=0.2))

    wait_for(
        lambda: (
            len(kube.store.list(BACKUPS, "velero", labels="velero.io/schedule-name=orders-hourly"))
            >= 2
        )
    )


def test_a_lost_namespace_comes_back_from_the_newest_backup_of_a_schedule(
    kube_cluster: KubeCluster,
) -> None:
    kube = kube_cluster
    client = kube.client()
    core = CoreV1Api(client)
    core.delete_namespace("orders")
    assert kube.store.find(NAMESPACES, "", "orders") is None

    create(client, "restores", restore_body("orders-restore", scheduleName="orders-hourly"))
    restore = phase_of(kube, RESTORES, "orders-restore")

    assert restore["status"]["phase"] == "Completed" and restore["status"]["errors"] == 0
    assert restore["spec"]["backupName"] == kube.seeded.backup  # type: ignore[union-attr]
    secret = kube.store.get(SECRETS, "orders", "orders-db")
    assert secret["metadata"]["labels"]["velero.io/restore-name"] == "orders-restore"
    wait_for(
        lambda: (
            AppsV1Api(client)
            .read_namespaced_deployment("orders-api", "orders")
            .status.ready_replicas
            == 3
        )
    )
    assert len(kube.store.list(PODS, "orders", labels="app=orders-api")) == 3


def test_a_restore_over_existing_objects_skips_them_with_warnings(
    kube_cluster: KubeCluster,
) -> None:
    kube = kube_cluster
    create(kube.client(), "restores", restore_body("in-place", backupName=kube.seeded.backup))  # type: ignore[union-attr]

    restore = phase_of(kube, RESTORES, "in-place")

    assert restore["status"]["phase"] == "Completed" and restore["status"]["warnings"] > 0


def test_a_restore_can_be_made_to_fail_or_partly_fail(kube: KubeCluster) -> None:
    seeded = kube.seed()
    settings = VeleroSettings(restore_phase="PartiallyFailed", restore_errors=2)
    kube.run_controllers(velero=settings)
    client = kube.client()

    create(client, "restores", restore_body("partial", backupName=seeded.backup))
    partial = phase_of(kube, RESTORES, "partial")
    settings.restore_phase = "Failed"
    create(client, "restores", restore_body("failed", backupName=seeded.backup))
    failed = phase_of(kube, RESTORES, "failed")

    assert (partial["status"]["phase"], partial["status"]["errors"]) == ("PartiallyFailed", 2)
    assert failed["status"]["phase"] == "Failed" and failed["status"]["failureReason"]


def test_a_restore_of_a_missing_backup_fails_validation(kube_cluster: KubeCluster) -> None:
    kube = kube_cluster
    create(kube.client(), "restores", restore_body("nothing", backupName="no-such-backup"))

    restore = phase_of(kube, RESTORES, "nothing")

    assert restore["status"]["phase"] == "FailedValidation"
    assert restore["status"]["validationErrors"] == [
        'Error retrieving backup: backups.velero.io "no-such-backup" not found'
    ]


def test_an_update_policy_restore_overwrites_what_drifted_and_logs_it(
    kube_cluster: KubeCluster,
) -> None:
    kube = kube_cluster
    kube.store.edit(
        SECRETS, "orders", "orders-db", lambda s: s.update(data={"password": "ZHJpZnQ="})
    )
    body = restore_body("update", backupName=kube.seeded.backup, existingResourcePolicy="update")  # type: ignore[union-attr]
    create(kube.client(), "restores", body)

    restore = phase_of(kube, RESTORES, "update")

    assert kube.store.get(SECRETS, "orders", "orders-db")["data"]["password"] != "ZHJpZnQ="
    assert any("secrets orders/orders-db updated" in line for line in restore["status"]["logs"])
    assert (
        restore["status"]["logs"][-1].startswith('time="')
        and "restore completed" in restore["status"]["logs"][-1]
    )
