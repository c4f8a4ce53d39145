"""`kill -9` of `drill run` at randomly chosen journal points on the emulated EKS and AKS
setups, then `drill recover`: every fault is undone, every time.

Twelve of the crash suite's twenty trials (the sandbox's eight are in
``test_crash.py``): on each setup, three of ``zone-outage-orders`` and three of
``region-failover-orders``, the shipped drills with the zone hold shortened to
2 s (a new version, locked, see ``sandbox_repo.hold_briefly``). A reference run
of each drill on each setup gives its journal length L; each trial starts the
drill as a real process and SIGKILLs it as soon as its journal holds k lines,
k uniform in [2, L - 1] from the recorded seed (``DRILLKIT_RELIABILITY_SEED``
replays a failure), then runs ``drill recover RUN``.

What is still applied is read from the platform itself, never from drillkit's
report, and compared with what it was just before the trial:

- EKS (moto and the Kubernetes emulator): every subnet's network ACL
  association, no network ACL that was not there before (a drillkit deny-all
  NACL), the orders records and health checks in Route 53, instance states
  and the node group's Auto Scaling group, every node's cordon and taints,
  and the target's Lease free;
- AKS (the ARM test server and the emulator): every scale-set instance's
  power state, the node pools (autoscaler settings), the node subnet's
  security rules, the Traffic Manager profile's endpoints, every node's
  cordon and taints, and the Lease free. The one change allowed to stay is
  the endpoint priorities the failover runbook sets (standby first): that
  step is the recovery, not a fault, and a finished run keeps it too.

Each setup's world is built once for its class (the Kubernetes emulator is
one per worker, so the EKS world must be gone before the AKS one seeds it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.figures import tally
from tests.reliability.kill_points import (
    DEFAULT_SEED,
    chain_verifies,
    events_of,
    kill_points,
    run_and_kill,
)
from tests.reliability.sandbox_repo import hold_briefly
from tests.support.aks_world import (
    LOCATION,
    Setting,
    aks_setting,
    azure_state,
    ready_replicas,
    seeded,
)
from tests.support.aks_world import TARGET as AKS_TARGET
from tests.support.arm.aks_seed import AksLayout
from tests.support.arm.fixtures import REGIONS
from tests.support.arm.platform import NodeLifecycle, TrafficRouting
from tests.support.arm.server import ArmServer
from tests.support.aws_seed import client, instance_states, route53_state, subnet_acls
from tests.support.eks_world import TARGET as EKS_TARGET
from tests.support.eks_world import World, eks_world
from tests.support.kube.catalogue import LEASES, NODES
from tests.support.kube.controllers import wait_for
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", str(DEFAULT_SEED)))
TRIALS = {"zone-outage-orders": 3, "region-failover-orders": 3}
ARGS = {"zone-outage-orders": (), "region-failover-orders": ("--yes",)}
"""--yes answers the region drill's go/no-go checkpoint, as CI does."""

State = dict[str, Any]


def differences(before: State, now: State) -> list[str]:
    """What is not as it was, one line per thing, naming it and both values."""
    found = []
    for key in sorted(before.keys() | now.keys()):
        if before.get(key) != now.get(key):
            found.append(f"{key}: {before.get(key)!r} -> {now.get(key)!r}")
    return found


def node_marks(store: Any) -> State:
    """Every node's cordon and taints, as the emulator has them."""
    return {
        f"node {n['metadata']['name']}": {
            "unschedulable": bool(n["spec"].get("unschedulable")),
            "taints": sorted(t["key"] for t in n["spec"].get("taints") or []),
        }
        for n in store.list(NODES)
    }


def lease_holder(store: Any, target: str) -> str | None:
    """Who holds the target's drill lock (a Lease in the emulator), if anyone."""
    found = store.find(LEASES, "default", f"drillkit-{target}")
    holder = ((found or {}).get("spec") or {}).get("holderIdentity")
    return str(holder) if holder else None


