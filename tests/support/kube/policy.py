"""PodDisruptionBudgets and the Eviction API, as the disruption controller and the registry do them.

A budget's status is computed from the pods it selects: ``currentHealthy``
(Ready, not being deleted), ``desiredHealthy`` (``minAvailable``, or the
controllers' replicas minus ``maxUnavailable``; percentages round up), and
``disruptionsAllowed = currentHealthy - desiredHealthy`` (never below 0). It
is recomputed lazily, when a namespace whose pods or budgets changed is read
or an eviction arrives there, so it is always current without a thread.

An eviction deletes the pod when no budget covers it, when the pod is not
running (pending, finished, deleting), or when its budget allows one more
disruption; otherwise it is refused with the real 429 ``TooManyRequests``
and the ``DisruptionBudget`` cause the API server gives.
"""

from __future__ import annotations

import math
from typing import Any

from tests.support.kube.catalogue import PDBS, PODS, REPLICASETS, STATEFULSETS
from tests.support.kube.errors import ApiError, JsonObject, success
from tests.support.kube.selectors import FieldSelector, LabelSelector
from tests.support.kube.store import ResourceStore, now_text
from tests.support.kube.watch import Change

EVICTION_BLOCKED = "Cannot evict pod as it would violate the pod's disruption budget."
_WATCHED = frozenset(
    {PODS.qualified, PDBS.qualified, REPLICASETS.qualified, STATEFULSETS.qualified}
)


