"""Server-side printing: the ``Table`` a ``kubectl get`` asks for, with the real columns.

``kubectl get`` (without ``-o json``) sends ``Accept: application/json;as=Table``
and prints the columns the server chose; these are the API server's own
printers for the resources drills read (pods' READY/STATUS/RESTARTS, nodes'
``Ready,SchedulingDisabled``, deployments' READY/UP-TO-DATE/AVAILABLE), and
NAME/AGE for everything else. Rows carry the object's metadata, as
``includeObject=Metadata`` (the default) does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tests.support.kube.errors import JsonObject
from tests.support.kube.resources import ResourceType

Column = tuple[str, str, int]
"""``(name, type, priority)``: priority 1 columns show with ``-o wide``."""
Printer = tuple[list[Column], Callable[[JsonObject], list[Any]]]


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """``duration.HumanDuration`` of the time since ``timestamp`` (``5m``, ``3h2m``, ``4d``)."""
    if not timestamp:
        return "<unknown>"
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < -1:
        return "<invalid>"
    seconds = max(seconds, 0)
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _created(obj: JsonObject) -> str:
    return age(obj["metadata"].get("creationTimestamp"))


def _pod_row(pod: JsonObject) -> list[Any]:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in statuses:
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Terminated"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    spec = pod.get("spec") or {}
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(containers)}",
        reason,
        str(restarts),
        _created(pod),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _node_row(node: JsonObject) -> list[Any]:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = [
        "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    ]
    if (node.get("spec") or {}).get("unschedulable"):
        state.append("SchedulingDisabled")
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.rpartition("/")[2] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = (node.get("status") or {}).get("nodeInfo") or {}
    addresses = {
        a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []
    }
    return [
        node["metadata"]["name"],
        ",".join(state),
        ",".join(roles) or "<none>",
        _created(node),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _containers(obj: JsonObject) -> tuple[str, str]:
    containers = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get(
        "containers"
    ) or []
    return ",".join(c.get("name", "") for c in containers), ",".join(
        c.get("image", "") for c in containers
    )


def _selector(obj: JsonObject) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _deployment_row(deployment: JsonObject) -> list[Any]:
    status, spec = deployment.get("status") or {}, deployment.get("spec") or {}
    names, images = _containers(deployment)
    return [
        deployment["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _created(deployment),
        names,
        images,
        _selector(deployment),
    ]


def _statefulset_row(statefulset: JsonObject) -> list[Any]:
    status, spec = statefulset.get("status") or {}, statefulset.get("spec") or {}
    names, images = _containers(statefulset)
    return [
        statefulset["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        _created(statefulset),
        names,
        images,
    ]


def _replicaset_row(replicaset: JsonObject) -> list[Any]:
    status, spec = replicaset.get("status") or {}, replicaset.get("spec") or {}
    names, images = _containers(replicaset)
    return [
        replicaset["metadata"]["name"],
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _created(replicaset),
        names,
        images,
        _selector(replicaset),
    ]


def _service_row(service: JsonObject) -> list[Any]:
    spec = service.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [
        service["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        "<none>",
        ports or "<none>",
        _created(service),
        selector or "<none>",
    ]


def _pdb_row(pdb: JsonObject) -> list[Any]:
    spec = pdb.get("spec") or {}
    return [
        pdb["metadata"]["name"],
        str(spec.get("minAvailable", "N/A")),
        str(spec.get("maxUnavailable", "N/A")),
        (pdb.get("status") or {}).get("disruptionsAllowed", 0),
        _created(pdb),
    ]


_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)
PRINTERS: dict[str, Printer] = {
    "pods": (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            _AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        _pod_row,
    ),
    "nodes": (
        [
            _NAME,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            _AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node_row,
    ),
    "deployments.apps": (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            _AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _deployment_row,
    ),
    "statefulsets.apps": (
        [_NAME, ("Ready", "string", 0), _AGE, ("Containers", "string", 1), ("Images", "string", 1)],
        _statefulset_row,
    ),
    "replicasets.apps": (
        [
            _NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            _AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _replicaset_row,
    ),
    "namespaces": (
        [_NAME, ("Status", "string", 0), _AGE],
        lambda ns: [
            ns["metadata"]["name"],
            (ns.get("status") or {}).get("phase", ""),
            _created(ns),
        ],
    ),
    "services": (
        [
            _NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            _AGE,
            ("Selector", "string", 1),
        ],
        _service_row,
    ),
    "secrets": (
        [_NAME, ("Type", "string", 0), ("Data", "integer", 0), _AGE],
        lambda s: [
            s["metadata"]["name"],
            s.get("type", "Opaque"),
            len(s.get("data") or {}),
            _created(s),
        ],
    ),
    "configmaps": (
        [_NAME, ("Data", "integer", 0), _AGE],
        lambda c: [c["metadata"]["name"], len(c.get("data") or {}), _created(c)],
    ),
    "poddisruptionbudgets.policy": (
        [
            _NAME,
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            _AGE,
        ],
        _pdb_row,
    ),
    "leases.coordination.k8s.io": (
        [_NAME, ("Holder", "string", 0), _AGE],
        lambda lease: [
            lease["metadata"]["name"],
            (lease.get("spec") or {}).get("holderIdentity", ""),
            _created(lease),
        ],
    ),
}
_DEFAULT: Printer = ([_NAME, _AGE], lambda obj: [obj["metadata"]["name"], _created(obj)])


def table(
    kind: ResourceType, objects: Iterable[JsonObject], list_meta: JsonObject, *, with_object: bool
) -> JsonObject:
    """A ``meta.k8s.io/v1`` Table of ``objects``; rows carry metadata (or the whole object)."""
    columns, row = PRINTERS.get(kind.qualified, _DEFAULT)
    rows = []
    for obj in objects:
        carried = (
            obj
            if with_object
            else {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        )
        rows.append({"cells": row(obj), "object": carried})
    definitions = [
        {
            "name": name,
            "type": kind_,
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": priority,
        }
        for name, kind_, priority in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
