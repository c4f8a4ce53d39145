"""Deployments and StatefulSets: their readiness (the ``workload-ready`` source), waiting for
them with a watch, and scaling them through the ``scale`` subresource.

Readiness is read at two levels: the controller's ``readyReplicas`` and the
pods its selector matches now (their ``Ready`` condition and container
restarts). Restarts count from the drill's first fault: each pod's
``restartCount`` is remembered whenever it is read before the fault, and
later compared with it; a pod created after the fault counts all of its
restarts; a pod older than the fault that was never seen before it counts the
containers whose last termination came after the fault (a lower bound, since
Kubernetes keeps only the last one).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.kubernetes.selectors import label_selector, paged, paged_raw
from drillkit.providers.sources import WorkloadStatus
from drillkit.timeparse import parse_utc

KINDS = ("Deployment", "StatefulSet")
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


class KubernetesWorkloads:
    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self._restarts_before_fault: dict[str, int] = {}
        """Pod uid -> restartCount, as last read before the first fault."""

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.provider.api_client)

    def workloads(
        self, namespace: str, names: list[str], selector: dict[str, str], ctx: StepContext
    ) -> list[WorkloadStatus]:
        found: list[WorkloadStatus] = []
        for kind, call in self._list_calls().items():
            items = self.provider.api(
                f"list {kind}s in {namespace}",
                lambda call=call: list(
                    paged(call, namespace=namespace, label_selector=label_selector(selector))
                    if selector and not names
                    else paged(call, namespace=namespace)
                ),
            )
            for item in items or []:
                if names and item.metadata.name not in names:
                    continue
                found.append(self._with_pods(status_of(kind, item), namespace, item, ctx))
        return found

    def _with_pods(
        self, status: WorkloadStatus, namespace: str, item: Any, ctx: StepContext
    ) -> WorkloadStatus:
        """``status`` with the pods the workload selects: how many, how many Ready, restarts."""
        selector = selector_text(item.spec.selector)
        if not selector:
            return status
        pods = (
            self.provider.api(
                f"list pods of {status.kind} {namespace}/{status.name}",
                lambda: list(
                    paged_raw(
                        self.core().list_namespaced_pod,
                        namespace=namespace,
                        label_selector=selector,
                        field_selector=LIVE_PODS,
                    )
                ),
            )
            or []
        )
        ready = sum(1 for pod in pods if _pod_ready(pod))
        since = self._restarts_since(pods, ctx.fault_started_at)
        detail = status.detail
        if len(pods) > ready:
            waiting = sorted(p["metadata"]["name"] for p in pods if not _pod_ready(p))
            shown = ", ".join(waiting[:3]) + (
                f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
            )
            detail = "; ".join(filter(None, [detail, f"pods not Ready: {shown}"]))
        return WorkloadStatus(
            status.name,
            status.kind,
            status.desired,
            status.ready,
            detail,
            pods=len(pods),
            pods_ready=ready,
            restarts_since_fault=since,
        )

    def _restarts_since(self, pods: list[dict[str, Any]], fault: datetime | None) -> int | None:
        if fault is None:
            for pod in pods:
                self._restarts_before_fault[pod["metadata"]["uid"]] = _restarts(pod)
            return None
        total = 0
        for pod in pods:
            meta, count = pod["metadata"], _restarts(pod)
            created = parse_utc(meta.get("creationTimestamp"))
            if created is not None and created >= fault:
                total += count
            elif meta["uid"] in self._restarts_before_fault:
                total += max(0, count - self._restarts_before_fault[meta["uid"]])
            else:
                total += _terminated_after(pod, fault)
        return total

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.provider.api_client)

    def wait_ready(
        self,
        namespace: str,
        names: list[str],
        selector: dict[str, str],
        timeout: float,
        ctx: StepContext,
    ) -> list[WorkloadStatus]:
        """Block on a watch until every workload has its desired replicas ready (or time out).

        The watch starts from the resourceVersion of the list just read, so it
        wakes only on a real change (a watch without one replays every
        existing object as ADDED first, which would turn waiting into polling).
        """
        deadline = time.monotonic() + timeout
        while True:
            statuses, version = self._statuses(namespace, names, selector)
            missing = [n for n in names if n not in {s.name for s in statuses}]
            if statuses and not missing and all(_ready(s) for s in statuses):
                return statuses
            left = deadline - time.monotonic()
            if left <= 0 or ctx.cancelled.is_set():
                shown = ", ".join(f"{s.name} {s.ready}/{s.desired}" for s in statuses)
                shown += "".join(f", {n} missing" for n in missing)
                raise PermanentError(
                    f"workloads in {namespace} not ready within {timeout:g}s: "
                    f"{shown or 'none found'}",
                    fix=f"`kubectl -n {namespace} get deploy,sts,pods` shows what is missing",
                )
            self._wait_for_change(namespace, version, left, ctx)

    def _statuses(
        self, namespace: str, names: list[str], selector: dict[str, str]
    ) -> tuple[list[WorkloadStatus], str | None]:
        """Every Deployment's and StatefulSet's status, and the Deployments list's version."""
        found: list[WorkloadStatus] = []
        version: str | None = None
        arguments = {"label_selector": label_selector(selector)} if selector and not names else {}
        for kind, call in self._list_calls().items():
            listed = self.provider.api(
                f"list {kind}s in {namespace}", lambda call=call: call(namespace, **arguments)
            )
            if kind == "Deployment" and listed.metadata is not None:
                version = listed.metadata.resource_version
            found += [
                status_of(kind, item)
                for item in listed.items or []
                if not names or item.metadata.name in names
            ]
        return found, version

    def _wait_for_change(
        self, namespace: str, version: str | None, left: float, ctx: StepContext
    ) -> None:
        from kubernetes import watch

        stream = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for _ in stream.stream(  # type: ignore[no-untyped-call]
                self.apps().list_namespaced_deployment,
                namespace=namespace,
                resource_version=version,
                timeout_seconds=max(1, min(int(left), 30)),
            ):
                break
        except Exception:  # an expired version (410) or a broken stream: list again
            ctx.cancelled.wait(0.5)
        finally:
            stream.stop()  # type: ignore[no-untyped-call]

    def scale(self, namespace: str, kind: str, name: str, replicas: int) -> int:
        """Set the replicas; returns what they were."""
        body = {"spec": {"replicas": replicas}}
        if kind == "StatefulSet":
            read, patch = (
                self.apps().read_namespaced_stateful_set_scale,
                self.apps().patch_namespaced_stateful_set_scale,
            )
        else:
            read, patch = (
                self.apps().read_namespaced_deployment_scale,
                self.apps().patch_namespaced_deployment_scale,
            )
        before = self.provider.api(
            f"read the scale of {kind} {namespace}/{name}", lambda: read(name, namespace)
        )
        self.provider.api(f"scale {kind} {namespace}/{name}", lambda: patch(name, namespace, body))
        return int(before.spec.replicas or 0)

    def _list_calls(self) -> dict[str, Any]:
        return {
            "Deployment": self.apps().list_namespaced_deployment,
            "StatefulSet": self.apps().list_namespaced_stateful_set,
        }


def status_of(kind: str, item: Any) -> WorkloadStatus:
    desired = int(item.spec.replicas if item.spec.replicas is not None else 1)
    ready = int((item.status.ready_replicas if item.status else 0) or 0)
    return WorkloadStatus(item.metadata.name, kind, desired, ready)


def _ready(status: WorkloadStatus) -> bool:
    return status.desired > 0 and status.ready >= status.desired


def selector_text(selector: Any) -> str:
    """A ``V1LabelSelector`` as the API server's label selector string."""
    if selector is None:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        values = ",".join(expression.values or [])
        parts.append(
            {
                "In": f"{expression.key} in ({values})",
                "NotIn": f"{expression.key} notin ({values})",
                "Exists": expression.key,
                "DoesNotExist": f"!{expression.key}",
            }[expression.operator]
        )
    return ",".join(parts)


def _pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _restarts(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(c.get("restartCount") or 0) for c in statuses)


def _terminated_after(pod: dict[str, Any], moment: datetime) -> int:
    """Containers whose last termination came after ``moment`` (at least one restart each)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    count = 0
    for container in statuses:
        ended = ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        finished = parse_utc(ended)
        if finished is not None and finished >= moment and container.get("restartCount"):
            count += 1
    return count
