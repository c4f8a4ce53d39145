"""Seeding helpers: a realistic small cluster in one call, and the pieces it is made of.

``seed_cluster`` builds what a drill meets on a production cluster: nodes
over zones ``a``/``b``/``c`` of a region (zone and region labels, provider
IDs, Ready), namespace ``orders`` with Deployment ``orders-api`` (3 Running,
Ready pods spread over zones, owned through a ReplicaSet, with volumes), its
Service and a PodDisruptionBudget (``minAvailable: 2``), Secret ``orders-db``
with an ExternalSecret that synced it, and Velero in ``velero``: a default
BackupStorageLocation, Schedule ``orders-hourly`` and one Completed backup of
``orders`` whose snapshot is restorable. Workloads are settled by running the
real workload controller to a fixed point, so seeded pods are exactly what
the controller would have made. Every piece is also a function of its own.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.kube.catalogue import (
    BACKUP_STORAGE_LOCATIONS,
    BACKUPS,
    CLUSTER_SECRET_STORES,
    CONFIGMAPS,
    DEPLOYMENTS,
    EXTERNAL_SECRETS,
    NAMESPACES,
    NODES,
    PDBS,
    SCHEDULES,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STATEFULSETS,
)
from tests.support.kube.errors import JsonObject
from tests.support.kube.scheduling import REGION_LABEL, ZONE_LABEL
from tests.support.kube.store import ResourceStore
from tests.support.kube.velero import SCHEDULE_LABEL, STORAGE_LABEL, BackupStorage, take_snapshot
from tests.support.kube.workloads import WorkloadController, WorkloadTiming

KUBELET_VERSION = "v1.31.4-eks-aeac579"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_namespace(
    store: ResourceStore, name: str, labels: dict[str, str] | None = None
) -> JsonObject:
    """A namespace with its ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap."""
    namespace = store.create(
        NAMESPACES, "", {"metadata": {"name": name, "labels": dict(labels or {})}}
    )
    store.create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}})
    store.create(
        CONFIGMAPS,
        name,
        {
            "metadata": {"name": "kube-root-ca.crt"},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n...\n"},
        },
    )
    return namespace


def node_object(name: str, zone: str, region: str, index: int, *, ready: bool = True) -> JsonObject:
    """A Node as an EKS kubelet registers it: labels, provider ID, addresses, conditions."""
    instance = "i-0" + hashlib.sha256(name.encode()).hexdigest()[:16]
    address = f"10.0.{(index // 250) % 250}.{10 + index % 240}"
    at = _stamp(datetime.now(UTC))
    conditions = [
        {
            "type": kind,
            "status": "False",
            "reason": f"KubeletHas{reason}",
            "lastHeartbeatTime": at,
            "lastTransitionTime": at,
            "message": message,
        }
        for kind, reason, message in (
            ("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"),
        )
    ] + [
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "lastHeartbeatTime": at,
            "lastTransitionTime": at,
            "message": "kubelet is posting ready status"
            if ready
            else "kubelet stopped posting node status.",
        }
    ]
    return {
        "metadata": {
            "name": name,
            "labels": {
                ZONE_LABEL: zone,
                REGION_LABEL: region,
                "failure-domain.beta.kubernetes.io/zone": zone,
                "failure-domain.beta.kubernetes.io/region": region,
                "node.kubernetes.io/instance-type": "m5.large",
                "eks.amazonaws.com/nodegroup": f"workers-{zone}",
            },
        },
        "spec": {"providerID": f"aws:///{zone}/{instance}"},
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "2", "memory": "7934472Ki", "pods": "29"},
            "allocatable": {"cpu": "1930m", "memory": "7244296Ki", "pods": "29"},
            "nodeInfo": {
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "osImage": "Amazon Linux 2023.6.20241212",
                "kernelVersion": "6.1.119-129.201.amzn2023.x86_64",
                "containerRuntimeVersion": "containerd://1.7.23",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/boot")),
                "machineID": hashlib.md5(name.encode()).hexdigest(),
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)).upper(),
            },
        },
    }


def add_nodes(
    store: ResourceStore,
    *,
    zones: Sequence[str] = ("a", "b", "c"),
    per_zone: int = 1,
    region: str = "us-east-1",
    prefix: str = "node",
) -> list[str]:
    """``per_zone`` Ready nodes in each zone (``{region}{zone}``), named ``node-a-1``..."""
    names: list[str] = []
    for number in range(1, per_zone + 1):
        for zone in zones:
            name = f"{prefix}-{zone}-{number}"
            store.create(NODES, "", node_object(name, f"{region}{zone}", region, len(names)))
            names.append(name)
    return sorted(names)


def deployment_object(
    name: str, *, replicas: int = 3, labels: dict[str, str] | None = None, image: str = "nginx:1.27"
) -> JsonObject:
    """A Deployment whose pods mount a ConfigMap and an emptyDir, as most services do."""
    selected = labels or {"app": name}
    return {
        "metadata": {"name": name, "labels": dict(selected)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selected)},
            "template": {
                "metadata": {"labels": dict(selected)},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
                },
            },
        },
    }


def settle_workloads(store: ResourceStore, passes: int = 10) -> None:
    """Run the workload controller (no delays) until a pass changes nothing."""
    controller = WorkloadController(store, WorkloadTiming(start_seconds=0.0))
    for _ in range(passes):
        before = store.revision
        controller.reconcile()
        if store.revision == before:
            return


def add_deployment(
    store: ResourceStore,
    namespace: str,
    name: str,
    *,
    replicas: int = 3,
    labels: dict[str, str] | None = None,
    settle: bool = True,
) -> JsonObject:
    """A Deployment and its ConfigMap; with ``settle``, its ReplicaSet and Running pods too."""
    store.create(
        CONFIGMAPS,
        namespace,
        {"metadata": {"name": f"{name}-config"}, "data": {"LOG_LEVEL": "info"}},
    )
    store.create(DEPLOYMENTS, namespace, deployment_object(name, replicas=replicas, labels=labels))
    if settle:
        settle_workloads(store)
    return store.get(DEPLOYMENTS, namespace, name)


def add_statefulset(
    store: ResourceStore, namespace: str, name: str, *, replicas: int = 3, settle: bool = True
) -> JsonObject:
    body = deployment_object(name, replicas=replicas)
    body["spec"]["serviceName"] = name
    store.create(STATEFULSETS, namespace, body)
    if settle:
        settle_workloads(store)
    return store.get(STATEFULSETS, namespace, name)


def add_pdb(
    store: ResourceStore,
    namespace: str,
    name: str,
    labels: dict[str, str],
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> JsonObject:
    spec: JsonObject = {"selector": {"matchLabels": dict(labels)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return store.create(PDBS, namespace, {"metadata": {"name": name}, "spec": spec})


def add_secret(store: ResourceStore, namespace: str, name: str, data: dict[str, str]) -> JsonObject:
    import base64

    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return store.create(
        SECRETS, namespace, {"metadata": {"name": name}, "type": "Opaque", "data": encoded}
    )


def add_external_secret(
    store: ResourceStore,
    namespace: str,
    name: str,
    *,
    target: str,
    ready: bool = True,
    store_name: str = "aws-secrets-manager",
) -> JsonObject:
    """An ExternalSecret as External Secrets Operator leaves it after a sync (or a failed one)."""
    if store.entry(CLUSTER_SECRET_STORES, "", store_name) is None:
        store.create(
            CLUSTER_SECRET_STORES,
            "",
            {
                "metadata": {"name": store_name},
                "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}},
                "status": {
                    "capabilities": "ReadWrite",
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "Valid",
                            "message": "store validated",
                            "lastTransitionTime": _stamp(datetime.now(UTC)),
                        }
                    ],
                },
            },
        )
    at = _stamp(datetime.now(UTC))
    condition = (
        {"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret synced"}
        if ready
        else {
            "type": "Ready",
            "status": "False",
            "reason": "SecretSyncedError",
            "message": "could not get secret data from provider",
        }
    )
    return store.create(
        EXTERNAL_SECRETS,
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": store_name, "kind": "ClusterSecretStore"},
                "target": {"name": target, "creationPolicy": "Owner"},
                "data": [
                    {
                        "secretKey": "password",
                        "remoteRef": {"key": f"prod/{namespace}/{target}", "property": "password"},
                    }
                ],
            },
            "status": {
                "conditions": [{**condition, "lastTransitionTime": at}],
                "refreshTime": at,
                "binding": {"name": target},
                "syncedResourceVersion": "1-" + hashlib.md5(name.encode()).hexdigest(),
            },
        },
    )


def add_velero(store: ResourceStore, namespace: str = "velero") -> None:
    """Velero's namespace and an Available default BackupStorageLocation."""
    if store.entry(NAMESPACES, "", namespace) is None:
        add_namespace(store, namespace)
    store.create(
        BACKUP_STORAGE_LOCATIONS,
        namespace,
        {
            "metadata": {"name": "default"},
            "spec": {
                "provider": "aws",
                "default": True,
                "objectStorage": {"bucket": "drillkit-velero-backups"},
                "config": {"region": "us-east-1"},
            },
            "status": {"phase": "Available", "lastValidationTime": _stamp(datetime.now(UTC))},
        },
    )


