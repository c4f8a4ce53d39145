"""The shipped zone-outage drill, unchanged, on an EKS target: a real ``drill run`` process.

The cluster is the Kubernetes API emulator with its controllers; its AWS side
(VPC, one subnet per zone, an EC2 instance behind every node, the node group's
Auto Scaling group) lives in moto, reached over HTTP by the real boto3 the
provider uses. The emulator's nodes carry the providerIDs of the seeded
instances, as kubelets on EC2 register them. The drill runs with ``mode:
auto``, which on eks cuts the zone's subnets off with a deny-all network ACL
and cordons and taints the zone's nodes; a thread reads moto and the
emulator while the drill runs, so "the fault happened" is seen on the
platform, and "it was undone exactly" is checked against what was there
before. The run signs its evidence with a KMS key in moto, and the evidence
is verified offline with the exported public key. A second run is killed right
after its fault is applied, and ``drill recover`` must undo it from the
journal alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillkit.engine.journal import JournalEvent, read_journal
from drillkit.providers.eks import RUN_ID_TAG
from tests.support.aws_seed import (
    REGION,
    SeededAws,
    client,
    eks_target,
    instance_states,
    link_nodes,
    seed_cluster,
    subnet_acls,
)
from tests.support.dns_server import dns_server
from tests.support.kube.catalogue import NODES
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.kube.workloads import WorkloadTiming
from tests.support.moto_kms import digest_signing
from tests.support.moto_server import MotoServer
from tests.support.orders_front import OrdersFront
from tests.support.session import SESSION_VARIABLES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGET = "staging-eks"
TAINT_KEY = "drillkit.io/zone-outage"
KMS_ALIAS = "alias/drillkit-evidence"
KMS_URI = f"awskms:///{KMS_ALIAS}"


@dataclass
class Seen:
    """What the platform looked like at some moment while the drill ran."""

    zone_a_acls: set[str] = field(default_factory=set)
    tainted: set[str] = field(default_factory=set)


class Watcher:
    """Polls moto and the emulator from a thread while the drill runs."""

    def __init__(self, kube: KubeCluster, seeded: SeededAws) -> None:
        self.kube, self.seeded, self.seen = kube, seeded, Seen()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eks-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        ec2 = client("ec2")
        subnet = self.seeded.subnets["a"]
        while not self._stop.wait(0.1):
            answer = ec2.describe_network_acls(
                Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
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


@dataclass
class World:
    """The drill repository, its targets.yaml and environment, and the seeded platform."""

    root: Path
    environment: dict[str, str]
    kube: KubeCluster
    seeded: SeededAws

    @property
    def subnets(self) -> list[str]:
        return [*self.seeded.subnets.values(), str(self.seeded.other_subnet)]

    def drill(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def run_acls(self) -> list[str]:
        found = client("ec2").describe_network_acls(
            Filters=[{"Name": "tag-key", "Values": [RUN_ID_TAG]}]
        )["NetworkAcls"]
        return [a["NetworkAclId"] for a in found]

    def nodes(self) -> dict[str, dict[str, Any]]:
        return {n["metadata"]["name"]: n["spec"] for n in self.kube.store.list(NODES)}


@pytest.fixture(scope="module")
def world(
    moto_server: MotoServer,
    kube_server: KubeApiServer,
    kube_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("eks-repo")
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    with pytest.MonkeyPatch.context() as env:
        # What the `aws` fixture does, for the whole module: one clean moto account.
        moto_server.reset()
        for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_CONFIG_FILE"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ENDPOINT_URL", moto_server.url)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        kube_server.reset()
        kube = KubeCluster(kube_server, kube_config, kube_config.parent / "kubectl-cache")
        try:
            kube.seed(nodes_per_zone=2)
            seeded = seed_cluster(instances_per_zone=2)
            link_nodes(kube.store, seeded)
            kube.run_controllers(workloads=WorkloadTiming(start_seconds=1.0))
            with (
                OrdersFront(
                    lambda: kube_server.store, root.parent / "eks-tls", region=REGION
                ) as front,
                dns_server() as (zone, nameserver),
            ):
                zone.set(front.address, "A", front.address)
                target = eks_target(kube.target_settings()) | {
                    "variables": {
                        "orders_url": front.url,
                        "orders_host": front.address,
                        "orders_port": "8443",
                        "dns_server": nameserver,
                    },
                }
                target["regions"] = {"primary": REGION}
                registry = {
                    "apiVersion": "drillkit.io/v1",
                    "kind": "TargetRegistry",
                    "targets": {TARGET: target},
                }
                (root / "targets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
                environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
                environment.update({k: os.environ[k] for k in SESSION_VARIABLES})
                environment.update(
                    {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "SSL_CERT_FILE": str(front.ca_file)}
                )
                environment.pop("SSL_CERT_DIR", None)
                # Evidence of runs on this target is signed by a KMS key (ECC_NIST_P256).
                kms = client("kms")
                key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
                kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])
                with digest_signing():
                    yield World(root, environment, kube, seeded)
        finally:
            kube.close()
            kube_server.reset()


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
    exported = world.drill("keys", "export-public", KMS_URI, "-o", "kms.pem")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    # The auditor verifies offline: the exported key file, no AWS endpoint or credentials.
    offline = {**world.environment, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    offline.pop("AWS_ACCESS_KEY_ID", None)
    verified = subprocess.run(
        [sys.executable, "-m", "drillkit", "verify", str(folder), "--key", "kms.pem"],
        cwd=world.root,
        env=offline,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
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


@pytest.fixture(scope="module")
def crashed(world: World, zone_outage: Outcome) -> Crash:
    """Runs after ``zone_outage`` (on the platform it left as it found it)."""
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
