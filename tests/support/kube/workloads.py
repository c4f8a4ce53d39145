"""The workload controllers, scheduler, kubelet and taint manager, in one level-triggered loop.

Deployments get a ReplicaSet per template (``NAME-HASH``, ``pod-template-hash``
label, revision annotation, older ones scaled to 0); ReplicaSets and
StatefulSets keep ``spec.replicas`` pods (``RS-xxxxx`` and stable ``STS-N``
names, owner references, the template's labels and volumes); unbound pods are
scheduled on nodes that are Ready, not cordoned and without an untolerated
``NoSchedule``/``NoExecute`` taint, spread over zones; a bound pod starts
(Running, Ready) after ``start_seconds``; pods on a node tainted ``NoExecute``
are deleted (after ``tolerationSeconds`` when tolerated for a while); a pod
that disappeared is replaced after ``recreate_seconds``; workload status
(replicas, readyReplicas, availableReplicas, observedGeneration, conditions)
follows. Every change goes through the store, so it has a resourceVersion and
a watch event, as a real controller's writes do.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.kube.catalogue import DEPLOYMENTS, NODES, PODS, REPLICASETS, STATEFULSETS
from tests.support.kube.errors import ApiError, JsonObject
from tests.support.kube.resources import ResourceType
from tests.support.kube.scheduling import (
    choose_node,
    is_ready,
    ready,
    running_status,
    scheduled_status,
    tolerates,
    unschedulable_status,
)
from tests.support.kube.store import ResourceStore, now_text

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
FAILING_READINESS = "emulator.drillkit.io/readiness-failing"
"""A pod annotated ``"true"`` plays one whose readiness probe fails: the emulated kubelet
reports it Running but not Ready even on a Ready node."""
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class WorkloadTiming:
    start_seconds: float = 0.05
    """From bound to a node until Running and Ready."""
    recreate_seconds: float = 0.0
    """From a pod's disappearance until its replacement is created."""


def template_hash(template: JsonObject) -> str:
    """A stable, ``pod-template-hash``-shaped digest of a pod template."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        number, at = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[at])
    return "".join(chars)


def _owner(kind: ResourceType, obj: JsonObject) -> JsonObject:
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: JsonObject) -> str | None:
    refs = obj["metadata"].get("ownerReferences") or []
    found = next((r for r in refs if r.get("controller")), None)
    return None if found is None else str(found.get("uid"))


def replicaset_for(deployment: JsonObject, revision: int) -> JsonObject:
    """The ReplicaSet a Deployment controller creates for the Deployment's current template."""
    spec = deployment["spec"]
    template = copy.deepcopy(spec["template"])
    hashed = template_hash(spec["template"])
    labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": hashed}
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = hashed
    return {
        "metadata": {
            "name": f"{deployment['metadata']['name']}-{hashed}",
            "namespace": deployment["metadata"]["namespace"],
            "labels": labels,
            "annotations": {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1) + 1),
            },
            "ownerReferences": [_owner(DEPLOYMENTS, deployment)],
        },
        "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
    }