@dataclass
class Setup:
    """One cloud setup as the trials see it: where drills run, and its true state."""

    name: str
    target: str
    repo: Path
    environment: dict[str, str]
    state: Callable[[], State]
    """The platform's state, read directly, with the Lease under ``lease``."""
    settle: Callable[[], None]
    """Waits until the platform has reacted to the last change (and orders serve)."""

    after_kill: Callable[[], None] = lambda: None
    """What the platform does by itself once the drill process is gone."""

    def drill(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.repo,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def crash_trials(setup: Setup, name: str, allowed: Callable[[State, State], State]) -> None:
    """The reference run, then TRIALS[name] kill-and-recover trials, each checked against
    the platform; records every trial in the figures and fails naming what was left."""
    args = (name, "--target", setup.target, *ARGS[name], "--no-sign")
    reference = setup.drill("run", *args)
    assert reference.returncode == 0, reference.stdout + reference.stderr
    runs = setup.repo / "reports" / name
    types = events_of(sorted(runs.iterdir())[-1] / "journal.jsonl")
    length = len(types)
    points = kill_points(SEED, f"{setup.name}/{name}", length, TRIALS[name])
    figures = tally("crash: kill -9 + recover")
    failures: list[str] = []
    ended: list[int] = []
    for point in points:
        setup.settle()
        before = setup.state()
        assert before["lease"] is None, before["lease"]
        killed = run_and_kill(setup.repo, setup.environment, args, point, types)
        during = setup.state()
        setup.after_kill()
        recovered = setup.drill("recover", killed.journal.parent.name)
        with contextlib.suppress(TimeoutError):  # what did not settle is named below
            setup.settle()
        left = differences(before, allowed(before, setup.state()))
        # Each thing the kill left changed on the platform (the Lease aside) counts as one
        # fault survived when recovery put it back.
        applied = [
            d for d in differences(before, allowed(before, during)) if not d.startswith("lease")
        ]
        chain_ok = chain_verifies(killed.journal)
        ok = recovered.returncode == 0 and not left and chain_ok
        if not killed.killed:
            ended.append(point)
        figures.record(ok, survived=len(applied) if ok else 0, left=len(left))
        if not ok:
            failures.append(
                f"{setup.name} {name} killed at line {point} (journal held {killed.lines}, "
                f"last event {killed.last_event}, killed {killed.killed}): recover exit "
                f"{recovered.returncode}, chain ok {chain_ok}, still applied:\n  "
                + "\n  ".join(left)
                + f"\n{recovered.stdout}{recovered.stderr}"
            )
    figures.notes.append(
        f"{setup.name} {name}: kill points {points} (seed {SEED}, journal of {length} lines)"
        + (f"; ended by itself before the kill at {ended}" if ended else "")
    )
    assert not failures, "\n".join(failures)


def exactly(before: State, after: State) -> State:
    """Nothing may differ."""
    return after


# -- EKS: moto and the Kubernetes emulator ------------------------------------------------


@pytest.fixture(scope="class")
def eks(
    moto_server: MotoServer,
    kube_server: KubeApiServer,
    kube_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("crash-eks")
    with eks_world(moto_server, kube_server, kube_config, root) as world:
        hold_briefly(world.root, warmup=True)
        locked = world.drill("lock")
        assert locked.returncode == 0, locked.stdout + locked.stderr
        yield Setup(
            "eks",
            EKS_TARGET,
            world.root,
            world.environment,
            state=lambda: eks_state(world),
            settle=lambda: wait_for(lambda: ready_replicas(world.kube) == 3, timeout=30),
        )


def eks_state(world: World) -> State:
    ec2 = client("ec2")
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [world.seeded.vpc]}])[
        "NetworkAcls"
    ]
    records, checks = route53_state(world.route53.zone)
    state: State = {
        "subnet network ACLs": subnet_acls(world.subnets),
        "network ACLs in the VPC": sorted(a["NetworkAclId"] for a in acls),
        "route53 records": records,
        "route53 health checks": checks,
        "instances": instance_states(world.seeded.all_instances()),
        "lease": lease_holder(world.kube.store, EKS_TARGET),
    }
    if world.seeded.group:
        (group,) = client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[world.seeded.group]
        )["AutoScalingGroups"]
        state["auto scaling group"] = {
            "suspended": sorted(p["ProcessName"] for p in group.get("SuspendedProcesses") or []),
            "subnets": group.get("VPCZoneIdentifier"),
            "sizes": [group["MinSize"], group["MaxSize"], group["DesiredCapacity"]],
        }
    return state | node_marks(world.kube.store)


