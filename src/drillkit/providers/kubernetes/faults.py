"""Kubernetes-level faults: pod-kill, node-failure (cordon + drain), zone-outage (cordon +
NoExecute taint), namespace-loss (Velero-backed).

Every ``prepare`` reads and records the prior state of exactly the objects the
fault will change; ``revert`` puts back only what this fault changed (its own
taint, the cordon it added) and leaves everything else alone, so an operator's
own cordon or taint survives a drill.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drillkit.errors import PermanentError, TransientError, UserInputError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.providers.kubernetes.selectors import label_selector, paged, paged_raw
from drillkit.providers.victims import choose_victims
from drillkit.spec.faults import NamespaceLoss, NodeFailure, PodKill, ZoneOutage

ZONE_LABEL = "topology.kubernetes.io/zone"
TAINT_KEY = "drillkit.io/zone-outage"
EVICTION_RETRY_SECONDS = 2.0
NODE_LISTS_AT_ONCE = 8
"""Pods are listed node by node (``spec.nodeName=N``, which the API server indexes), this many
lists in flight: a zone of a large cluster is thousands of nodes, and one list of every pod
would read (and parse) the whole cluster to keep a third of it."""
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


class _Handler:
    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.provider.api_client)


@KubernetesProvider.fault("pod-kill")
class PodKillHandler(_Handler):
    """Delete matching running pods; their controllers replace them (nothing to undo)."""

    def impact(self, intent: PodKill) -> Impact:
        chosen, _ = self._choose(intent)
        return Impact(tuple(Touched("pod", f"{intent.namespace}/{n}", "delete") for n in chosen))

    def prepare(self, intent: PodKill, ctx: StepContext) -> JsonDict:
        chosen, seed = self._choose(intent)
        if not chosen:
            raise PermanentError(
                f"no running pod in `{intent.namespace}` matches {label_selector(intent.selector)}",
                fix="check the fault's namespace and selector (`kubectl get pods -l ...`)",
            )
        return {"namespace": intent.namespace, "pods": chosen, "seed": seed}

    def apply(self, intent: PodKill, undo: JsonDict, ctx: StepContext) -> JsonDict:
        from kubernetes import client

        grace = int(intent.grace_period.total_seconds())
        deleted = []
        for name in undo["pods"]:
            gone = self.provider.api(
                f"delete pod {intent.namespace}/{name}",
                lambda name=name: self.core().delete_namespaced_pod(
                    name, intent.namespace, body=client.V1DeleteOptions(grace_period_seconds=grace)
                ),
                tolerate=(404,),
            )
            if gone is not None:
                deleted.append(name)
        ctx.note("pods-deleted", namespace=intent.namespace, pods=deleted)
        return {"deleted": deleted, "seed": undo["seed"]}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"selfHealing": "deleted pods are replaced by their controllers"}

    def _choose(self, intent: PodKill) -> tuple[list[str], int | None]:
        pods = self.provider.api(
            f"list pods in {intent.namespace}",
            lambda: list(
                paged(
                    self.core().list_namespaced_pod,
                    namespace=intent.namespace,
                    label_selector=label_selector(intent.selector),
                    field_selector="status.phase=Running",
                )
            ),
        )
        names = [p.metadata.name for p in pods or [] if p.metadata.deletion_timestamp is None]
        return choose_victims(names, intent)


class _NodeFault(_Handler):
    """Cordon (and maybe taint) nodes, recording what each node was like before."""

    def _pods_on(self, nodes: list[str], *, tainted: bool) -> list[tuple[str, str]]:
        """``(namespace, name)`` of the live pods on ``nodes`` that the fault removes.

        A drain leaves DaemonSet and static (mirror) pods, as ``kubectl drain``
        does; a NoExecute taint evicts every pod that does not tolerate it.
        Pods are read raw (names, owners, tolerations): a zone of a large
        cluster holds tens of thousands of them.
        """
        removed = _tolerates_nothing if tainted else _drainable

        def on(node: str) -> list[tuple[str, str]]:
            pods = self.provider.api(
                f"list pods on node {node}",
                lambda: list(
                    paged_raw(
                        self.core().list_pod_for_all_namespaces,
                        field_selector=f"spec.nodeName={node},{LIVE_PODS}",
                    )
                ),
            )
            return [
                (pod["metadata"]["namespace"], pod["metadata"]["name"])
                for pod in pods or []
                if removed(pod)
            ]

        if len(nodes) <= 1:
            found = [on(node) for node in nodes]
        else:
            with ThreadPoolExecutor(min(NODE_LISTS_AT_ONCE, len(nodes))) as pool:
                found = list(pool.map(on, nodes))
        return sorted(pod for pods in found for pod in pods)

    def _node_state(self, name: str) -> JsonDict:
        node = self.provider.api(f"read node {name}", lambda: self.core().read_node(name))
        taints = [t.to_dict() for t in (node.spec.taints or [])]
        return {
            "name": name,
            "wasUnschedulable": bool(node.spec.unschedulable),
            "hadTaint": any(t["key"] == TAINT_KEY for t in taints),
        }

    def _cordon(self, name: str) -> None:
        self.provider.api(
            f"cordon node {name}",
            lambda: self.core().patch_node(name, {"spec": {"unschedulable": True}}),
        )

    def _restore_node(self, record: JsonDict) -> None:
        """Uncordon if this fault cordoned it; remove the taint if this fault added it."""
        name = record["name"]
        node = self.provider.api(
            f"read node {name}", lambda: self.core().read_node(name), tolerate=(404,)
        )
        if node is None:
            return  # the node is gone (replaced by the cloud layer): nothing left to undo
        patch: JsonDict = {
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {},
        }
        if not record["wasUnschedulable"] and node.spec.unschedulable:
            patch["spec"]["unschedulable"] = False
        if not record.get("hadTaint", True):
            taints = [t.to_dict() for t in (node.spec.taints or [])]
            kept = [_taint_body(t) for t in taints if t["key"] != TAINT_KEY]
            if len(kept) != len(taints):
                patch["spec"]["taints"] = kept or None
        if patch["spec"]:
            self.provider.api(f"restore node {name}", lambda: self.core().patch_node(name, patch))


@KubernetesProvider.fault("node-failure")
class NodeFailureHandler(_NodeFault):
    """Cordon and drain nodes through the Eviction API, respecting PodDisruptionBudgets."""

    def impact(self, intent: NodeFailure) -> Impact:
        self._supported(intent)
        nodes = self._choose(intent)
        touched = [Touched("node", n, "cordon+drain") for n in nodes]
        touched += [
            Touched("pod", f"{ns}/{pod}", "evict")
            for ns, pod in self._pods_on(nodes, tainted=False)
        ]
        return Impact(tuple(touched))

    def prepare(self, intent: NodeFailure, ctx: StepContext) -> JsonDict:
        self._supported(intent)
        chosen = self._choose(intent)
        if not chosen:
            raise PermanentError("no node matches the fault's node selection")
        return {"nodes": [self._node_state(name) | {"hadTaint": True} for name in chosen]}

    def apply(self, intent: NodeFailure, undo: JsonDict, ctx: StepContext) -> JsonDict:
        names = [record["name"] for record in undo["nodes"]]
        for name in names:
            self._cordon(name)
        deadline = time.monotonic() + min(intent.eviction_deadline.total_seconds(), _left(ctx))
        evicted, forced = self._drain(names, deadline, intent.force, ctx)
        return {"cordoned": names, "evicted": evicted, "forced": forced}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        for record in undo["nodes"]:
            self._restore_node(record)
        return {"uncordoned": [r["name"] for r in undo["nodes"] if not r["wasUnschedulable"]]}

    def _drain(
        self, nodes: list[str], deadline: float, force: bool, ctx: StepContext
    ) -> tuple[list[str], list[str]]:
        from kubernetes import client

        evicted: list[str] = []
        forced: list[str] = []
        pending = self._pods_on(nodes, tainted=False)
        while pending:
            blocked = []
            for namespace, pod in pending:
                body = client.V1Eviction(
                    metadata=client.V1ObjectMeta(name=pod, namespace=namespace)
                )
                try:
                    self.provider.api(
                        f"evict pod {namespace}/{pod}",
                        lambda pod=pod, namespace=namespace, body=body: (
                            self.core().create_namespaced_pod_eviction(pod, namespace, body)
                        ),
                        tolerate=(404,),
                    )
                    evicted.append(f"{namespace}/{pod}")
                except TransientError as exc:
                    if "429" not in exc.message:
                        raise
                    blocked.append((namespace, pod))
            if not blocked:
                break
            if ctx.cancelled.is_set() or time.monotonic() >= deadline:
                if not force:
                    names = ", ".join(f"{n}/{p}" for n, p in blocked)
                    ctx.note("eviction-blocked", pods=[f"{n}/{p}" for n, p in blocked])
                    raise PermanentError(
                        f"evicting {names} is blocked by a PodDisruptionBudget past the "
                        "eviction deadline; the drain was not forced",
                        fix="raise evictionDeadline, relax the PDB, or set `force: true` "
                        "to delete the pods anyway",
                    )
                for namespace, pod in blocked:
                    self.provider.api(
                        f"delete pod {namespace}/{pod}",
                        lambda pod=pod, namespace=namespace: self.core().delete_namespaced_pod(
                            pod, namespace
                        ),
                        tolerate=(404,),
                    )
                    forced.append(f"{namespace}/{pod}")
                break
            ctx.note("eviction-retry", pods=[f"{n}/{p}" for n, p in blocked])
            ctx.cancelled.wait(EVICTION_RETRY_SECONDS)
            pending = blocked
        return evicted, forced

    def _supported(self, intent: NodeFailure) -> None:
        if intent.mode != "drain":
            raise UserInputError(
                f"node-failure mode `{intent.mode}` needs a cloud layer; the kubernetes "
                "provider can only drain",
                fix="use `mode: drain`, or an eks/aks target for stop, terminate or restart",
            )

    def _choose(self, intent: NodeFailure) -> list[str]:
        selection = intent.nodes
        labels = dict(selection.selector)
        if selection.zone:
            labels[ZONE_LABEL] = self.provider.target.zone(selection.zone)
        nodes = self.provider.api(
            "list nodes",
            lambda: list(paged(self.core().list_node, label_selector=label_selector(labels))),
        )
        names = sorted(
            n.metadata.name
            for n in nodes or []
            if not n.spec.unschedulable
            and (not selection.names or n.metadata.name in selection.names)
        )
        return names[: selection.count]


@KubernetesProvider.fault("zone-outage")
class ZoneOutageHandler(_NodeFault):
    """Cordon every node of a zone and taint it NoExecute, so its pods are evicted."""

    def impact(self, intent: ZoneOutage) -> Impact:
        self._supported(intent)
        zone = self.provider.target.zone(intent.zone)
        touched = [Touched("zone", zone, "outage")]
        nodes = self._nodes(zone)
        touched += [Touched("node", n, f"cordon+taint {TAINT_KEY}") for n in nodes]
        evicted = self._pods_on(nodes, tainted=True)
        touched += [Touched("pod", f"{ns}/{pod}", "evict") for ns, pod in evicted]
        return Impact(tuple(touched))

    def prepare(self, intent: ZoneOutage, ctx: StepContext) -> JsonDict:
        self._supported(intent)
        zone = self.provider.target.zone(intent.zone)
        names = self._nodes(zone)
        if not names:
            raise PermanentError(
                f"no node has {ZONE_LABEL}={zone}",
                fix=f"check the target's zone aliases (`zones:`); nodes are labelled {ZONE_LABEL}",
            )
        return {"zone": zone, "runId": ctx.run_id, "nodes": [self._node_state(n) for n in names]}

    def apply(self, intent: ZoneOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        for record in undo["nodes"]:
            self._taint(record["name"], undo["runId"])
        return {"zone": undo["zone"], "nodes": [r["name"] for r in undo["nodes"]]}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        for record in undo["nodes"]:
            self._restore_node(record)
        return {"restored": [r["name"] for r in undo["nodes"]]}

    def _taint(self, name: str, run_id: str) -> None:
        node = self.provider.api(f"read node {name}", lambda: self.core().read_node(name))
        taints = [_taint_body(t.to_dict()) for t in (node.spec.taints or [])]
        if not any(t["key"] == TAINT_KEY for t in taints):
            taints.append({"key": TAINT_KEY, "value": run_id[:63], "effect": "NoExecute"})
        patch = {
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {"unschedulable": True, "taints": taints},
        }
        self.provider.api(f"taint node {name}", lambda: self.core().patch_node(name, patch))

    def _nodes(self, zone: str) -> list[str]:
        nodes = self.provider.api(
            "list nodes",
            lambda: list(paged(self.core().list_node, label_selector=f"{ZONE_LABEL}={zone}")),
        )
        return sorted(n.metadata.name for n in nodes or [])

    @staticmethod
    def _supported(intent: ZoneOutage) -> None:
        if intent.mode not in ("auto", "kubernetes"):
            raise UserInputError(
                f"zone-outage mode `{intent.mode}` needs a cloud layer",
                fix="use `mode: kubernetes` (or auto), or an eks/aks target",
            )


@KubernetesProvider.fault("namespace-loss")
class NamespaceLossHandler(_Handler):
    """Delete a namespace, but only with a Completed Velero backup of it young enough to undo it."""

    def impact(self, intent: NamespaceLoss) -> Impact:
        return Impact((Touched("namespace", intent.namespace, "delete"),))

    def prepare(self, intent: NamespaceLoss, ctx: StepContext) -> JsonDict:
        from drillkit.providers.kubernetes.velero import newest_backup_of

        backup = newest_backup_of(self.provider, intent.namespace)
        if intent.require_backup:
            if backup is None:
                raise PermanentError(
                    f"refused: no Completed Velero backup includes namespace `{intent.namespace}`",
                    fix="take one (`velero backup create --include-namespaces ...`) or set "
                    "`requireBackup: false`",
                )
            limit = intent.max_backup_age
            if limit is not None and backup.age_seconds > limit.total_seconds():
                raise PermanentError(
                    f"refused: the newest Completed backup of `{intent.namespace}` "
                    f"({backup.name}) is {backup.age_seconds:.0f}s old, older than the RPO "
                    f"objective ({limit.total_seconds():.0f}s); restoring it could not meet it",
                    fix="take a fresh backup before the drill",
                )
        return {"namespace": intent.namespace, "backup": backup.name if backup else None}

    def apply(self, intent: NamespaceLoss, undo: JsonDict, ctx: StepContext) -> JsonDict:
        self.provider.api(
            f"delete namespace {intent.namespace}",
            lambda: self.core().delete_namespace(intent.namespace),
            tolerate=(404,),
        )
        return {"deleted": intent.namespace, "backup": undo["backup"]}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        """The restore is the undo: an aborted run still gets its namespace back."""
        from drillkit.providers.kubernetes.velero import Velero

        namespace = undo["namespace"]
        present = self.provider.api(
            f"read namespace {namespace}",
            lambda: self.core().read_namespace(namespace),
            tolerate=(404,),
        )
        if present is not None and present.metadata.deletion_timestamp is None:
            return {"restored": None, "note": f"namespace {namespace} exists"}
        if undo.get("backup") is None:
            raise PermanentError(f"namespace {namespace} is gone and no backup was recorded")
        _wait_gone(self, namespace, ctx)
        result = Velero(self.provider).restore(
            backup=undo["backup"], schedule=None, namespaces=[namespace], ctx=ctx
        )
        return {"restored": undo["backup"], "restore": result}


def _wait_gone(handler: _Handler, namespace: str, ctx: StepContext) -> None:
    """A terminating namespace must finish before Velero can recreate it."""
    deadline = time.monotonic() + min(300.0, _left(ctx))
    while time.monotonic() < deadline:
        present = handler.provider.api(
            f"read namespace {namespace}",
            lambda: handler.core().read_namespace(namespace),
            tolerate=(404,),
        )
        if present is None:
            return
        ctx.cancelled.wait(1.0)
    raise TransientError(f"namespace {namespace} is still terminating")


def _taint_body(taint: dict[str, Any]) -> dict[str, Any]:
    """A taint as the API takes it back (no client-side None fields)."""
    body = {"key": taint["key"], "effect": taint["effect"]}
    if taint.get("value") is not None:
        body["value"] = taint["value"]
    if taint.get("time_added") is not None:
        body["timeAdded"] = taint["time_added"]
    return body


def _left(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return remaining if remaining > 0 else 3600.0


def _drainable(pod: dict[str, Any]) -> bool:
    """What ``kubectl drain`` evicts: not DaemonSet-owned, not a static pod's mirror."""
    meta = pod.get("metadata") or {}
    if any(o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or []):
        return False
    return not (meta.get("annotations") or {}).get("kubernetes.io/config.mirror")


def _tolerates_nothing(pod: dict[str, Any]) -> bool:
    """True when the drill's NoExecute taint evicts the pod (no toleration matches it)."""
    for toleration in (pod.get("spec") or {}).get("tolerations") or []:
        key, effect = toleration.get("key"), toleration.get("effect")
        if effect not in (None, "", "NoExecute"):
            continue
        if key in (None, "") and toleration.get("operator") == "Exists":
            return False  # tolerates every taint
        if key == TAINT_KEY:
            return False
    return True