def pod_for(kind: ResourceType, owner: JsonObject, *, name: str | None = None) -> JsonObject:
    """A new pod from ``owner``'s template (``generateName`` unless ``name`` is given)."""
    template = copy.deepcopy(owner["spec"]["template"])
    meta = template.get("metadata") or {}
    metadata: JsonObject = {
        "namespace": owner["metadata"]["namespace"],
        "labels": dict(meta.get("labels") or {}),
        "ownerReferences": [_owner(kind, owner)],
    }
    if meta.get("annotations"):
        metadata["annotations"] = dict(meta["annotations"])
    spec = template.get("spec") or {}
    if name is None:
        metadata["generateName"] = owner["metadata"]["name"] + "-"
    else:
        metadata["name"] = name
        index = name.rpartition("-")[2]
        metadata["labels"].update(
            {
                "statefulset.kubernetes.io/pod-name": name,
                "apps.kubernetes.io/pod-index": index,
                "controller-revision-hash": f"{owner['metadata']['name']}-{template_hash(owner['spec']['template'])}",
            }
        )
        spec = {**spec, "hostname": name}
        if owner["spec"].get("serviceName"):
            spec["subdomain"] = owner["spec"]["serviceName"]
    return {
        "metadata": metadata,
        "spec": spec,
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


class WorkloadController:
    """Plays the controller manager, scheduler and kubelets for every workload in ``store``."""

    def __init__(self, store: ResourceStore, timing: WorkloadTiming | None = None) -> None:
        self.store = store
        self.timing = timing or WorkloadTiming()
        self._bound_at: dict[str, float] = {}
        self._missing_since: dict[str, float] = {}
        self._most: dict[str, int] = {}
        self._tolerated_since: dict[tuple[str, str], float] = {}

    def due(self) -> bool:
        """Whether a timer is running (a pod waiting to start or to be replaced)."""
        return bool(self._missing_since or self._bound_at or self._tolerated_since)

    def reconcile(self) -> None:
        now = time.monotonic()
        nodes = self.store.list(NODES)
        self._evict_from_tainted_nodes(nodes, now)
        for deployment in self.store.list(DEPLOYMENTS):
            self._guarded(self._deployment, deployment)
        pods = self.store.list(PODS)
        by_owner: defaultdict[str, list[JsonObject]] = defaultdict(list)
        for pod in pods:
            uid = controller_uid(pod)
            if uid is not None:
                by_owner[uid].append(pod)
        for replicaset in self.store.list(REPLICASETS):
            self._guarded(self._replicaset, replicaset, by_owner, now)
        for statefulset in self.store.list(STATEFULSETS):
            self._guarded(self._statefulset, statefulset, by_owner, now)
        pods = self.store.list(PODS)
        self._schedule(nodes, pods)
        self._run_kubelets(nodes, pods, now)
        self._write_statuses()

    @staticmethod
    def _guarded(step: Callable[..., object], *arguments: object) -> None:
        with contextlib.suppress(ApiError):  # a concurrent write or delete: the next pass sees it
            step(*arguments)

    # -- deployments -----------------------------------------------------------------------

    def _deployment(self, deployment: JsonObject) -> None:
        namespace = deployment["metadata"]["namespace"]
        uid = deployment["metadata"]["uid"]
        owned = [rs for rs in self.store.list(REPLICASETS, namespace) if controller_uid(rs) == uid]
        hashed = template_hash(deployment["spec"]["template"])
        current = next(
            (rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == hashed),
            None,
        )
        replicas = deployment["spec"].get("replicas", 1)
        if current is None:
            revision = 1 + max(
                (int(rs["metadata"].get("annotations", {}).get(REVISION, 0)) for rs in owned),
                default=0,
            )
            current = self.store.create(
                REPLICASETS, namespace, replicaset_for(deployment, revision)
            )
            self._annotate(deployment, revision)
        elif current["spec"].get("replicas") != replicas:
            self._set_replicas(current, replicas)
        for old in owned:
            if old["metadata"]["uid"] != current["metadata"]["uid"] and old["spec"].get("replicas"):
                self._set_replicas(old, 0)

    def _annotate(self, deployment: JsonObject, revision: int) -> None:
        def change(obj: JsonObject) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = str(revision)

        self.store.update(
            DEPLOYMENTS, deployment["metadata"]["namespace"], deployment["metadata"]["name"], change
        )

    def _set_replicas(self, replicaset: JsonObject, replicas: int) -> None:
        def change(obj: JsonObject) -> None:
            obj["spec"]["replicas"] = replicas

        meta = replicaset["metadata"]
        self.store.update(REPLICASETS, meta["namespace"], meta["name"], change)

    # -- replica sets and stateful sets ----------------------------------------------------

    def _shortfall_ready(self, key: str, have: int, want: int, now: float) -> bool:
        """Whether missing pods may be created now (a replacement waits ``recreate_seconds``)."""
        most = self._most.get(key, 0)
        self._most[key] = max(most, min(have, want))
        if have >= want:
            self._missing_since.pop(key, None)
            return False
        if most <= have:  # scaling up or starting: no replacement delay
            return True
        since = self._missing_since.setdefault(key, now)
        if now - since < self.timing.recreate_seconds:
            return False
        self._missing_since.pop(key, None)
        self._most[key] = have
        return True

    def _replicaset(
        self, replicaset: JsonObject, by_owner: dict[str, list[JsonObject]], now: float
    ) -> None:
        uid, namespace = replicaset["metadata"]["uid"], replicaset["metadata"]["namespace"]
        pods = [p for p in by_owner.get(uid, []) if not p["metadata"].get("deletionTimestamp")]
        want = replicaset["spec"].get("replicas", 1)
        if self._shortfall_ready(uid, len(pods), want, now):
            for _ in range(want - len(pods)):
                self.store.create(PODS, namespace, pod_for(REPLICASETS, replicaset))
        for extra in _victims(pods, len(pods) - want):
            self.store.delete(PODS, namespace, extra["metadata"]["name"])

    def _statefulset(
        self, statefulset: JsonObject, by_owner: dict[str, list[JsonObject]], now: float
    ) -> None:
        uid, namespace = statefulset["metadata"]["uid"], statefulset["metadata"]["namespace"]
        name = statefulset["metadata"]["name"]
        want = statefulset["spec"].get("replicas", 1)
        have = {p["metadata"]["name"]: p for p in by_owner.get(uid, [])}
        wanted = [f"{name}-{i}" for i in range(want)]
        missing = [n for n in wanted if n not in have]
        if self._shortfall_ready(uid, want - len(missing), want, now):
            for pod_name in missing:
                if self.store.entry(PODS, namespace, pod_name) is None:
                    self.store.create(
                        PODS, namespace, pod_for(STATEFULSETS, statefulset, name=pod_name)
                    )
        for pod_name in sorted(set(have) - set(wanted), reverse=True):
            self.store.delete(PODS, namespace, pod_name)

    # -- scheduler, kubelet, taint manager -------------------------------------------------

    def _schedule(self, nodes: list[JsonObject], pods: list[JsonObject]) -> None:
        placed = [p for p in pods if (p.get("spec") or {}).get("nodeName")]
        for pod in pods:
            spec, status = pod.get("spec") or {}, pod.get("status") or {}
            if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                continue
            if status.get("phase", "Pending") != "Pending":
                continue
            node, why = choose_node(pod, nodes, placed)
            at = now_text()
            meta = pod["metadata"]
            if node is None:
                conditions = status.get("conditions") or []
                if any(c.get("message") == why for c in conditions):
                    continue
                self._guarded(
                    self.store.update,
                    PODS,
                    meta["namespace"],
                    meta["name"],
                    _setter(status=unschedulable_status(why, at)),
                )
                continue
            bound = node["metadata"]["name"]
            self._guarded(
                self.store.update,
                PODS,
                meta["namespace"],
                meta["name"],
                _setter(spec={**spec, "nodeName": bound}, status=scheduled_status(pod, at)),
            )
            placed.append({**pod, "spec": {**spec, "nodeName": bound}})

    def _run_kubelets(self, nodes: list[JsonObject], pods: list[JsonObject], now: float) -> None:
        by_name = {n["metadata"]["name"]: n for n in nodes}
        live = set()
        for pod in pods:
            meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
            where = spec.get("nodeName")
            if not where:
                continue
            node = by_name.get(where)
            if node is None:  # the pod garbage collector removes pods bound to deleted nodes
                self._guarded(self.store.delete, PODS, meta["namespace"], meta["name"])
                continue
            uid = meta["uid"]
            phase = status.get("phase", "Pending")
            if phase == "Pending":
                live.add(uid)
                bound = self._bound_at.setdefault(uid, now)
                if ready(node) and now - bound >= self.timing.start_seconds:
                    self._guarded(
                        self.store.update,
                        PODS,
                        meta["namespace"],
                        meta["name"],
                        _setter(
                            status=running_status(
                                pod, node, now_text(), is_ready=_should_be_ready(pod, node)
                            )
                        ),
                    )
            elif phase == "Running" and is_ready(pod) != (should := _should_be_ready(pod, node)):
                restarts = sum(
                    c.get("restartCount", 0) for c in status.get("containerStatuses") or []
                )
                fresh = running_status(pod, node, now_text(), is_ready=should, restarts=restarts)
                fresh["startTime"] = status.get("startTime", fresh["startTime"])
                self._guarded(
                    self.store.update, PODS, meta["namespace"], meta["name"], _setter(status=fresh)
                )
        self._bound_at = {k: v for k, v in self._bound_at.items() if k in live}

    def _evict_from_tainted_nodes(self, nodes: list[JsonObject], now: float) -> None:
        kept: dict[tuple[str, str], float] = {}
        for node in nodes:
            taints = [
                t
                for t in (node.get("spec") or {}).get("taints") or []
                if t.get("effect") == "NoExecute"
            ]
            if not taints:
                continue
            name = node["metadata"]["name"]
            for pod in self.store.list(PODS, fields=f"spec.nodeName={name}"):
                tolerations = (pod.get("spec") or {}).get("tolerations") or []
                deadline = 0.0
                for taint in taints:
                    matching = [t for t in tolerations if tolerates([t], taint)]
                    if not matching:
                        deadline = -1.0
                        break
                    limits = [
                        t["tolerationSeconds"]
                        for t in matching
                        if t.get("tolerationSeconds") is not None
                    ]
                    if len(limits) == len(matching):
                        deadline = max(deadline, float(min(limits)))
                meta = pod["metadata"]
                if deadline == 0.0:
                    continue
                key = (meta["uid"], name)
                since = self._tolerated_since.get(key, now)
                if deadline < 0 or now - since >= deadline:
                    self._guarded(self.store.delete, PODS, meta["namespace"], meta["name"])
                else:
                    kept[key] = since
        self._tolerated_since = kept

    # -- status ----------------------------------------------------------------------------

    def _write_statuses(self) -> None:
        pods_by_owner: defaultdict[str, list[JsonObject]] = defaultdict(list)
        for pod in self.store.list(PODS):
            uid = controller_uid(pod)
            if uid is not None and not pod["metadata"].get("deletionTimestamp"):
                pods_by_owner[uid].append(pod)
        rs_by_owner: defaultdict[str, list[JsonObject]] = defaultdict(list)
        for replicaset in self.store.list(REPLICASETS):
            status = _replica_status(replicaset, pods_by_owner[replicaset["metadata"]["uid"]])
            status["fullyLabeledReplicas"] = status["replicas"]
            written = self._set_status(REPLICASETS, replicaset, status)
            uid = controller_uid(replicaset)
            if uid is not None:
                rs_by_owner[uid].append(written)
        for statefulset in self.store.list(STATEFULSETS):
            status = _replica_status(statefulset, pods_by_owner[statefulset["metadata"]["uid"]])
            revision = f"{statefulset['metadata']['name']}-{template_hash(statefulset['spec']['template'])}"
            status.update(
                currentReplicas=status["replicas"],
                updatedReplicas=status["replicas"],
                currentRevision=revision,
                updateRevision=revision,
                collisionCount=0,
            )
            self._set_status(STATEFULSETS, statefulset, status)
        for deployment in self.store.list(DEPLOYMENTS):
            self._set_status(
                DEPLOYMENTS,
                deployment,
                _deployment_status(deployment, rs_by_owner[deployment["metadata"]["uid"]]),
            )

    def _set_status(self, kind: ResourceType, obj: JsonObject, status: JsonObject) -> JsonObject:
        old = obj.get("status") or {}
        for condition in status.get("conditions") or []:
            before = next(
                (c for c in old.get("conditions") or [] if c.get("type") == condition["type"]), None
            )
            if before is not None and before.get("status") == condition["status"]:
                condition["lastTransitionTime"] = before.get("lastTransitionTime")
                if "lastUpdateTime" in condition and "lastUpdateTime" in before:
                    condition["lastUpdateTime"] = before["lastUpdateTime"]
        if status == old:
            return obj
        meta = obj["metadata"]
        try:
            return self.store.update(kind, meta["namespace"], meta["name"], _setter(status=status))
        except ApiError:
            return obj


def _setter(**parts: Any) -> Any:
    def change(obj: JsonObject) -> None:
        obj.update(copy.deepcopy(parts))

    return change


def _victims(pods: list[JsonObject], count: int) -> list[JsonObject]:
    """The pods a scale-down removes first: unscheduled, then not ready, then the newest."""
    if count <= 0:
        return []
    ranked = sorted(
        pods,
        key=lambda p: (
            bool((p.get("spec") or {}).get("nodeName")),
            is_ready(p),
            _negated(p["metadata"].get("creationTimestamp") or ""),
            p["metadata"]["name"],
        ),
    )
    return ranked[:count]


def _negated(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def _replica_status(owner: JsonObject, pods: list[JsonObject]) -> JsonObject:
    ready_count = sum(1 for p in pods if is_ready(p))
    status = {"observedGeneration": owner["metadata"].get("generation", 1), "replicas": len(pods)}
    if ready_count:  # omitempty, as the API types serialise them
        status.update(readyReplicas=ready_count, availableReplicas=ready_count)
    return status


def _deployment_status(deployment: JsonObject, replicasets: list[JsonObject]) -> JsonObject:
    spec = deployment["spec"]
    want = spec.get("replicas", 1)
    hashed = template_hash(spec["template"])
    current = [
        rs for rs in replicasets if rs["metadata"]["labels"].get("pod-template-hash") == hashed
    ]

    def total(field: str, chosen: list[JsonObject]) -> int:
        return sum((rs.get("status") or {}).get(field, 0) for rs in chosen)

    available = total("availableReplicas", replicasets)
    surge = (spec.get("strategy") or {}).get("rollingUpdate", {}).get("maxUnavailable", "25%")
    allowed = (
        int(want * int(surge[:-1]) / 100)
        if isinstance(surge, str) and surge.endswith("%")
        else int(surge)
    )
    at = now_text()
    has_minimum = available >= want - allowed
    name = current[0]["metadata"]["name"] if current else ""
    status: JsonObject = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": total("replicas", replicasets),
        "updatedReplicas": total("replicas", current),
        "readyReplicas": total("readyReplicas", replicasets),
        "availableReplicas": available,
        "conditions": [
            {
                "type": "Available",
                "status": "True" if has_minimum else "False",
                "lastUpdateTime": at,
                "lastTransitionTime": at,
                "reason": "MinimumReplicasAvailable"
                if has_minimum
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if has_minimum
                else "Deployment does not have minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": at,
                "lastTransitionTime": at,
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{name}" has successfully progressed.',
            },
        ],
    }
    if want - available > 0:
        status["unavailableReplicas"] = want - available
    for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
        if not status[key]:
            del status[key]
    return status


def _should_be_ready(pod: JsonObject, node: JsonObject) -> bool:
    """Ready when its node is, unless the pod plays a failing readiness probe."""
    annotations = pod["metadata"].get("annotations") or {}
    return ready(node) and annotations.get(FAILING_READINESS) != "true"
