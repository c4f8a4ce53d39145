"""The ``workload-ready`` probe: the workloads a service needs have their replicas ready.

Named workloads must all exist; a selector must match at least one. Each
workload passes when ``ready * 100 >= desired * minReadyPercent``, where
``ready`` is the controller's count and, where the source reads pods too,
also the count of pods whose own ``Ready`` condition holds (the controller's
status can lag a pod that just failed). A workload scaled to zero fails: a
drill checks that a service is back, and nothing serves with zero replicas.
Container restarts since the first fault are reported, and judged against
``maxRestartsSinceFault`` when the drill sets it; a source that cannot count
them fails such a check rather than pass it unseen.
"""

from __future__ import annotations

from typing import Any

from drillkit.errors import DrillError
from drillkit.probes.registry import GENERIC_PROBES
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.providers.sources import WorkloadSource, WorkloadStatus
from drillkit.spec.probes import WorkloadReadyProbe


class WorkloadReadyHandler:
    def __init__(self, provider: Any, source: WorkloadSource) -> None:
        self.provider = provider
        self.source = source

    def measure(self, intent: WorkloadReadyProbe, ctx: StepContext) -> ProbeResult:
        try:
            found = self.source.workloads(
                intent.namespace, list(intent.workloads), dict(intent.selector), ctx
            )
        except DrillError as exc:
            return ProbeResult(
                False, f"cannot list workloads in `{intent.namespace}`: {exc.message}"
            )
        values: dict[str, Any] = {
            "namespace": intent.namespace,
            "workloads": [_described(w) for w in found],
        }
        problems = _missing(intent, found) + [
            problem
            for w in found
            for problem in (
                _not_ready(w, intent.min_ready_percent),
                _restarting(w, intent.max_restarts_since_fault, ctx),
            )
            if problem
        ]
        if problems:
            return ProbeResult(False, "; ".join(problems), values)
        shown = ", ".join(f"{w.name} {w.ready}/{w.desired}{_restarts_shown(w)}" for w in found)
        return ProbeResult(True, f"ready in `{intent.namespace}`: {shown}", values)


def _missing(intent: WorkloadReadyProbe, found: list[WorkloadStatus]) -> list[str]:
    names = {w.name for w in found}
    missing = [f"workload `{name}` not found" for name in intent.workloads if name not in names]
    if not found and not missing:
        selector = ",".join(f"{k}={v}" for k, v in intent.selector.items()) or "(any)"
        missing.append(f"no workload in `{intent.namespace}` matches selector {selector}")
    return missing


def _described(workload: WorkloadStatus) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": workload.name,
        "kind": workload.kind,
        "desired": workload.desired,
        "ready": workload.ready,
    }
    if workload.pods is not None:
        described["pods"] = workload.pods
        described["podsReady"] = workload.pods_ready
    if workload.restarts_since_fault is not None:
        described["restartsSinceFault"] = workload.restarts_since_fault
    return described


def _not_ready(workload: WorkloadStatus, min_percent: int) -> str | None:
    if workload.desired == 0:
        return f"`{workload.name}` is scaled to zero"
    ready = workload.ready
    if workload.pods_ready is not None:
        ready = min(ready, workload.pods_ready)
    if ready * 100 >= workload.desired * min_percent:
        return None
    detail = f" ({workload.detail})" if workload.detail else ""
    return (
        f"`{workload.name}` has {ready}/{workload.desired} replicas ready, "
        f"below {min_percent}%{detail}"
    )


def _restarting(workload: WorkloadStatus, limit: int | None, ctx: StepContext) -> str | None:
    if limit is None:
        return None
    if ctx.fault_started_at is None:
        return None  # before the fault there is nothing to count from
    restarts = workload.restarts_since_fault
    if restarts is None:
        return (
            f"`{workload.name}`: this target's source cannot count restarts since the fault, "
            "so maxRestartsSinceFault cannot be checked"
        )
    if restarts > limit:
        return (
            f"`{workload.name}` restarted {restarts} times since the fault, "
            f"above maxRestartsSinceFault {limit}"
        )
    return None


def _restarts_shown(workload: WorkloadStatus) -> str:
    restarts = workload.restarts_since_fault
    return f" ({restarts} restarts since the fault)" if restarts else ""


def _create(provider: Any) -> WorkloadReadyHandler | None:
    source = provider.workload_source()
    return WorkloadReadyHandler(provider, source) if source is not None else None


GENERIC_PROBES.register("workload-ready", _create)