def add_schedule(
    store: ResourceStore,
    name: str,
    namespaces: Sequence[str],
    *,
    cron: str = "0 * * * *",
    ttl: str = "720h0m0s",
    velero_namespace: str = "velero",
) -> JsonObject:
    return store.create(
        SCHEDULES,
        velero_namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "schedule": cron,
                "template": {
                    "includedNamespaces": list(namespaces),
                    "ttl": ttl,
                    "storageLocation": "default",
                },
            },
            "status": {"phase": "Enabled"},
        },
    )


def add_completed_backup(
    store: ResourceStore,
    name: str,
    namespaces: Sequence[str],
    *,
    schedule: str | None = None,
    completed_ago: timedelta = timedelta(minutes=20),
    phase: str = "Completed",
    velero_namespace: str = "velero",
) -> JsonObject:
    """A finished Backup with a restorable snapshot of ``namespaces`` as they are now."""
    done = datetime.now(UTC) - completed_ago
    started = done - timedelta(seconds=42)
    labels = {STORAGE_LABEL: "default"}
    if schedule:
        labels[SCHEDULE_LABEL] = schedule
    snapshot = take_snapshot(store, name, list(namespaces), [])
    BackupStorage.of(store).put(snapshot)
    backup = store.create(
        BACKUPS,
        velero_namespace,
        {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "includedNamespaces": list(namespaces),
                "ttl": "720h0m0s",
                "storageLocation": "default",
            },
            "status": {
                "phase": phase,
                "version": 1,
                "formatVersion": "1.1.0",
                "startTimestamp": _stamp(started),
                "completionTimestamp": _stamp(done),
                "expiration": _stamp(started + timedelta(days=30)),
                "progress": {
                    "totalItems": snapshot.total_items,
                    "itemsBackedUp": snapshot.total_items,
                },
            },
        },
    )
    if schedule:
        store.edit(
            SCHEDULES,
            velero_namespace,
            schedule,
            lambda s: s.setdefault("status", {}).update(lastBackup=_stamp(done)),
        )
    return backup


