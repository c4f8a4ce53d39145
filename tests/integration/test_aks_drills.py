"""The shipped zone-outage and region-failover drills, unchanged, against an AKS target:
real ``drill run`` processes on the Kubernetes emulator and the ARM test server together.

The repository is copied as shipped and gains only a ``targets.yaml`` with an
``aks`` target whose ``azure`` section points at the ARM test server (its
``resourceManager``) and whose credentials come from the server's managed
identity endpoint through the real ``DefaultAzureCredential``. Around the
drill, ``tests.support.arm.platform`` plays what Azure does by itself: a node
whose instance is deallocated becomes unreachable (its pods move), and
Traffic Manager routes users to the enabled endpoint of highest priority,
which is the region the orders front answers with.

Both sides are watched while the drill runs, so "the fault happened and was
undone" is read from the platform, not from the drill's own report, and each
run's signed evidence is verified with the session's public key.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import JournalEvent, read_journal
from tests.support.arm.aks_seed import AksLayout
from tests.support.arm.drill_world import (
    LOCATION,
    TARGET,
    UNROUTED,
    Setting,
    aks_setting,
    azure_state,
    ready_replicas,
    seeded,
)
from tests.support.arm.fixtures import REGIONS
from tests.support.arm.platform import NodeLifecycle, TrafficRouting
from tests.support.arm.server import ArmServer
from tests.support.kube.catalogue import NODES
from tests.support.kube.controllers import wait_for
from tests.support.kube.server import KubeApiServer
from tests.support.session import SIGNING_KEY

pytestmark = pytest.mark.slow


def drill(setting: Setting, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return setting.drill(*args, timeout=timeout)


@pytest.fixture(scope="module")
def setting(
    kube_server: KubeApiServer,
    kube_config: Path,
    arm_server: ArmServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setting]:
    root = tmp_path_factory.mktemp("aks-repo")
    with aks_setting(kube_server, kube_config, arm_server, root) as found:
        yield found


@dataclass
class Record:
    """One ``drill run`` on a fresh AKS world, with what both sides looked like around it."""

    result: subprocess.CompletedProcess[str]
    events: list[JournalEvent]
    verified: subprocess.CompletedProcess[str]
    layout: AksLayout
    lifecycle: NodeLifecycle
    routing: TrafficRouting
    before: dict[str, Any]
    after: dict[str, Any]
    ready_after: int

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def summary(self) -> dict[str, Any]:
        ended = next(e for e in self.events if e.type == "run-ended")
        found: dict[str, Any] = ended.data["summary"]
        return found

    def first(self, event_type: str) -> JournalEvent:
        return next(e for e in self.events if e.type == event_type)

    def calls(self, name: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == "provider-call" and e.data["call"] == name]


def record(
    setting: Setting,
    kube_server: KubeApiServer,
    kube_config: Path,
    arm_server: ArmServer,
    name: str,
    *args: str,
) -> Record:
    with seeded(kube_server, kube_config, arm_server) as (kube, layout):
        setting.front.region = LOCATION
        before = azure_state(arm_server, layout)
        with (
            NodeLifecycle(arm_server.world, kube.store) as lifecycle,
            TrafficRouting(arm_server.world, layout.profile_id, setting.front) as routing,
        ):
            result = drill(setting, "run", name, "--target", TARGET, *args)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: ready_replicas(kube) == 3, timeout=10)
        runs = setting.repo / "reports" / name
        assert runs.is_dir(), result.stdout + result.stderr
        folder = sorted(runs.iterdir())[-1]
        return Record(
            result=result,
            events=read_journal(folder / "journal.jsonl").events,
            verified=drill(
                setting, "verify", str(folder), "--key", os.environ[SIGNING_KEY] + ".pub"
            ),
            layout=layout,
            lifecycle=lifecycle,
            routing=routing,
            before=before,
            after=azure_state(arm_server, layout),
            ready_after=ready_replicas(kube),
        )


def assert_passed_and_put_back(outcome: Record) -> None:
    assert outcome.result.returncode == 0, outcome.output
    assert outcome.summary["verdict"] == "passed", outcome.output
    assert outcome.verified.returncode == 0, outcome.verified.stdout + outcome.verified.stderr
    identity = outcome.first("identity").data
    assert identity["provider"] == "aks"
    assert identity["azure"]["clusterId"] == outcome.layout.cluster_id
    assert identity["azure"]["caller"]["objectId"]
    assert outcome.summary["faultsLeftApplied"] == []
    assert outcome.summary["faultsApplied"] == outcome.summary["faultsReverted"] != []
    assert outcome.ready_after == 3


# -- zone-outage-orders ------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone_outage(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> Record:
    return record(setting, kube_server, kube_config, arm_server, "zone-outage-orders")


def test_zone_outage_passes_and_leaves_azure_exactly_as_it_found_it(zone_outage: Record) -> None:
    assert_passed_and_put_back(zone_outage)
    assert zone_outage.after == zone_outage.before


def test_zone_outage_powered_off_zone_one_in_every_pool_and_nothing_else(
    zone_outage: Record,
) -> None:
    layout, seen = zone_outage.layout, zone_outage.lifecycle.powers
    down = {n["name"] for n in layout.nodes if seen[n["name"]] - {"running"}}
    assert down == {n["name"] for n in layout.nodes_in("1")}
    assert {n["pool"] for n in layout.nodes_in("1")} == {"system", "orders"}
    # Users kept being served: the nodes went unreachable, their pods moved, RTO was met.
    assert zone_outage.lifecycle.unreachable == down
    applied = zone_outage.first("fault-applied").data["result"]
    assert sorted(applied["pausedAutoscaler"]) == ["orders", "system"]
    assert [c["pool"] for c in zone_outage.calls("node-pool-autoscaler")] == [
        "orders",
        "system",
        "orders",
        "system",
    ]


def test_zone_outage_plan_lists_node_pools_scale_sets_and_instances_and_changes_nothing(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> None:
    with seeded(kube_server, kube_config, arm_server) as (_, layout):
        before = azure_state(arm_server, layout)
        result = drill(setting, "plan", "zone-outage-orders", "--target", TARGET)
        after = azure_state(arm_server, layout)

    assert result.returncode == 0, result.stdout + result.stderr
    for node in layout.nodes_in("1"):
        assert f"{node['scaleSet']}/{node['instanceId']}" in result.stdout
    assert after == before
    assert [m for m, _ in arm_server.requests if m != "GET"] == []


# -- region-failover-orders --------------------------------------------------------------


@pytest.fixture(scope="module")
def region_failover(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> Record:
    return record(setting, kube_server, kube_config, arm_server, "region-failover-orders", "--yes")


def test_region_failover_passes_with_users_on_the_standby(region_failover: Record) -> None:
    assert_passed_and_put_back(region_failover)
    assert region_failover.routing.regions == [LOCATION, REGIONS["standby"]]


def test_region_failover_disabled_the_primary_then_gave_the_standby_first_priority(
    region_failover: Record,
) -> None:
    changes = region_failover.calls("traffic-manager-endpoint")
    assert [(c["endpoint"], c["set"]) for c in changes] == [
        (f"orders-{LOCATION}", {"endpoint_status": "Disabled"}),
        (f"orders-{LOCATION}", {"endpoint_status": "Enabled"}),
    ]
    (failover,) = region_failover.calls("traffic-manager-profile")
    assert failover["set"] == [
        f"orders-{REGIONS['standby']}: priority=1",
        f"orders-{LOCATION}: priority=2",
    ]
    # The outage is undone (the primary is enabled); the failover, a recovery, stays.
    endpoints = {e["name"]: e["properties"] for e in region_failover.after["profile"]}
    assert endpoints[f"orders-{LOCATION}"]["endpointStatus"] == "Enabled"
    assert endpoints[f"orders-{REGIONS['standby']}"]["priority"] == 1


def test_a_region_drill_on_a_target_without_a_profile_is_refused_at_plan_time(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> None:
    with seeded(kube_server, kube_config, arm_server):
        result = drill(setting, "plan", "region-failover-orders", "--target", UNROUTED)

    assert result.returncode != 0
    shown = result.stdout + result.stderr
    assert f"target `{UNROUTED}` names no Traffic Manager profile" in shown
    assert "add `trafficManagerProfile: NAME`" in shown
    assert "Traceback" not in shown


# -- a run killed mid-outage -------------------------------------------------------------


def test_a_run_killed_mid_outage_is_put_back_by_drill_recover_from_its_journal(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> None:
    runs = setting.repo / "reports" / "zone-outage-orders"
    known = set(runs.iterdir()) if runs.is_dir() else set()
    with seeded(kube_server, kube_config, arm_server) as (kube, layout):
        before = azure_state(arm_server, layout)
        process = subprocess.Popen(
            [sys.executable, "-m", "drillkit", "run", "zone-outage-orders", "--target", TARGET],
            cwd=setting.repo,
            env=setting.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: _applied(runs, known), timeout=60)
        finally:
            process.kill()
            process.wait(10)
        down = {n["name"] for n in layout.nodes if arm_server.world.power(_id(n)) != "running"}
        assert down == {n["name"] for n in layout.nodes_in("1")}

        recovered = drill(setting, "recover", "--target", TARGET)
        assert recovered.returncode == 0, recovered.stdout + recovered.stderr
        assert "undone: lose-zone-a/zone-outage" in recovered.stdout
        assert azure_state(arm_server, layout) == before
        assert not any(
            n["spec"].get("unschedulable") or n["spec"].get("taints")
            for n in kube.store.list(NODES)
        )
        again = drill(setting, "recover", str(_applied(runs, known)))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "nothing to undo" in again.stdout


def _applied(runs: Path, known: set[Path]) -> Path | None:
    """The new run's folder once its journal says the fault is applied."""
    for folder in set(runs.iterdir()) - known if runs.is_dir() else ():
        journal = folder / "journal.jsonl"
        if journal.exists() and '"fault-applied"' in journal.read_text(errors="replace"):
            return folder
    return None


def _id(node: dict[str, Any]) -> str:
    return str(node["providerID"]).removeprefix("azure://")
