"""The ``workload-ready`` probe: the workloads a service needs have their replicas ready.

Named workloads must all exist; a selector must match at least one. Each
workload passes when ``ready * 100 >= desired * minReadyPercent``. A workload
scaled to zero fails: a drill checks that a service is back, and nothing
serves with zero replicas.
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
            "workloads": [
                {"name": w.name, "kind": w.kind, "desired": w.desired, "ready": w.ready}
                for w in found
            ],
        }
        problems = _missing(intent, found) + [
            problem for w in found if (problem := _not_ready(w, intent.min_ready_percent))
        ]
        if problems:
            return ProbeResult(False, "; ".join(problems), values)
        shown = ", ".join(f"{w.name} {w.ready}/{w.desired}" for w in found)
        return ProbeResult(True, f"ready in `{intent.namespace}`: {shown}", values)


def _missing(intent: WorkloadReadyProbe, found: list[WorkloadStatus]) -> list[str]:
    names = {w.name for w in found}
    missing = [f"workload `{name}` not found" for name in intent.workloads if name not in names]
    if not found and not missing:
        selector = ",".join(f"{k}={v}" for k, v in intent.selector.items()) or "(any)"
        missing.append(f"no workload in `{intent.namespace}` matches selector {selector}")
    return missing


def _not_ready(workload: WorkloadStatus, min_percent: int) -> str | None:
    if workload.desired == 0:
        return f"`{workload.name}` is scaled to zero"
    if workload.ready * 100 >= workload.desired * min_percent:
        return None
    detail = f" ({workload.detail})" if workload.detail else ""
    return (
        f"`{workload.name}` has {workload.ready}/{workload.desired} replicas ready, "
        f"below {min_percent}%{detail}"
    )


def _create(provider: Any) -> WorkloadReadyHandler | None:
    source = provider.workload_source()
    return WorkloadReadyHandler(provider, source) if source is not None else None


GENERIC_PROBES.register("workload-ready", _create)