@dataclass
class SeededCluster:
    """Names of what ``seed_cluster`` made, for assertions and drill definitions."""

    region: str
    zones: dict[str, list[str]]
    """Zone (``us-east-1a``) to node names."""
    nodes: list[str]
    namespace: str = "orders"
    deployment: str = "orders-api"
    labels: dict[str, str] = field(default_factory=lambda: {"app": "orders-api"})
    pdb: str = "orders-api"
    secret: str = "orders-db"
    external_secret: str = "orders-db"
    service: str = "orders-api"
    schedule: str = "orders-hourly"
    backup: str = ""
    velero_namespace: str = "velero"

    def pods(self, store: ResourceStore) -> list[JsonObject]:
        from tests.support.kube.catalogue import PODS

        return store.list(
            PODS, self.namespace, labels=",".join(f"{k}={v}" for k, v in self.labels.items())
        )


def seed_cluster(
    store: ResourceStore,
    *,
    region: str = "us-east-1",
    zones: Sequence[str] = ("a", "b", "c"),
    nodes_per_zone: int = 1,
    replicas: int = 3,
    backup_age: timedelta = timedelta(minutes=20),
    velero: bool = True,
) -> SeededCluster:
    """The realistic small cluster described in the module docstring."""
    nodes = add_nodes(store, zones=zones, per_zone=nodes_per_zone, region=region)
    seeded = SeededCluster(
        region=region,
        zones={f"{region}{z}": [n for n in nodes if n.startswith(f"node-{z}-")] for z in zones},
        nodes=nodes,
    )
    add_namespace(store, seeded.namespace, {"team": "orders"})
    add_deployment(
        store,
        seeded.namespace,
        seeded.deployment,
        replicas=replicas,
        labels=seeded.labels,
        settle=False,
    )
    store.create(
        SERVICES,
        seeded.namespace,
        {
            "metadata": {"name": seeded.service, "labels": dict(seeded.labels)},
            "spec": {
                "selector": dict(seeded.labels),
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        },
    )
    add_pdb(store, seeded.namespace, seeded.pdb, seeded.labels, min_available=max(1, replicas - 1))
    add_secret(
        store, seeded.namespace, seeded.secret, {"username": "orders", "password": "s3cr3t-orders"}
    )
    add_external_secret(store, seeded.namespace, seeded.external_secret, target=seeded.secret)
    settle_workloads(store)
    if velero:
        add_velero(store, seeded.velero_namespace)
        add_schedule(
            store, seeded.schedule, [seeded.namespace], velero_namespace=seeded.velero_namespace
        )
        done = datetime.now(UTC) - backup_age
        seeded.backup = f"{seeded.schedule}-{done.strftime('%Y%m%d%H%M%S')}"
        add_completed_backup(
            store,
            seeded.backup,
            [seeded.namespace],
            schedule=seeded.schedule,
            completed_ago=backup_age,
            velero_namespace=seeded.velero_namespace,
        )
    return seeded


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    token: str,
    user: str = "drill-operator",
    context: str = "emulator",
    cluster: str = "emulator",
    namespace: str | None = None,
) -> Path:
    """A kubeconfig with one context: ``cluster`` at ``server``, ``user`` with a bearer token."""
    import yaml

    entry: JsonObject = {"cluster": cluster, "user": user}
    if namespace:
        entry["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": entry}],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
