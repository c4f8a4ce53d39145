"""The resources the emulator serves, each with the rules its real registry applies.

Core v1, apps/v1, policy/v1, coordination.k8s.io/v1, the access reviews, and
the custom resources drills meet on a cluster (Velero, External Secrets).
Validation covers what a provider could plausibly get wrong (a missing
selector, a selector that does not match the template, both PDB bounds);
the messages are the API server's.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.kube.errors import JsonObject
from tests.support.kube.resources import ResourceType
from tests.support.kube.selectors import LabelSelector

Problems = list[tuple[str, str]]


def _validate_lease(lease: JsonObject) -> Problems:
    spec, problems = lease.get("spec") or {}, []
    for key, low in (("leaseDurationSeconds", 1), ("leaseTransitions", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or value < low):
            rule = "greater than 0" if low else "greater than or equal to 0"
            problems.append((f"spec.{key}", f"Invalid value: {value}: must be {rule}"))
    return problems


def _validate_pod(pod: JsonObject) -> Problems:
    if not (pod.get("spec") or {}).get("containers"):
        return [("spec.containers", "Required value")]
    return []


def _validate_cronjob(cronjob: JsonObject) -> Problems:
    spec = cronjob.get("spec") or {}
    problems: Problems = []
    if not spec.get("schedule"):
        problems.append(("spec.schedule", "Required value"))
    pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if not (pod or {}).get("containers"):
        problems.append(("spec.jobTemplate.spec.template.spec.containers", "Required value"))
    if (pod or {}).get("restartPolicy") not in ("OnFailure", "Never"):
        problems.append(
            (
                "spec.jobTemplate.spec.template.spec.restartPolicy",
                'Unsupported value: must be "OnFailure" or "Never"',
            )
        )
    return problems


def _validate_rules(role: JsonObject) -> Problems:
    problems: Problems = []
    for index, rule in enumerate(role.get("rules") or []):
        if not rule.get("verbs"):
            problems.append(
                (f"rules[{index}].verbs", "Required value: verbs must contain at least one value")
            )
    return problems


def _validate_binding(binding: JsonObject) -> Problems:
    ref = binding.get("roleRef") or {}
    problems: Problems = []
    for key in ("apiGroup", "kind", "name"):
        if not ref.get(key):
            problems.append((f"roleRef.{key}", "Required value"))
    return problems


def _go_map(labels: dict[str, Any]) -> str:
    return (
        "map[string]string{"
        + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items()))
        + "}"
    )


def _validate_workload(workload: JsonObject) -> Problems:
    spec = workload.get("spec") or {}
    problems: Problems = []
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        problems.append(
            ("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
        )
    selector = spec.get("selector")
    if not selector:
        return [*problems, ("spec.selector", "Required value")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    parsed = LabelSelector.from_object(selector)
    if parsed.empty:
        problems.append(
            (
                "spec.selector",
                "Invalid value: v1.LabelSelector{}: empty selector is invalid for deployment",
            )
        )
    elif not parsed.matches(labels):
        problems.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
            )
        )
    return problems


def _validate_pdb(pdb: JsonObject) -> Problems:
    spec = pdb.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return [
            (
                "spec",
                "Invalid value: policy.PodDisruptionBudgetSpec{...}: "
                "minAvailable and maxUnavailable cannot be both set",
            )
        ]
    return []


_ALL = ("all",)
_CORE_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_READ_CREATE = ("create",)

# fmt: off
NAMESPACES = ResourceType("", "v1", "namespaces", "Namespace", namespaced=False,
                          short_names=("ns",), subresources=("status", "finalize"),
                          return_deleted=True, field_labels=("status.phase",),
                          dns_label_names=True)
NODES = ResourceType("", "v1", "nodes", "Node", namespaced=False, short_names=("no",),
                     subresources=("status",), field_labels=("spec.unschedulable",))
PODS = ResourceType("", "v1", "pods", "Pod", short_names=("po",), categories=_ALL,
                    subresources=("status", "eviction"), return_deleted=True,
                    field_labels=_CORE_POD_FIELDS, validate=_validate_pod)
SECRETS = ResourceType("", "v1", "secrets", "Secret", field_labels=("type",))
CONFIGMAPS = ResourceType("", "v1", "configmaps", "ConfigMap", short_names=("cm",))
SERVICES = ResourceType("", "v1", "services", "Service", short_names=("svc",), categories=_ALL,
                        subresources=("status",), return_deleted=True, dns_label_names=True)
SERVICEACCOUNTS = ResourceType("", "v1", "serviceaccounts", "ServiceAccount",
                               short_names=("sa",))
EVENTS = ResourceType("", "v1", "events", "Event", short_names=("ev",),
                      field_labels=_EVENT_FIELDS)
DEPLOYMENTS = ResourceType("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
                           categories=_ALL, subresources=("status", "scale"), generation=True,
                           validate=_validate_workload)
STATEFULSETS = ResourceType("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",),
                            categories=_ALL, subresources=("status", "scale"), generation=True,
                            validate=_validate_workload)
REPLICASETS = ResourceType("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
                           categories=_ALL, subresources=("status", "scale"), generation=True,
                           field_labels=("status.replicas",), validate=_validate_workload)
PDBS = ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
                    short_names=("pdb",), subresources=("status",), generation=True,
                    validate=_validate_pdb)
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease",
                      micro_times=("spec.acquireTime", "spec.renewTime"), create_on_update=True,
                      unconditional_update=False, validate=_validate_lease)
"""Leases: PUT may create, PUT must carry ``resourceVersion`` (pkg/registry/coordination/lease)."""
SELF_SUBJECT_ACCESS_REVIEWS = ResourceType(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
    namespaced=False, verbs=_READ_CREATE)
SELF_SUBJECT_REVIEWS = ResourceType(
    "authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview",
    namespaced=False, verbs=_READ_CREATE)
BACKUPS = ResourceType("velero.io", "v1", "backups", "Backup", custom=True,
                       subresources=("status",), generation=True)
RESTORES = ResourceType("velero.io", "v1", "restores", "Restore", custom=True,
                        subresources=("status",), generation=True)
SCHEDULES = ResourceType("velero.io", "v1", "schedules", "Schedule", custom=True,
                         subresources=("status",), generation=True)
BACKUP_STORAGE_LOCATIONS = ResourceType("velero.io", "v1", "backupstoragelocations",
                                        "BackupStorageLocation", short_names=("bsl",),
                                        custom=True, subresources=("status",), generation=True)
EXTERNAL_SECRETS = ResourceType("external-secrets.io", "v1beta1", "externalsecrets",
                                "ExternalSecret", short_names=("es",), categories=("external-secrets",),
                                custom=True, subresources=("status",), generation=True)
SECRET_STORES = ResourceType("external-secrets.io", "v1beta1", "secretstores", "SecretStore",
                             short_names=("ss",), custom=True, subresources=("status",),
                             generation=True)
CLUSTER_SECRET_STORES = ResourceType("external-secrets.io", "v1beta1", "clustersecretstores",
                                     "ClusterSecretStore", namespaced=False, short_names=("css",),
                                     custom=True, subresources=("status",), generation=True)
CRONJOBS = ResourceType("batch", "v1", "cronjobs", "CronJob", short_names=("cj",),
                        categories=_ALL, subresources=("status",), generation=True,
                        validate=_validate_cronjob)
_RBAC = "rbac.authorization.k8s.io"
ROLES = ResourceType(_RBAC, "v1", "roles", "Role", validate=_validate_rules)
ROLE_BINDINGS = ResourceType(_RBAC, "v1", "rolebindings", "RoleBinding",
                             validate=_validate_binding)
CLUSTER_ROLES = ResourceType(_RBAC, "v1", "clusterroles", "ClusterRole", namespaced=False,
                             validate=_validate_rules)
CLUSTER_ROLE_BINDINGS = ResourceType(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding",
                                     namespaced=False, validate=_validate_binding)
# fmt: on

ALL_RESOURCES: tuple[ResourceType, ...] = (
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    CONFIGMAPS,
    SERVICES,
    SERVICEACCOUNTS,
    EVENTS,
    DEPLOYMENTS,
    STATEFULSETS,
    REPLICASETS,
    PDBS,
    LEASES,
    SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_REVIEWS,
    BACKUPS,
    RESTORES,
    SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    EXTERNAL_SECRETS,
    SECRET_STORES,
    CLUSTER_SECRET_STORES,
    CRONJOBS,
    ROLES,
    ROLE_BINDINGS,
    CLUSTER_ROLES,
    CLUSTER_ROLE_BINDINGS,
)
REVIEWS = (SELF_SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_REVIEWS)
"""Answered, never stored."""
STORED_RESOURCES = tuple(kind for kind in ALL_RESOURCES if kind not in REVIEWS)
