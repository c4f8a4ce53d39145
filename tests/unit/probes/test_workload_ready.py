"""The workload-ready probe over sandbox workload records and real processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillkit.providers.base import ProbeResult
from drillkit.sandbox.workload_status import Replica, SandboxWorkloads, Workload
from drillkit.spec.probes import WorkloadReadyProbe
from tests.support.probe_context import ProbeContext
from tests.support.sandbox_provider import sandbox_provider
from tests.support.test_provider import TestProvider


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)
    ]
    yield started
    for process in started:
        process.kill()
        process.wait()


def replicas(pids: list[int], ready: bool = True) -> tuple[Replica, ...]:
    zones = "abc"
    return tuple(
        Replica(f"orders-api-{i}", pid, f"node-{zones[i]}1", f"zone-{zones[i]}", "primary", ready)
        for i, pid in enumerate(pids)
    )


def measure(provider: TestProvider, **fields: object) -> ProbeResult:
    intent = WorkloadReadyProbe.model_validate({"type": "workload-ready", **fields})
    handler = provider.probe_handler("workload-ready")
    assert handler is not None
    result: ProbeResult = handler.measure(intent, ProbeContext())
    return result


def test_ready_when_every_replica_process_runs(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    provider, layout = sandbox_provider(tmp_path)
    pids = [p.pid for p in processes]
    SandboxWorkloads(layout).save(Workload("orders-api", "orders", 3, {}, replicas(pids)))

    result = measure(provider, namespace="orders", workloads=["orders-api"])

    assert result.ok, result.summary
    assert result.values["workloads"] == [
        {"name": "orders-api", "kind": "sandbox-service", "desired": 3, "ready": 3}
    ]


def test_a_killed_process_counts_as_not_ready_at_once(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxWorkloads(layout).save(
        Workload("orders-api", "orders", 3, {}, replicas([p.pid for p in processes]))
    )
    processes[1].kill()
    processes[1].wait()

    strict = measure(provider, namespace="orders", workloads=["orders-api"])
    lenient = measure(provider, namespace="orders", workloads=["orders-api"], minReadyPercent=60)

    assert not strict.ok
    assert "2/3 replicas ready, below 100% (process gone: orders-api-1)" in strict.summary
    assert lenient.ok


def test_missing_workloads_and_empty_selectors_fail(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxWorkloads(layout).save(
        Workload("orders-worker", "orders", 1, {"app": "orders"}, replicas([], ready=False))
    )

    named = measure(provider, namespace="orders", workloads=["orders-api"])
    selected = measure(provider, namespace="orders", selector={"app": "payments"})
    scaled_down = measure(provider, namespace="orders", selector={"app": "orders"})

    assert not named.ok and "workload `orders-api` not found" in named.summary
    assert (
        not selected.ok
        and "no workload in `orders` matches selector app=payments" in selected.summary
    )
    assert not scaled_down.ok and "0/1 replicas ready" in scaled_down.summary


def test_a_workload_scaled_to_zero_is_not_ready(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxWorkloads(layout).save(Workload("orders-api", "orders", 0))

    result = measure(provider, namespace="orders", workloads=["orders-api"], minReadyPercent=0)

    assert not result.ok and "scaled to zero" in result.summary
