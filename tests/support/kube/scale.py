"""A large cluster in seconds: thousands of nodes, a hundred thousand pods, for scale checks.

``seed_scale`` builds the shape ``drill plan`` meets on a big cluster: nodes
spread over zones, namespaces of Deployments with a PDB each, every pod
Running and Ready on a node, owned through a ReplicaSet. Each Deployment's
first pod goes through ``create`` (defaulting, validation); its siblings are
that pod's JSON with name, uid, node and addresses substituted, loaded with
``ResourceStore.load``: the same bytes a controller would have produced, at
a fraction of the cost of encoding 100,000 objects one by one.
``python -m tests.support.kube`` serves such a cluster from a process of its
own, so a client's memory and time are measured alone.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.kube.catalogue import DEPLOYMENTS, NODES, PDBS, PODS, REPLICASETS
from tests.support.kube.cluster import add_namespace, deployment_object, node_object
from tests.support.kube.policy import DisruptionBudgets
from tests.support.kube.scheduling import node_ip, pod_ip, running_status
from tests.support.kube.selectors import field_values
from tests.support.kube.store import ResourceStore, now_text
from tests.support.kube.workloads import pod_for, replicaset_for

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class ScaleCluster:
    nodes: int
    pods: int
    namespaces: list[str]
    deployments: int
    zones: list[str]


def _suffix(seed: str) -> str:
    digest = hashlib.blake2b(seed.encode(), digest_size=5).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest)


def seed_scale(
    store: ResourceStore,
    *,
    nodes: int = 5000,
    pods: int = 100_000,
    replicas: int = 50,
    namespaces: int = 40,
    zones: Sequence[str] = ("a", "b", "c"),
    region: str = "us-east-1",
) -> ScaleCluster:
    """``nodes`` nodes over ``zones`` and ``pods`` pods in Deployments of ``replicas`` each."""
    placed: list[tuple[str, str]] = []
    for index in range(nodes):
        zone = zones[index % len(zones)]
        name = f"node-{zone}-{index // len(zones) + 1}"
        node = store.create(NODES, "", node_object(name, f"{region}{zone}", region, index))
        placed.append((name, node_ip(node)))
    spaces = [f"team-{i:03d}" for i in range(namespaces)]
    for space in spaces:
        add_namespace(store, space)
    made, deployments = 0, 0
    while made < pods:
        space = spaces[deployments % len(spaces)]
        count = min(replicas, pods - made)
        name = f"svc-{deployments:05d}"
        _deployment(
            store, space, name, count, [placed[(made + i) % len(placed)] for i in range(count)]
        )
        made += count
        deployments += 1
    DisruptionBudgets.of(store).refresh()  # now, not in the first seconds of serving
    return ScaleCluster(nodes, made, spaces, deployments, [f"{region}{z}" for z in zones])


def _deployment(
    store: ResourceStore, space: str, name: str, count: int, nodes: list[tuple[str, str]]
) -> None:
    deployment = store.create(DEPLOYMENTS, space, deployment_object(name, replicas=count))
    replicaset = store.create(REPLICASETS, space, replicaset_for(deployment, 1))
    store.create(
        PDBS,
        space,
        {
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "maxUnavailable": 1},
        },
    )
    first = pod_for(REPLICASETS, replicaset)
    first["metadata"].pop("generateName")
    first["metadata"]["name"] = f"{replicaset['metadata']['name']}-{_suffix(f'{name}/0')}"
    first["spec"]["nodeName"] = nodes[0][0]
    node = store.get(NODES, "", nodes[0][0])
    first["status"] = running_status(first, node, now_text())
    first = store.create(PODS, space, first)
    meta = first["metadata"]
    marks = {
        meta["name"]: "@@NAME@@",
        meta["uid"]: "@@UID@@",
        nodes[0][0]: "@@NODE@@",
        first["status"]["podIP"]: "@@IP@@",
        first["status"]["hostIP"]: "@@HOSTIP@@",
    }
    body = {k: v for k, v in first.items() if k not in ("apiVersion", "kind")}
    body["metadata"] = {**meta, "resourceVersion": "@@RV@@"}
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    for value, mark in marks.items():
        text = text.replace(f'"{value}"', f'"{mark}"')
    template = text.encode()
    labels, owners = dict(meta["labels"]), tuple(r["uid"] for r in meta["ownerReferences"])
    fields = field_values(first, PODS.field_labels)
    for number in range(1, count):
        node_name, host_ip = nodes[number]
        pod_name = f"{replicaset['metadata']['name']}-{_suffix(f'{name}/{number}')}"
        uid = str(uuid.uuid4())
        ip = pod_ip(uid)
        item = (
            template.replace(b"@@NAME@@", pod_name.encode())
            .replace(b"@@UID@@", uid.encode())
            .replace(b"@@NODE@@", node_name.encode())
            .replace(b"@@IP@@", ip.encode())
            .replace(b"@@HOSTIP@@", host_ip.encode())
        )
        store.load(
            PODS,
            space,
            pod_name,
            uid=uid,
            labels=labels,
            owners=owners,
            item=item,
            fields={**fields, "spec.nodeName": node_name, "status.podIP": ip},
        )
    status = {
        "observedGeneration": 1,
        "replicas": count,
        "readyReplicas": count,
        "availableReplicas": count,
    }
    store.edit(
        REPLICASETS,
        space,
        replicaset["metadata"]["name"],
        lambda rs: rs.update(status={**status, "fullyLabeledReplicas": count}),
    )
    store.edit(
        DEPLOYMENTS, space, name, lambda d: d.update(status={**status, "updatedReplicas": count})
    )


class EmulatorProcess:
    """``python -m tests.support.kube`` as a child process; a context manager for benchmarks."""

    def __init__(
        self, kubeconfig: Path, *, scale: bool = True, nodes: int = 5000, pods: int = 100_000
    ) -> None:
        self.kubeconfig = kubeconfig
        self.url = ""
        self._arguments = ["--kubeconfig", str(kubeconfig)]
        if scale:
            self._arguments += ["--scale", "--nodes", str(nodes), "--pods", str(pods)]
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorProcess:
        root = Path(__file__).resolve().parents[3]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.kube", *self._arguments],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("ready "):
            self._process.kill()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = line.split()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
