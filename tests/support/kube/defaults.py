"""Defaulting, as the API server fills in what a client left out before storing an object.

Only the defaults a reader could notice: a pod's restart and DNS policy,
service account and its token volume (so ``spec.volumes`` is never empty, as
``chaosk8s``'s drain expects), the tolerations the DefaultTolerationSeconds
admission adds, a Deployment's strategy and replicas, a Namespace's
``kubernetes.io/metadata.name`` label and phase, a Secret's type, a Service's
cluster IP. Applied on every write, so seeded objects look like served ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from tests.support.kube.errors import JsonObject

_NOT_READY_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{why}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for why in ("not-ready", "unreachable")
]


def _suffix(seed: str, length: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _pod_spec(spec: JsonObject, token_seed: str) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    account = spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", account)
    for container in spec.get("containers") or []:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})


def _pod(pod: JsonObject) -> None:
    spec = pod.setdefault("spec", {})
    meta = pod.get("metadata") or {}
    _pod_spec(spec, meta.get("name") or meta.get("generateName") or "")
    volumes = spec.setdefault("volumes", [])
    if spec.get("automountServiceAccountToken", True) and not any(
        v.get("name", "").startswith("kube-api-access-") for v in volumes
    ):
        volumes.append(
            {
                "name": f"kube-api-access-{_suffix(str(meta.get('name') or meta.get('generateName')))}",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "name": "kube-root-ca.crt",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {
                                            "apiVersion": "v1",
                                            "fieldPath": "metadata.namespace",
                                        },
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        )
    tolerations = spec.setdefault("tolerations", [])
    for default in _NOT_READY_TOLERATIONS:
        if not any(t.get("key") == default["key"] for t in tolerations):
            tolerations.append(dict(default))
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)


def _template(workload: JsonObject) -> None:
    template = (workload.get("spec") or {}).get("template")
    if isinstance(template, dict):
        _pod_spec(template.setdefault("spec", {}), "")
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)


def _deployment(deployment: JsonObject) -> None:
    spec = deployment.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
    )
    _template(deployment)


def _statefulset(statefulset: JsonObject) -> None:
    spec = statefulset.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    _template(statefulset)


def _replicaset(replicaset: JsonObject) -> None:
    replicaset.setdefault("spec", {}).setdefault("replicas", 1)
    _template(replicaset)


def _namespace(namespace: JsonObject) -> None:
    meta = namespace["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
    namespace.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    namespace.setdefault("status", {}).setdefault("phase", "Active")


def _secret(secret: JsonObject) -> None:
    secret.setdefault("type", "Opaque")


def _service(service: JsonObject) -> None:
    spec = service.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if "clusterIP" not in spec:
        digest = hashlib.sha256(str(service["metadata"].get("name")).encode()).digest()
        spec["clusterIP"] = f"10.96.{digest[0]}.{max(1, digest[1] % 255)}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def _node(node: JsonObject) -> None:
    labels = node["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", node["metadata"].get("name", ""))
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")


DEFAULTS: dict[str, Callable[[JsonObject], None]] = {
    "pods": _pod,
    "deployments.apps": _deployment,
    "statefulsets.apps": _statefulset,
    "replicasets.apps": _replicaset,
    "namespaces": _namespace,
    "secrets": _secret,
    "services": _service,
    "nodes": _node,
}
"""By qualified resource name."""


def random_suffix(seed: str) -> str:
    """Five characters from the alphabet ``generateName`` and pod names use (no vowels)."""
    return _suffix(seed)
