"""The eks provider's cloud faults against moto (real boto3, real HTTP) and the API emulator.

Each fault is prepared, applied and reverted the way the engine does it; AWS
state is read back with plain boto3 calls to see what really changed, and is
compared with what it was before, field by field. Reverting again, and
reverting from the undo record alone in a fresh provider (as ``drill
recover`` does in a new process), must be harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drillkit.errors import PermanentError
from drillkit.providers.eks import RUN_ID_TAG, EksProvider
from drillkit.providers.kubernetes.faults import TAINT_KEY
from drillkit.spec.faults import NodeFailure, ZoneOutage
from drillkit.spec.targets import Target
from tests.support.aws_seed import (
    CLUSTER,
    SeededAws,
    client,
    eks_target,
    instance_states,
    link_nodes,
    seed_cluster,
    subnet_acls,
)
from tests.support.kube.catalogue import NODES
from tests.support.kube.fixtures import KubeCluster
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext


@pytest.fixture
def seeded(aws: MotoServer, kube_cluster: KubeCluster) -> SeededAws:
    found = seed_cluster()
    link_nodes(kube_cluster.store, found)
    return found


def make_provider(kube_cluster: KubeCluster) -> EksProvider:
    target = Target.model_validate(eks_target(kube_cluster.target_settings()))
    return EksProvider("staging-eks", target)


@pytest.fixture
def provider(seeded: SeededAws, kube_cluster: KubeCluster) -> Iterator[EksProvider]:
    provider = make_provider(kube_cluster)
    provider.open()
    try:
        yield provider
    finally:
        provider.close()


def run_fault(provider: EksProvider, intent: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    handler = provider.fault_handler(intent.type)
    assert handler is not None
    ctx = ProbeContext()
    undo = handler.prepare(intent, ctx)
    # The engine journals the undo record as JSON before apply: it must survive that.
    undo = json.loads(json.dumps(undo))
    return undo, handler.apply(intent, undo, ctx)


def revert_fresh(kube_cluster: KubeCluster, kind: str, undo: dict[str, Any]) -> dict[str, Any]:
    """Revert with a provider that never saw the fault: only the journaled record."""
    fresh = make_provider(kube_cluster)
    try:
        handler = fresh.fault_handler(kind)
        assert handler is not None
        result: dict[str, Any] = handler.revert(undo, ProbeContext())
        return result
    finally:
        fresh.close()


def group(name: str) -> dict[str, Any]:
    found: dict[str, Any] = client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name]
    )["AutoScalingGroups"][0]
    return found


def group_settings(name: str) -> tuple[str, list[str]]:
    found = group(name)
    suspended = sorted(p["ProcessName"] for p in found.get("SuspendedProcesses") or [])
    return found["VPCZoneIdentifier"], suspended


def run_acls(vpc: str) -> list[str]:
    answer = client("ec2").describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "tag-key", "Values": [RUN_ID_TAG]}]
    )
    return [a["NetworkAclId"] for a in answer["NetworkAcls"]]


# -- identity ---------------------------------------------------------------------------


def test_identity_names_the_caller_account_and_the_eks_cluster_next_to_kubernetes(
    provider: EksProvider, seeded: SeededAws
) -> None:
    identity = provider.identity()

    assert identity["provider"] == "eks" and identity["kubernetes"]["context"] == "emulator"
    assert identity["aws"]["account"] == "123456789012"
    assert identity["aws"]["arn"].startswith("arn:aws:")
    assert identity["aws"]["cluster"]["arn"] == seeded.cluster_arn
    assert identity["aws"]["cluster"]["version"] == "1.31"
    assert identity["aws"]["cluster"]["platformVersion"]


def test_a_cluster_that_does_not_exist_is_a_clear_error_naming_the_setting(
    aws: MotoServer, kube_cluster: KubeCluster
) -> None:
    provider = make_provider(kube_cluster)

    with pytest.raises(PermanentError) as caught:
        provider.open()

    assert caught.value.message == f"EKS cluster `{CLUSTER}` does not exist in us-east-1"
    assert "aws.cluster" in (caught.value.fix or "")


# -- node-failure -----------------------------------------------------------------------


def test_node_failure_stop_stops_the_nodes_instance_and_undo_starts_it_again(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    victim = seeded.instances["a"][0]
    intent = NodeFailure(type="node-failure", mode="stop", nodes={"zone": "a", "count": 1})

    impact = provider.fault_handler("node-failure").impact(intent)  # type: ignore[union-attr]
    assert [(t.kind, t.name, t.action) for t in impact.touched] == [
        ("node", "node-a-1", "stop"),
        ("instance", victim, "stop instance"),
    ]
    undo, result = run_fault(provider, intent)

    assert result == {"mode": "stop", "instances": [victim]}
    assert undo["instances"][0] | {"autoScalingGroup": None} == {
        "node": "node-a-1",
        "id": victim,
        "state": "running",
        "zone": "us-east-1a",
        "vpcId": seeded.vpc,
        "autoScalingGroup": None,
    }
    assert instance_states(seeded.all_instances()) == {
        i: ("stopped" if i == victim else "running") for i in seeded.all_instances()
    }

    assert revert_fresh(kube_cluster, "node-failure", undo) == {"started": [victim]}
    assert set(instance_states(seeded.all_instances()).values()) == {"running"}
    assert revert_fresh(kube_cluster, "node-failure", undo) == {"started": []}


def test_node_failure_restart_reboots_and_leaves_nothing_stopped(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    intent = NodeFailure(type="node-failure", mode="restart", nodes={"zone": "b"})

    undo, result = run_fault(provider, intent)

    assert result == {"mode": "restart", "instances": seeded.instances["b"]}
    assert set(instance_states(seeded.all_instances()).values()) == {"running"}
    assert revert_fresh(kube_cluster, "node-failure", undo) == {"started": []}


def test_node_failure_terminate_waits_for_the_node_group_to_replace_the_capacity(
    provider: EksProvider, seeded: SeededAws
) -> None:
    # AWS: the group's health check notices the terminated instance and launches a
    # replacement. moto's group replaces an instance terminated through EC2 at once (in its
    # first subnet's zone), so the fault finds the capacity back on its first look.
    assert seeded.group is not None
    victim = seeded.instances["c"][0]
    ctx = ProbeContext()
    handler = provider.fault_handler("node-failure")
    assert handler is not None
    intent = NodeFailure(type="node-failure", mode="terminate", nodes={"zone": "c"})

    undo = handler.prepare(intent, ctx)
    result = handler.apply(intent, undo, ctx)

    assert undo["instances"][0]["autoScalingGroup"] == seeded.group
    assert result == {"mode": "terminate", "instances": [victim]}
    assert instance_states([victim]) == {victim: "terminated"}
    members = [i["InstanceId"] for i in group(seeded.group)["Instances"]]
    assert victim not in members and len(members) == 3
    assert set(instance_states(members).values()) == {"running"}
    assert ("capacity-replaced", {"groups": [seeded.group]}) in ctx.notes
    assert "selfHealing" in handler.revert(undo, ctx)


@dataclass
class HurriedContext(ProbeContext):
    """A step with one second left."""

    def remaining(self) -> float:
        return 1.0


def test_node_failure_terminate_fails_clearly_when_the_group_does_not_replace_in_time(
    provider: EksProvider, seeded: SeededAws
) -> None:
    # The group replaces the terminated instance, but another of its instances is stopped
    # (not serving): the group stays short of its desired capacity in running instances.
    client("ec2").stop_instances(InstanceIds=seeded.instances["a"])
    handler = provider.fault_handler("node-failure")
    assert handler is not None
    intent = NodeFailure(type="node-failure", mode="terminate", nodes={"zone": "b"})
    ctx = HurriedContext()
    undo = handler.prepare(intent, ctx)

    with pytest.raises(PermanentError) as caught:
        handler.apply(intent, undo, ctx)

    assert caught.value.message == (
        f"Auto Scaling groups {seeded.group} did not replace the terminated capacity in time"
    )
    assert "describe-scaling-activities" in (caught.value.fix or "")


def test_node_failure_refuses_an_instance_outside_the_clusters_vpc(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    stranger = client("ec2").run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=seeded.other_subnet
    )["Instances"][0]["InstanceId"]
    kube_cluster.store.edit(
        NODES,
        "",
        "node-a-1",
        lambda n: n["spec"].update({"providerID": f"aws:///us-east-1a/{stranger}"}),
    )
    intent = NodeFailure(type="node-failure", mode="stop", nodes={"zone": "a"})

    with pytest.raises(PermanentError, match="outside cluster `orders-eks`'s VPC"):
        provider.fault_handler("node-failure").prepare(intent, ProbeContext())  # type: ignore[union-attr]

    assert instance_states([stranger]) == {stranger: "running"}


def test_node_failure_drain_is_still_the_kubernetes_layers(
    provider: EksProvider, kube_cluster: KubeCluster, seeded: SeededAws
) -> None:
    intent = NodeFailure(type="node-failure", mode="drain", nodes={"zone": "a"})

    undo, result = run_fault(provider, intent)

    assert result["cordoned"] == ["node-a-1"]
    assert set(instance_states(seeded.all_instances()).values()) == {"running"}
    revert_fresh(kube_cluster, "node-failure", undo)
    assert not kube_cluster.store.get(NODES, "", "node-a-1")["spec"].get("unschedulable")


# -- zone-outage: network ---------------------------------------------------------------


def test_zone_outage_network_swaps_the_zones_subnets_to_a_tagged_deny_all_acl_and_back(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    subnets = sorted(seeded.subnets.values())
    before = subnet_acls([*subnets, seeded.other_subnet])  # type: ignore[list-item]
    intent = ZoneOutage(type="zone-outage", zone="a", mode="network")

    undo, result = run_fault(provider, intent)

    deny = result["network"]["networkAclId"]
    assert undo["layers"]["network"]["subnets"] == [
        {"subnetId": seeded.subnets["a"], "networkAclId": seeded.default_acl}
    ]
    after = subnet_acls([*subnets, seeded.other_subnet])  # type: ignore[list-item]
    assert after == before | {seeded.subnets["a"]: deny}
    acl = client("ec2").describe_network_acls(NetworkAclIds=[deny])["NetworkAcls"][0]
    assert {"Key": RUN_ID_TAG, "Value": "run-1"} in acl["Tags"]
    assert [e for e in acl["Entries"] if e["RuleAction"] == "allow"] == []
    # The network mode alone leaves the Kubernetes layer to the cluster's own timers.
    assert not kube_cluster.store.get(NODES, "", "node-a-1")["spec"].get("unschedulable")

    reverted = revert_fresh(kube_cluster, "zone-outage", undo)

    assert reverted["network"] == {
        "restoredSubnets": [seeded.subnets["a"]],
        "deletedNetworkAcls": [deny],
    }
    assert subnet_acls([*subnets, seeded.other_subnet]) == before  # type: ignore[list-item]
    assert run_acls(seeded.vpc) == []
    again = revert_fresh(kube_cluster, "zone-outage", undo)
    assert again["network"] == {"restoredSubnets": [], "deletedNetworkAcls": []}


def test_zone_outage_auto_on_eks_is_the_network_cut_plus_cordon_and_taint(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    intent = ZoneOutage(type="zone-outage", zone="a")
    impact = provider.fault_handler("zone-outage").impact(intent)  # type: ignore[union-attr]
    kinds = [(t.kind, t.name) for t in impact.touched]
    assert ("subnet", seeded.subnets["a"]) in kinds and ("node", "node-a-1") in kinds
    assert kinds.count(("zone", "us-east-1a")) == 1

    undo, _ = run_fault(provider, intent)

    assert list(undo["layers"]) == ["network", "kubernetes"]
    node = kube_cluster.store.get(NODES, "", "node-a-1")
    assert node["spec"]["unschedulable"] and node["spec"]["taints"][0]["key"] == TAINT_KEY
    assert subnet_acls([seeded.subnets["a"]]) != {seeded.subnets["a"]: seeded.default_acl}

    revert_fresh(kube_cluster, "zone-outage", undo)

    node = kube_cluster.store.get(NODES, "", "node-a-1")
    assert not node["spec"].get("unschedulable") and not node["spec"].get("taints")
    assert subnet_acls([seeded.subnets["a"]]) == {seeded.subnets["a"]: seeded.default_acl}
    assert run_acls(seeded.vpc) == []


def test_a_half_applied_network_cut_is_undone_from_the_record_alone(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    """Crash after the ACL was created, before any subnet moved: revert still cleans up."""
    handler = provider.fault_handler("zone-outage")
    assert handler is not None
    undo = handler.prepare(ZoneOutage(type="zone-outage", zone="b", mode="network"), ProbeContext())
    client("ec2").create_network_acl(
        VpcId=seeded.vpc,
        TagSpecifications=[
            {"ResourceType": "network-acl", "Tags": [{"Key": RUN_ID_TAG, "Value": "run-1"}]}
        ],
    )

    revert_fresh(kube_cluster, "zone-outage", undo)

    assert run_acls(seeded.vpc) == []
    assert subnet_acls([seeded.subnets["b"]]) == {seeded.subnets["b"]: seeded.default_acl}


# -- zone-outage: compute ---------------------------------------------------------------


def test_zone_outage_compute_narrows_the_node_group_stops_the_zone_and_restores_it_exactly(
    provider: EksProvider, seeded: SeededAws, kube_cluster: KubeCluster
) -> None:
    assert seeded.group is not None
    # An operator's own suspension must survive the drill: Launch stays suspended after it.
    client("autoscaling").suspend_processes(
        AutoScalingGroupName=seeded.group, ScalingProcesses=["Launch"]
    )
    before = group_settings(seeded.group)
    intent = ZoneOutage(type="zone-outage", zone="a", mode="compute")

    impact = provider.fault_handler("zone-outage").impact(intent)  # type: ignore[union-attr]
    assert ("instance", seeded.instances["a"][0], "stop instance") in [
        (t.kind, t.name, t.action) for t in impact.touched
    ]
    undo, result = run_fault(provider, intent)

    assert result["compute"] == {"groups": [seeded.group], "instances": seeded.instances["a"]}
    zone_identifier, suspended = group_settings(seeded.group)
    assert zone_identifier == f"{seeded.subnets['b']},{seeded.subnets['c']}"
    assert suspended == ["AZRebalance", "Launch"]
    assert instance_states(seeded.all_instances()) == {
        i: ("stopped" if i in seeded.instances["a"] else "running") for i in seeded.all_instances()
    }

    reverted = revert_fresh(kube_cluster, "zone-outage", undo)

    assert reverted["compute"] == {"groups": [seeded.group], "started": seeded.instances["a"]}
    assert group_settings(seeded.group) == before
    assert set(instance_states(seeded.all_instances()).values()) == {"running"}
    assert revert_fresh(kube_cluster, "zone-outage", undo)["compute"]["started"] == []
    assert group_settings(seeded.group) == before


def test_zone_outage_compute_refuses_a_group_that_lives_only_in_the_zone(
    provider: EksProvider, seeded: SeededAws
) -> None:
    assert seeded.group is not None
    client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=seeded.group, VPCZoneIdentifier=seeded.subnets["a"]
    )
    handler = provider.fault_handler("zone-outage")
    assert handler is not None

    with pytest.raises(PermanentError, match="has subnets only in us-east-1a"):
        handler.prepare(ZoneOutage(type="zone-outage", zone="a", mode="compute"), ProbeContext())
