"""Where a pod may run and what a running pod looks like: the scheduler's and kubelet's rules.

Pure functions over objects, shared by the workload controller and the
seeding helpers so seeded pods look exactly like controller-made ones.
Taints and tolerations match as in ``k8s.io/api/core/v1`` (an empty
toleration key with ``Exists`` tolerates everything; an empty effect, every
effect); a cordoned node (``spec.unschedulable``) takes no new pods; a node
whose ``Ready`` condition is not ``True`` takes none either. Pods spread
over zones by owner, then over nodes, as topology spread would place them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from tests.support.kube.errors import JsonObject

ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def tolerates(tolerations: Iterable[JsonObject], taint: JsonObject) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
        if not key and operator == "Exists":
            return True
        if key != taint.get("key"):
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated(node: JsonObject, pod: JsonObject, effects: tuple[str, ...]) -> list[JsonObject]:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return [
        taint
        for taint in (node.get("spec") or {}).get("taints") or []
        if taint.get("effect") in effects and not tolerates(tolerations, taint)
    ]


def ready(node: JsonObject) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    found = next((c for c in conditions if c.get("type") == "Ready"), None)
    return found is None or found.get("status") == "True"


def zone_of(node: JsonObject) -> str:
    return str((node["metadata"].get("labels") or {}).get(ZONE_LABEL, ""))


def fits(node: JsonObject, pod: JsonObject) -> str | None:
    """``None`` when ``pod`` may be placed on ``node``, else the scheduler's reason."""
    spec = pod.get("spec") or {}
    if (node.get("spec") or {}).get("unschedulable") and not tolerates(
        spec.get("tolerations") or [], {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    ):
        return "node(s) were unschedulable"
    if not ready(node):
        return "node(s) were not ready"
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return "node(s) didn't match Pod's node affinity/selector"
    blocked = untolerated(node, pod, ("NoSchedule", "NoExecute"))
    if blocked:
        taint = blocked[0]
        value = f": {taint['value']}" if taint.get("value") else ""
        return f"node(s) had untolerated taint {{{taint.get('key')}{value}}}"
    return None


def owner_key(pod: JsonObject) -> str:
    refs = pod["metadata"].get("ownerReferences") or []
    controller = next((r for r in refs if r.get("controller")), None)
    return (
        str(controller.get("uid"))
        if controller
        else "/".join(f"{k}={v}" for k, v in sorted((pod["metadata"].get("labels") or {}).items()))
    )


def choose_node(
    pod: JsonObject, nodes: list[JsonObject], placed: list[JsonObject]
) -> tuple[JsonObject | None, str]:
    """The node for ``pod`` (spread by zone over its siblings, then by load), or why none fits."""
    reasons: Counter[str] = Counter()
    fitting = []
    for node in nodes:
        why = fits(node, pod)
        if why is None:
            fitting.append(node)
        else:
            reasons[why] += 1
    if not fitting:
        detail = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
        message = (
            f"0/{len(nodes)} nodes are available: {detail}."
            if nodes
            else "no nodes available to schedule pods"
        )
        return None, message
    by_node = {n["metadata"]["name"]: n for n in nodes}
    family = owner_key(pod)
    zone_load: Counter[str] = Counter()
    node_load: Counter[str] = Counter()
    for other in placed:
        where = (other.get("spec") or {}).get("nodeName")
        if not where or where not in by_node:
            continue
        node_load[where] += 1
        if owner_key(other) == family:
            zone_load[zone_of(by_node[where])] += 1
    chosen = min(
        fitting,
        key=lambda n: (
            zone_load[zone_of(n)],
            node_load[n["metadata"]["name"]],
            n["metadata"]["name"],
        ),
    )
    return chosen, ""


def pod_ip(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return f"10.244.{digest[0]}.{max(2, digest[1] % 254)}"


def node_ip(node: JsonObject) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return pod_ip(node["metadata"]["name"])


def _condition(kind: str, status: bool, at: str, reason: str | None = None) -> JsonObject:
    found: JsonObject = {
        "type": kind,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": at,
    }
    if reason:
        found["reason"] = reason
    return found


def scheduled_status(pod: JsonObject, at: str) -> JsonObject:
    """The status of a pod just bound to a node: Pending, PodScheduled."""
    return {
        "phase": "Pending",
        "qosClass": "BestEffort",
        "conditions": [_condition("PodScheduled", True, at)],
    }


def unschedulable_status(message: str, at: str) -> JsonObject:
    condition = _condition("PodScheduled", False, at, "Unschedulable")
    condition["message"] = message
    return {"phase": "Pending", "qosClass": "BestEffort", "conditions": [condition]}


def running_status(
    pod: JsonObject, node: JsonObject, at: str, *, is_ready: bool = True, restarts: int = 0
) -> JsonObject:
    """What the kubelet reports for a started pod: Running, Ready, container statuses."""
    reason = None if is_ready else "ContainersNotReady"
    containers = (pod.get("spec") or {}).get("containers") or []
    uid = str(pod["metadata"].get("uid") or pod["metadata"].get("name"))
    statuses: list[dict[str, Any]] = [
        {
            "name": c.get("name"),
            "image": c.get("image"),
            "imageID": f"{c.get('image')}@sha256:"
            + hashlib.sha256(str(c.get("image")).encode()).hexdigest(),
            "containerID": "containerd://"
            + hashlib.sha256((uid + str(c.get("name"))).encode()).hexdigest(),
            "ready": is_ready,
            "started": True,
            "restartCount": restarts,
            "state": {"running": {"startedAt": at}},
            "lastState": {},
        }
        for c in containers
    ]
    ip = pod_ip(uid)
    return {
        "phase": "Running",
        "conditions": [
            _condition("PodReadyToStartContainers", True, at),
            _condition("Initialized", True, at),
            _condition("Ready", is_ready, at, reason),
            _condition("ContainersReady", is_ready, at, reason),
            _condition("PodScheduled", True, at),
        ],
        "hostIP": node_ip(node),
        "hostIPs": [{"ip": node_ip(node)}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": at,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    }


def is_ready(pod: JsonObject) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
