"""The shipped zone-outage and region-failover drills, unchanged, on an EKS target.

Each drill runs as a real ``drill run`` process in the world of
``tests/support/eks_world.py``: the Kubernetes API emulator with its
controllers, its AWS side in moto (VPC, one subnet per zone, an EC2 instance
behind every node, the node group's Auto Scaling group, the orders name's
Route 53 failover records and health checks, a KMS signing key), reached over
HTTP by the real boto3 the provider uses, and the orders service in two
regions behind a loopback DNS server that answers from moto's records as
Route 53 would.

``zone-outage-orders`` runs with ``mode: auto``, which on eks cuts the zone's
subnets off with a deny-all network ACL and cordons and taints the zone's
nodes. ``region-failover-orders`` takes the primary region out of Route 53
(its failover record's health check inverted), fails traffic over to the
standby and proves with the routing probe that users reach us-west-2. A
thread reads moto and the emulator while a drill runs, so "the fault
happened" is seen on the platform, and "it was undone exactly" is checked
against what was there before. Runs sign their evidence with the KMS key, and
the evidence is verified offline with the exported public key. A zone run is
killed right after its fault is applied, and ``drill recover`` must undo it
from the journal alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import JournalEvent, read_journal
from tests.support.aws_seed import (
    REGION,
    STANDBY,
    SeededAws,
    client,
    instance_states,
    route53_state,
    subnet_acls,
)
from tests.support.eks_world import KMS_URI, TARGET, World, eks_world
from tests.support.kube.catalogue import LEASES, NODES
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.moto_server import MotoServer
from tests.support.poller import Poller

pytestmark = pytest.mark.slow

TAINT_KEY = "drillkit.io/zone-outage"


@dataclass
class Seen:
    """What the platform looked like at some moment while the drill ran."""

    zone_a_acls: set[str] = field(default_factory=set)
    tainted: set[str] = field(default_factory=set)


class Watcher(Poller):
    """Polls moto and the emulator from a thread while the drill runs."""

    def __init__(self, kube: KubeCluster, seeded: SeededAws) -> None:
        super().__init__("eks-watcher", interval=0.1)
        self.kube, self.seeded, self.seen = kube, seeded, Seen()
        self._ec2 = client("ec2")

    def poll(self) -> None:
        answer = self._ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [self.seeded.subnets["a"]]}]
        )
        self.seen.zone_a_acls.update(a["NetworkAclId"] for a in answer["NetworkAcls"])
        for node in self.kube.store.list(NODES):
            if any(t["key"] == TAINT_KEY for t in node["spec"].get("taints") or []):
                self.seen.tainted.add(node["metadata"]["name"])


@dataclass
class Outcome:
    seeded: SeededAws
    acls_before: dict[str, str]
    planned: subprocess.CompletedProcess[str]
    result: subprocess.CompletedProcess[str]
    verified: subprocess.CompletedProcess[str]
    events: list[JournalEvent]
    seen: Seen
    acls_after: dict[str, str]
    run_acls_after: list[str]
    nodes_after: dict[str, dict[str, Any]]
    states_after: dict[str, str]
    signed_by: str
    """The key id of the attestation's signature."""

    def first(self, event_type: str) -> JournalEvent:
        return next(e for e in self.events if e.type == event_type)