class TestEks:
    @pytest.mark.parametrize("name", list(TRIALS))
    def test_kill_9_at_random_journal_points_then_recover_leaves_nothing_applied(
        self, eks: Setup, name: str
    ) -> None:
        crash_trials(eks, name, exactly)


# -- AKS: the ARM test server and the Kubernetes emulator ---------------------------------


@pytest.fixture(scope="class")
def aks_repo(
    kube_server: KubeApiServer,
    kube_config: Path,
    arm_server: ArmServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setting]:
    root = tmp_path_factory.mktemp("crash-aks")
    with aks_setting(kube_server, kube_config, arm_server, root) as setting:
        hold_briefly(setting.repo, warmup=True)
        locked = setting.drill("lock")
        assert locked.returncode == 0, locked.stdout + locked.stderr
        yield setting


@contextlib.contextmanager
def aks_setup(
    setting: Setting, kube_server: KubeApiServer, kube_config: Path, arm_server: ArmServer
) -> Iterator[Setup]:
    """A freshly seeded AKS cluster with Azure's own reactions running (nodes of powered-off
    instances go unreachable; users follow Traffic Manager), for one drill's trials."""
    with seeded(kube_server, kube_config, arm_server) as (kube, layout):
        setting.front.region = LOCATION
        with (
            NodeLifecycle(arm_server.world, kube.store),
            TrafficRouting(arm_server.world, layout.profile_id, setting.front),
        ):
            yield Setup(
                "aks",
                AKS_TARGET,
                setting.repo,
                setting.environment,
                state=lambda: aks_state(arm_server, layout, kube),
                settle=lambda: wait_for(lambda: aks_settled(arm_server, layout, kube), timeout=30),
                after_kill=lambda: finish_operations(arm_server),
            )


def aks_state(server: ArmServer, layout: AksLayout, kube: KubeCluster) -> State:
    azure = azure_state(server, layout)
    profile = azure.pop("profile")
    state: State = {key.rsplit("/providers/", 1)[-1]: value for key, value in azure.items()}
    for endpoint in profile:
        state[f"traffic manager endpoint {endpoint['name']}"] = endpoint["properties"]
    state["lease"] = lease_holder(kube.store, AKS_TARGET)
    return state | node_marks(kube.store)


def finish_operations(server: ArmServer) -> None:
    """Complete every long-running operation still in progress, as Azure does on its own.

    The ARM test server completes an operation only when its status is read, and a
    killed run never reads again: without this, a node pool the dead run had just
    updated would stay ``Updating`` forever, which no real cluster does."""
    with server.world.lock:
        for operation in server.world.operations.values():
            while operation.poll() == "InProgress":
                pass


def aks_settled(server: ArmServer, layout: AksLayout, kube: KubeCluster) -> bool:
    """Every node whose instance runs is reachable again, and orders serve with three."""
    powers = {i["id"].lower(): i["_power"] for i in server.world.instances()}
    for node in kube.store.list(NODES):
        power = powers.get(node["spec"].get("providerID", "").removeprefix("azure://").lower())
        unreachable = any(
            t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"].get("taints") or []
        )
        if (power == "running") == unreachable:
            return False
    return ready_replicas(kube) == 3


def failover_kept(before: State, after: State) -> State:
    """``after`` with the endpoint priorities put back as before when they are exactly the
    failover runbook's (standby first): that change is the recovery, which a finished run
    keeps too; every other endpoint field, and any other priority, must be as before."""
    standby = f"traffic manager endpoint orders-{REGIONS['standby']}"
    primary = f"traffic manager endpoint orders-{LOCATION}"
    if not (standby in after and primary in after):
        return after
    if (after[standby]["priority"], after[primary]["priority"]) != (1, 2):
        return after
    return after | {
        key: after[key] | {"priority": before[key]["priority"]} for key in (standby, primary)
    }


class TestAks:
    @pytest.mark.parametrize("name", list(TRIALS))
    def test_kill_9_at_random_journal_points_then_recover_leaves_nothing_applied(
        self,
        aks_repo: Setting,
        kube_server: KubeApiServer,
        kube_config: Path,
        arm_server: ArmServer,
        name: str,
    ) -> None:
        with aks_setup(aks_repo, kube_server, kube_config, arm_server) as setup:
            crash_trials(setup, name, failover_kept)
