"""Deployments and StatefulSets: their readiness (the ``workload-ready`` source), waiting for
them with a watch, and scaling them through the ``scale`` subresource."""

from __future__ import annotations

import time
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.kubernetes.selectors import label_selector, paged
from drillkit.providers.sources import WorkloadStatus

KINDS = ("Deployment", "StatefulSet")


class KubernetesWorkloads:
    def __init__(self, provider: Any) -> None:
        self.provider = provider

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
                found.append(status_of(kind, item))
        return found

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