@pytest.fixture(scope="module")
def world(
    moto_server: MotoServer,
    kube_server: KubeApiServer,
    kube_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    with eks_world(moto_server, kube_server, kube_config, tmp_path_factory.mktemp("eks-repo")) as w:
        yield w


@pytest.fixture(scope="module")
def zone_outage(world: World) -> Outcome:
    acls_before = subnet_acls(world.subnets)
    planned = world.drill("plan", "zone-outage-orders", "--target", TARGET)
    with Watcher(world.kube, world.seeded) as watcher:
        result = world.drill(
            "run", "zone-outage-orders", "--target", TARGET, "--signing-key", KMS_URI
        )
    runs = world.root / "reports" / "zone-outage-orders"
    assert runs.is_dir(), result.stdout + result.stderr
    folder = sorted(runs.iterdir())[-1]
    verified = world.verify_offline(folder)
    return Outcome(
        seeded=world.seeded,
        acls_before=acls_before,
        planned=planned,
        result=result,
        verified=verified,
        events=read_journal(folder / "journal.jsonl").events,
        seen=watcher.seen,
        acls_after=subnet_acls(world.subnets),
        run_acls_after=world.run_acls(),
        nodes_after=world.nodes(),
        states_after=instance_states(world.seeded.all_instances()),
        signed_by=json.loads((folder / "attestation.intoto.json").read_text())["signatures"][0][
            "keyid"
        ],
    )


def test_the_plan_lists_the_zones_subnet_its_acl_association_and_nodes(
    zone_outage: Outcome,
) -> None:
    planned, seeded = zone_outage.planned, zone_outage.seeded
    assert planned.returncode == 0, planned.stdout + planned.stderr
    blast = planned.stdout.split("Blast radius (what each step touches now):\n", 1)[1]
    lines = blast.splitlines()
    assert lines[:3] == [
        f"  lose-zone-a: zone {REGION}a (outage)",
        f"  lose-zone-a: network-acl deny-all in {seeded.vpc} (create)",
        f"  lose-zone-a: subnet {seeded.subnets['a']} "
        f"(network ACL {seeded.default_acl} -> deny-all)",
    ]
    assert lines[3].startswith("  lose-zone-a: acl-association aclassoc-")
    assert f"  lose-zone-a: node node-a-1 (cordon+taint {TAINT_KEY})" in lines
    assert f"  lose-zone-a: node node-a-2 (cordon+taint {TAINT_KEY})" in lines


def test_the_drill_passes_and_its_kms_signed_evidence_verifies_offline(
    zone_outage: Outcome,
) -> None:
    result = zone_outage.result
    assert result.returncode == 0, result.stdout + result.stderr
    ended = zone_outage.first("run-ended").data["summary"]
    assert ended["verdict"] == "passed"
    assert ended["faultsLeftApplied"] == []
    assert zone_outage.verified.returncode == 0, zone_outage.verified.stdout
    assert zone_outage.signed_by.startswith("arn:aws:kms:us-east-1:123456789012:key/")


def test_the_identity_names_the_aws_account_and_the_eks_cluster(zone_outage: Outcome) -> None:
    identity = zone_outage.first("identity").data
    assert identity["provider"] == "eks"
    assert identity["aws"]["account"] == "123456789012"
    assert identity["aws"]["cluster"]["arn"] == zone_outage.seeded.cluster_arn


def test_zone_a_was_cut_off_at_the_network_and_tainted_during_the_run(
    zone_outage: Outcome,
) -> None:
    seeded = zone_outage.seeded
    deny = zone_outage.first("fault-applied").data["result"]["network"]["networkAclId"]
    assert zone_outage.seen.zone_a_acls == {seeded.default_acl, deny}
    assert zone_outage.seen.tainted == {"node-a-1", "node-a-2"}
    undo = zone_outage.first("fault-undo-planned").data
    assert undo["undo"]["layers"]["network"]["subnets"] == [
        {"subnetId": seeded.subnets["a"], "networkAclId": seeded.default_acl}
    ]


def test_everything_is_as_before_after_the_run(zone_outage: Outcome) -> None:
    assert zone_outage.acls_after == zone_outage.acls_before
    assert zone_outage.run_acls_after == []
    assert set(zone_outage.states_after.values()) == {"running"}
    for name, spec in zone_outage.nodes_after.items():
        assert not spec.get("unschedulable"), name
        assert not any(t["key"] == TAINT_KEY for t in spec.get("taints") or []), name


# -- region-failover-orders: Route 53 moves users to the standby region ----------------


class Route53Watcher(Poller):
    """Polls the orders name's health checks in moto while the drill runs; notes every
    check seen inverted."""

    def __init__(self, zone: str) -> None:
        super().__init__("route53-watcher", interval=0.1)
        self.zone = zone
        self.inverted: set[str] = set()

    def poll(self) -> None:
        _, checks = route53_state(self.zone)
        self.inverted.update(c for c, config in checks.items() if config.get("Inverted"))


@dataclass
class Failover:
    """One ``region-failover-orders`` run and Route 53 (and DNS) around it."""

    route53_before: tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]
    answered_before: str | None
    planned: subprocess.CompletedProcess[str]
    result: subprocess.CompletedProcess[str]
    verified: subprocess.CompletedProcess[str]
    events: list[JournalEvent]
    inverted: set[str]
    answers: list[str]
    """Every address DNS sent a client to while the drill ran, in order."""
    route53_after: tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]
    answered_after: str | None

    @property
    def summary(self) -> dict[str, Any]:
        ended = next(e for e in self.events if e.type == "run-ended")
        found: dict[str, Any] = ended.data["summary"]
        return found


