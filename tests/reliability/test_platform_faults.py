"""The shipped Kubernetes drills with the platform misbehaving under them.

A fault-injecting proxy (tests/support/fault_proxy.py) sits between drillkit
and the Kubernetes API emulator: on a seeded share of calls it answers 429
(with Retry-After), 500 or 503, resets the connection, or holds the request
10 s before forwarding it. Each drill runs as a real `drill run` process whose
target's kubeconfig points at the proxy. Every run must either complete (the
engine's retries absorbed the faults, and its report counts them) or abort
cleanly; either way no fault may be left applied on the cluster, which is
read directly from the emulator's store afterwards, not from the report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.figures import tally
from tests.support.fault_proxy import FaultPlan, FaultProxy
from tests.support.kube.server import KubeApiServer
from tests.support.kube_drills import Setting, kubernetes_setting, record

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", "20261124"))
DRILLS = ("pod-kill-orders", "node-failure-orders", "zone-outage-orders")
# Stalls are one kind in nine, so about one call in thirty-six waits 10 s: a drill's few hundred
# calls meet a few, as a slow control plane would, without a run taking minutes.
PLAN = FaultPlan(
    share=0.25,
    faults=("429", "500", "503", "reset") * 2 + ("stall",),
    stall_seconds=10.0,
    seed=SEED,
)


@pytest.fixture(scope="module")
def proxied(
    kube_server: KubeApiServer, kube_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FaultProxy, Setting]]:
    folder = tmp_path_factory.mktemp("platform-faults")
    with FaultProxy(kube_server.url, PLAN) as proxy:
        config = folder / "kubeconfig-through-proxy"
        config.write_text(kube_config.read_text().replace(kube_server.url, proxy.url))
        with kubernetes_setting(folder / "repo", kube_server, config) as setting:
            yield proxy, setting


@pytest.mark.parametrize("name", DRILLS)
def test_a_drill_through_a_failing_api_completes_or_aborts_and_leaves_nothing_applied(
    proxied: tuple[FaultProxy, Setting], kube_server: KubeApiServer, kube_config: Path, name: str
) -> None:
    proxy, setting = proxied
    before = proxy.injected
    outcome = record(setting, kube_server, kube_config, name)
    injected = proxy.injected - before
    summary = outcome.summary
    output = outcome.output
    clean_exit = outcome.result.returncode in (0, 1) and "internal error" not in output
    left = summary["faultsLeftApplied"]
    applied = summary["faultsApplied"]
    ok = clean_exit and left == [] and outcome.problems == []
    figures = tally("platform faults: Kubernetes")
    figures.record(ok, survived=len(applied) if ok else 0, left=len(left) + len(outcome.problems))
    figures.notes.append(
        f"{name}: {summary['verdict']}, {sum(injected.values())} faults injected "
        f"({dict(sorted(injected.items()))}), {summary['retries']} retries in the report, "
        f"{len(applied)} applied / {len(summary['faultsReverted'])} undone"
    )
    assert clean_exit, output
    assert "Traceback" not in output
    assert left == [], output
    assert outcome.problems == [], (outcome.problems, output)
    if summary["verdict"] == "passed":
        assert outcome.verified.returncode == 0, outcome.verified.stderr