class DisruptionBudgets:
    """The disruption controller for one store: which namespaces need their budgets recomputed."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store
        self._dirty: set[str] = set()
        store.listeners.append(self._changed)
        self._dirty.update(store.namespaces_in_use(PDBS))

    @classmethod
    def of(cls, store: ResourceStore) -> DisruptionBudgets:
        with store.lock:
            found = store.attachments.get("disruption-budgets")
            if found is None:
                found = store.attachments["disruption-budgets"] = cls(store)
            assert isinstance(found, DisruptionBudgets)
            return found

    def _changed(self, change: Change) -> None:
        if change.resource in _WATCHED:
            self._dirty.add(change.entry.namespace)

    def refresh(self, namespace: str | None = None) -> None:
        """Recompute the budgets of ``namespace`` (or of every changed namespace)."""
        with self.store.lock:
            if namespace is None:
                todo, self._dirty = self._dirty, set()
            elif namespace in self._dirty:
                self._dirty.discard(namespace)
                todo = {namespace}
            else:
                return
            for where in sorted(todo):
                for pdb in self.store.list(PDBS, where):
                    status = budget_status(self.store, pdb)
                    if _comparable(status) != _comparable(pdb.get("status") or {}):
                        self._write_status(where, pdb["metadata"]["name"], status)

    def _write_status(self, namespace: str, name: str, status: JsonObject) -> None:
        def change(pdb: JsonObject) -> None:
            old = {c["type"]: c for c in (pdb.get("status") or {}).get("conditions") or []}
            for condition in status["conditions"]:
                before = old.get(condition["type"])
                if before is not None and before["status"] == condition["status"]:
                    condition["lastTransitionTime"] = before["lastTransitionTime"]
            pdb["status"] = status

        self.store.update(PDBS, namespace, name, change)

    def evict(
        self, namespace: str, name: str, eviction: Any, *, dry_run: bool = False
    ) -> tuple[int, JsonObject]:
        """POST ``pods/NAME/eviction``: 201 and the pod gone, or 429 when a budget says no."""
        if not isinstance(eviction, dict):
            raise ApiError(400, "the body of the request was not an Eviction")
        sent = (eviction.get("metadata") or {}).get("name")
        if sent and sent != name:
            raise ApiError(400, "name in URL does not match name in Eviction object")
        options = eviction.get("deleteOptions") or {}
        dry_run = dry_run or bool(options.get("dryRun"))
        with self.store.lock:
            pod = self.store.get(PODS, namespace, name)
            if _ignores_budgets(pod):
                self._delete(namespace, name, options, dry_run)
                return 201, success(code=201)
            self.refresh(namespace)
            labels = pod["metadata"].get("labels") or {}
            budgets = [
                pdb
                for pdb in self.store.list(PDBS, namespace)
                if LabelSelector.from_object(pdb["spec"].get("selector")).matches(labels)
            ]
            if len(budgets) > 1:
                raise ApiError(
                    500,
                    "This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.",
                )
            if budgets:
                self._check_and_take(budgets[0], pod, dry_run)
            self._delete(namespace, name, options, dry_run)
            return 201, success(code=201)

    def _check_and_take(self, pdb: JsonObject, pod: JsonObject, dry_run: bool) -> None:
        status = pdb.get("status") or {}
        name = pdb["metadata"]["name"]
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise _too_many(f"The disruption budget {name} is still being processed by the server.")
        healthy = _ready(pod)
        policy = pdb["spec"].get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
        if not healthy and (
            policy == "AlwaysAllow"
            or status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) > 0
        ):
            return
        if status.get("disruptionsAllowed", 0) <= 0:
            raise _too_many(
                f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy "
                f"pods and has {status.get('currentHealthy', 0)} currently"
            )
        if dry_run:
            return

        def take(budget: JsonObject) -> None:
            current = budget.setdefault("status", {})
            current["disruptionsAllowed"] = current.get("disruptionsAllowed", 1) - 1
            current.setdefault("disruptedPods", {})[pod["metadata"]["name"]] = now_text()

        self.store.update(PDBS, pdb["metadata"]["namespace"], name, take)

    def _delete(self, namespace: str, name: str, options: JsonObject, dry_run: bool) -> None:
        self.store.delete(
            PODS, namespace, name, preconditions=options.get("preconditions"), dry_run=dry_run
        )


def _too_many(cause: str) -> ApiError:
    return ApiError(
        429,
        EVICTION_BLOCKED,
        details={"causes": [{"reason": "DisruptionBudget", "message": cause}]},
    )


def _ignores_budgets(pod: JsonObject) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp")
    )


def _ready(pod: JsonObject) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _scaled(value: Any, total: int) -> int:
    """An int-or-percent, percentages rounded up (``GetScaledValueFromIntOrPercent(roundUp)``)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def _expected_scale(store: ResourceStore, namespace: str, pods: list[JsonObject]) -> int | None:
    """The controllers' replicas summed, or ``None`` when a pod has no known controller."""
    seen: dict[str, int] = {}
    for pod in pods:
        owner = next(
            (r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None
        )
        kind = {"ReplicaSet": REPLICASETS, "StatefulSet": STATEFULSETS}.get(
            (owner or {}).get("kind", "")
        )
        if owner is None or kind is None:
            return None
        if owner["uid"] in seen:
            continue
        controller = store.find(kind, namespace, owner["name"])
        if controller is None:
            return None
        seen[owner["uid"]] = int((controller.get("spec") or {}).get("replicas", 1))
    return sum(seen.values())


def budget_status(store: ResourceStore, pdb: JsonObject) -> JsonObject:
    """What the disruption controller would write into ``pdb.status`` now."""
    namespace = pdb["metadata"]["namespace"]
    spec = pdb.get("spec") or {}
    selector = LabelSelector.from_object(spec.get("selector"))
    pods = (
        [
            entry.decode(PODS)
            for entry in store.select(PODS, namespace, selector, FieldSelector()).entries
        ]
        if not selector.nothing
        else []
    )
    healthy = sum(1 for pod in pods if _ready(pod))
    expected: int | None = len(pods)
    if spec.get("maxUnavailable") is not None:
        expected = _expected_scale(store, namespace, pods)
        desired = (
            0 if expected is None else max(0, expected - _scaled(spec["maxUnavailable"], expected))
        )
    elif isinstance(spec.get("minAvailable"), str):
        expected = _expected_scale(store, namespace, pods)
        desired = 0 if expected is None else _scaled(spec["minAvailable"], expected)
    else:
        desired = int(spec.get("minAvailable", 0) or 0)
    allowed = 0 if expected is None else max(0, healthy - desired)
    generation = pdb["metadata"].get("generation", 1)
    return {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected or 0,
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "True" if allowed > 0 else "False",
                "observedGeneration": generation,
                "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                "message": "",
                "lastTransitionTime": now_text(),
            }
        ],
    }


def _comparable(status: JsonObject) -> JsonObject:
    found = {k: v for k, v in status.items() if k not in ("conditions", "disruptedPods")}
    found["conditions"] = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in status.get("conditions") or []
    ]
    return found