@pytest.fixture(scope="module")
def region_failover(world: World) -> Failover:
    zone = world.route53.zone
    route53_before = route53_state(zone)
    answered_before = world.edge.resolve()
    planned = world.drill("plan", "region-failover-orders", "--target", TARGET)
    first_answer = len(world.dns.answers)
    with Route53Watcher(zone) as watcher:
        # --yes answers the drill's go/no-go checkpoint, as CI does.
        result = world.drill(
            "run", "region-failover-orders", "--target", TARGET, "--yes", "--signing-key", KMS_URI
        )
    answers = [value for _, values in world.dns.answers[first_answer:] for value in values]
    runs = world.root / "reports" / "region-failover-orders"
    assert runs.is_dir(), result.stdout + result.stderr
    folder = sorted(runs.iterdir())[-1]
    return Failover(
        route53_before=route53_before,
        answered_before=answered_before,
        planned=planned,
        result=result,
        verified=world.verify_offline(folder),
        events=read_journal(folder / "journal.jsonl").events,
        inverted=watcher.inverted,
        answers=answers,
        route53_after=route53_state(zone),
        answered_after=world.edge.resolve(),
    )


def test_the_region_failover_plan_lists_the_route53_health_checks_it_inverts(
    region_failover: Failover, world: World
) -> None:
    planned = region_failover.planned
    assert planned.returncode == 0, planned.stdout + planned.stderr
    blast = planned.stdout.split("Blast radius (what each step touches now):\n", 1)[1]
    primary_check = world.route53.checks[REGION]
    assert f"  lose-primary-region: region {REGION} (outage)" in blast.splitlines()
    assert (
        f"  lose-primary-region: health-check {primary_check} (invert (forced unhealthy))"
        in blast.splitlines()
    )
    # The runbook's traffic-failover would take the same record out, were it still in.
    assert (
        f"  fail-over: health-check {primary_check} (invert (forced unhealthy))"
        in blast.splitlines()
    )


def test_region_failover_passes_measures_the_rpo_and_its_evidence_verifies(
    region_failover: Failover,
) -> None:
    result = region_failover.result
    assert result.returncode == 0, result.stdout + result.stderr
    summary = region_failover.summary
    assert summary["verdict"] == "passed"
    assert summary["faultsLeftApplied"] == []
    # The fronts share one store (a synchronously replicated database): nothing is lost,
    # and the canary really measured that.
    assert summary["rpoSeconds"] is not None and 0 <= summary["rpoSeconds"] <= 5 * 60
    assert summary["canaryWritesLost"] == 0
    acknowledged = [
        e.data["seq"] for e in region_failover.events if e.type == "canary-write" and e.data["ok"]
    ]
    read = next(e for e in region_failover.events if e.type == "canary-read")
    assert acknowledged and read.data["survivors"] == acknowledged
    assert {o["name"]: o["met"] for o in summary["objectives"]} == {"rto": True, "rpo": True}
    assert region_failover.verified.returncode == 0, region_failover.verified.stdout


def test_route53_sent_users_to_the_standby_region_during_the_run(
    region_failover: Failover, world: World
) -> None:
    primary, standby = world.fronts[REGION].address, world.fronts[STANDBY].address
    assert region_failover.answered_before == primary
    assert region_failover.inverted == {world.route53.checks[REGION]}
    assert standby in region_failover.answers
    applied = next(e for e in region_failover.events if e.type == "fault-applied")
    assert applied.data["result"]["healthChecks"] == [world.route53.checks[REGION]]
    # The drill's own routing probe resolved the name through DNS and asked the service.
    routed = next(
        e
        for e in region_failover.events
        if e.type == "probe-result" and e.step == "traffic-on-standby"
    )
    assert routed.data["ok"] is True
    assert routed.data["values"]["records"] == [standby]
    assert routed.data["values"]["region"] == STANDBY


