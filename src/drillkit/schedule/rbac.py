"""The least privilege a drill needs on a Kubernetes target: API verbs x resources, per namespace.

Computed from the drill's plan: every fault, restore and probe intent (after
runbooks and probe references are inlined and target variables substituted)
maps to the API calls the ``kubernetes`` provider makes for it, in the
namespace the intent names; cluster-scoped calls (nodes, namespaces, access
reviews) go into a ClusterRole. The table below is kept next to the provider's
calls (``drillkit.providers.kubernetes``): a new kind must add its row, and a
kind without one is reported, never silently granted nothing.

Every run on Kubernetes also reads the server version and ``kube-system``
(cluster identity for the evidence) and holds a Lease in the target's
``lockNamespace``. The ``velero`` CLI calls (backup-restore, backup-age,
namespace-loss's backup check) act as the same service account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CLUSTER = ""
"""The namespace of a cluster-scoped rule."""


@dataclass(frozen=True, order=True)
class Rule:
    """One grant: ``verbs`` on ``resource`` of ``group`` in ``namespace`` (or cluster-wide)."""

    namespace: str
    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str = ""


@dataclass
class Permissions:
    rules: list[Rule]
    unknown: list[str]
    """Steps whose needs are not known (a chaostoolkit activity outside chaosk8s' pod actions)."""

    def merged(self) -> dict[str, dict[tuple[str, str], set[str]]]:
        """namespace -> (group, resource) -> verbs; ``CLUSTER`` for the ClusterRole."""
        out: dict[str, dict[tuple[str, str], set[str]]] = {}
        for rule in self.rules:
            out.setdefault(rule.namespace, {}).setdefault(
                (rule.group, rule.resource), set()
            ).update(rule.verbs)
        return out


_READ = ("get", "list", "watch")
_NODES = [
    Rule(CLUSTER, "", "nodes", ("get", "list", "patch"), "cordon and taint nodes, then undo"),
    Rule(CLUSTER, "", "pods", ("list", "delete"), "find and remove the pods on those nodes"),
    Rule(CLUSTER, "", "pods/eviction", ("create",), "drain through the eviction API"),
]


def _velero(namespace: str, verbs_on_restores: tuple[str, ...] = ()) -> list[Rule]:
    rules = [
        Rule(namespace, "velero.io", "backups", _READ, "find the backup"),
        Rule(namespace, "velero.io", "schedules", _READ, "find the schedule's backups"),
        Rule(namespace, "velero.io", "backupstoragelocations", _READ, "velero CLI checks"),
    ]
    if verbs_on_restores:
        rules.append(Rule(namespace, "velero.io", "restores", verbs_on_restores, "restore"))
    return rules


def rules_for(kind: str, intent: Any, velero_namespace: str) -> list[Rule] | None:
    """The rules one intent needs; None when its kind is not in the table."""
    namespace = getattr(intent, "namespace", None) or "default"
    if kind == "pod-kill":
        return [Rule(namespace, "", "pods", ("list", "delete"), "kill the selected pods")]
    if kind in ("node-failure", "zone-outage"):
        return list(_NODES)
    if kind == "namespace-loss":
        return [
            Rule(CLUSTER, "", "namespaces", ("get", "delete"), "delete the namespace"),
            *_velero(velero_namespace),
        ]
    if kind == "chaostoolkit":
        return _chaostoolkit(intent)
    if kind == "backup-restore":
        return [
            Rule(CLUSTER, "", "namespaces", ("get",), "wait for the restored namespaces"),
            *_velero(getattr(intent, "velero_namespace", velero_namespace), ("create", *_READ)),
        ]
    if kind in ("wait-for-recovery", "workload-ready"):
        return [
            Rule(namespace, "apps", "deployments", _READ, "read readiness"),
            Rule(namespace, "apps", "statefulsets", _READ, "read readiness"),
            Rule(namespace, "", "pods", _READ, "read pods and restarts"),
        ]
    if kind == "scale":
        return [
            Rule(namespace, "apps", "deployments/scale", ("get", "patch"), "scale"),
            Rule(namespace, "apps", "statefulsets/scale", ("get", "patch"), "scale"),
        ]
    if kind == "secret":
        return [
            Rule(namespace, "", "secrets", ("get",), "resolve the secret (its digest only)"),
            Rule(namespace, "external-secrets.io", "externalsecrets", ("get",), "sync status"),
        ]
    if kind == "backup-age":
        return _velero(velero_namespace)
    if kind == "access":
        rules = [
            Rule(CLUSTER, "authorization.k8s.io", "selfsubjectaccessreviews", ("create",), "ask")
        ]
        if getattr(intent, "impersonate_group", None):
            rules += [
                Rule(CLUSTER, "", "groups", ("impersonate",), "ask as the on-call group"),
                Rule(CLUSTER, "", "users", ("impersonate",), "ask as the on-call group"),
            ]
        return rules
    if kind in ("http", "tls", "routing", "rpo-canary", "traffic-failover", "region-outage"):
        return []  # not Kubernetes API calls (HTTP, DNS, cloud APIs)
    return None


def _chaostoolkit(intent: Any) -> list[Rule] | None:
    document = getattr(intent, "document", None) or {}
    activities: list[Any] = list(document.get("method") or []) + list(
        document.get("rollbacks") or []
    )
    if getattr(intent, "activity", None) is not None:
        activities = [intent.activity.model_dump(mode="json")]
    rules: list[Rule] = []
    for activity in activities:
        provider = activity.get("provider") or {}
        function = f"{provider.get('module')}.{provider.get('func')}"
        namespace = str((provider.get("arguments") or {}).get("ns", "default"))
        if namespace.startswith("${"):
            configuration = document.get("configuration") or {}
            value = configuration.get(namespace[2:-1])
            namespace = str(value.get("default", "default") if isinstance(value, dict) else value)
        if function == "chaosk8s.pod.actions.terminate_pods":
            rules.append(Rule(namespace, "", "pods", ("list", "delete"), function))
        elif function == "chaosk8s.pod.probes.pods_in_phase":
            rules.append(Rule(namespace, "", "pods", ("list",), function))
        else:
            return None
    return rules


def base_rules(lock_namespace: str) -> list[Rule]:
    """What every run on a Kubernetes target needs."""
    return [
        Rule(CLUSTER, "", "namespaces", ("get",), "cluster identity (kube-system's uid)"),
        Rule(
            lock_namespace,
            "coordination.k8s.io",
            "leases",
            ("get", "create", "update"),
            "one drill at a time on the target",
        ),
    ]


def permissions(planned: Iterable[Any], lock_namespace: str, velero_namespace: str) -> Permissions:
    """The rules of every plan in ``planned`` (``drillkit.engine.plan.Plan``)."""
    rules = base_rules(lock_namespace)
    unknown: list[str] = []
    for plan in planned:
        for step in plan.steps:
            for action in step.actions:
                if action.intent is None:
                    continue
                kind = str(getattr(action.intent, "type", ""))
                needed = rules_for(kind, action.intent, velero_namespace)
                if needed is None:
                    unknown.append(f"{plan.drill.name}: step {step.name} ({kind})")
                else:
                    rules += needed
    return Permissions(rules, unknown)