def test_route53_is_byte_for_byte_as_before_after_the_run(
    region_failover: Failover, world: World
) -> None:
    assert region_failover.route53_after == region_failover.route53_before
    assert region_failover.answered_after == world.fronts[REGION].address


# -- a killed zone run and `drill recover` (last: its Lease outlives it) ---------------


@dataclass
class Crash:
    """A run killed (SIGKILL) right after its fault was applied, then ``drill recover``."""

    acls_before: dict[str, str]
    acls_while_dead: dict[str, str]
    tainted_while_dead: list[str]
    recovered: subprocess.CompletedProcess[str]
    again: subprocess.CompletedProcess[str]
    acls_after: dict[str, str]
    run_acls_after: list[str]
    nodes_after: dict[str, dict[str, Any]]
    lease_while_dead: dict[str, Any]
    lease_after: dict[str, Any]


@pytest.fixture(scope="module")
def crashed(world: World, zone_outage: Outcome, region_failover: Failover) -> Crash:
    """Runs after the other drills (on the platform they left as they found it). The killed
    run's Lease would hold the target until it expires; ``drill recover`` gives it back."""
    acls_before = subnet_acls(world.subnets)
    runs = world.root / "reports" / "zone-outage-orders"
    known = set(runs.iterdir()) if runs.is_dir() else set()
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", "run", "zone-outage-orders", "--target", TARGET],
        cwd=world.root,
        env=world.environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    folder: Path | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        new = sorted(set(runs.iterdir()) - known) if runs.is_dir() else []
        if new and (new[0] / "journal.jsonl").exists():
            folder = new[0]
            events = read_journal(folder / "journal.jsonl", verify=False).events
            if any(e.type == "fault-applied" for e in events):
                break
        time.sleep(0.05)
    process.kill()
    _, stderr = process.communicate(timeout=10)
    assert folder is not None, stderr.decode()
    acls_while_dead = subnet_acls(world.subnets)
    tainted = sorted(
        name
        for name, spec in world.nodes().items()
        if any(t["key"] == TAINT_KEY for t in spec.get("taints") or [])
    )
    lease_while_dead = lease_spec(world)
    recovered = world.drill("recover", folder.name)
    again = world.drill("recover", folder.name)
    return Crash(
        acls_before=acls_before,
        acls_while_dead=acls_while_dead,
        tainted_while_dead=tainted,
        recovered=recovered,
        again=again,
        acls_after=subnet_acls(world.subnets),
        run_acls_after=world.run_acls(),
        nodes_after=world.nodes(),
        lease_while_dead=lease_while_dead,
        lease_after=lease_spec(world),
    )


def lease_spec(world: World) -> dict[str, Any]:
    found = world.kube.store.find(LEASES, "default", f"drillkit-{TARGET}")
    return dict((found or {}).get("spec") or {})


def test_a_killed_run_leaves_the_zone_cut_off_and_drill_recover_puts_it_back(
    crashed: Crash, world: World
) -> None:
    zone_a = world.seeded.subnets["a"]
    assert crashed.acls_while_dead[zone_a] != crashed.acls_before[zone_a]
    assert crashed.tainted_while_dead == ["node-a-1", "node-a-2"]

    assert crashed.recovered.returncode == 0, crashed.recovered.stdout + crashed.recovered.stderr
    assert crashed.acls_after == crashed.acls_before
    assert crashed.run_acls_after == []
    for name, spec in crashed.nodes_after.items():
        assert not spec.get("unschedulable"), name
        assert not any(t["key"] == TAINT_KEY for t in spec.get("taints") or []), name
    assert "undone: lose-zone-a/zone-outage" in crashed.recovered.stdout
    # Recovering again finds nothing left to undo, in the journal and on the platform.
    assert crashed.again.returncode == 0, crashed.again.stdout + crashed.again.stderr
    assert "recovered: 0 fault(s) undone" in crashed.again.stdout
    assert "Traceback" not in crashed.again.stderr
    # The dead run held the target's Lease; recovery took it back and gave it up, so the
    # next drill can start at once instead of after the Lease expires.
    assert crashed.lease_while_dead.get("holderIdentity"), crashed.lease_while_dead
    assert crashed.lease_after.get("holderIdentity") is None, crashed.lease_after
    assert "the target lock is free again" in crashed.recovered.stdout
