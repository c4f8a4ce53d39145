"""A zone lost at the compute layer: node groups stop using it, its instances stop or go.

The cluster's Auto Scaling groups are those of its managed node groups
(``DescribeNodegroup``) and any tagged ``eks:cluster-name`` (self-managed and
managed groups carry it). For each, ``prepare`` records exactly what the
fault changes: its ``VPCZoneIdentifier`` string and its suspended processes.
``apply`` suspends ``AZRebalance`` (so the group does not move capacity back
into the zone), removes the zone's subnets from the group, and stops or
terminates the zone's instances (groups' and Karpenter's nodes alike).
``revert`` sets ``VPCZoneIdentifier`` back to the recorded string, resumes
``AZRebalance`` only if this fault suspended it, and starts the instances it
stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError
from drillkit.providers.base import JsonDict, StepContext, Touched
from drillkit.providers.eks import instances
from drillkit.providers.eks.zone_network import zone_subnets

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider

PROCESS = "AZRebalance"
CLUSTER_TAG = "eks:cluster-name"


def cluster_groups(provider: EksProvider) -> list[JsonDict]:
    """The Auto Scaling groups of the cluster's node groups, as AWS describes them."""
    cluster = provider.aws_settings.cluster
    eks = provider.client("eks")
    autoscaling = provider.client("autoscaling")
    names: set[str] = set()
    listed = provider.call(
        f"list the node groups of {cluster}", lambda: eks.list_nodegroups(clusterName=cluster)
    )
    for nodegroup in listed.get("nodegroups") or []:
        described = provider.call(
            f"describe node group {nodegroup}",
            lambda nodegroup=nodegroup: eks.describe_nodegroup(
                clusterName=cluster, nodegroupName=nodegroup
            ),
        )
        resources = described["nodegroup"].get("resources") or {}
        names.update(g["name"] for g in resources.get("autoScalingGroups") or [])
    tagged = provider.call(
        "find the cluster's Auto Scaling groups",
        lambda: autoscaling.describe_auto_scaling_groups(
            Filters=[{"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster]}]
        ),
    )
    groups = {g["AutoScalingGroupName"]: g for g in tagged["AutoScalingGroups"]}
    unknown = sorted(names - set(groups))
    if unknown:
        more = provider.call(
            "describe the node groups' Auto Scaling groups",
            lambda: autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=unknown),
        )
        groups.update({g["AutoScalingGroupName"]: g for g in more["AutoScalingGroups"]})
    return [groups[name] for name in sorted(groups)]


def _subnets(group: JsonDict) -> list[str]:
    return [s for s in str(group.get("VPCZoneIdentifier") or "").split(",") if s]


def _zone_instances(provider: EksProvider, zone: str, groups: list[JsonDict]) -> list[JsonDict]:
    """Instances in ``zone``: the groups' and the Kubernetes nodes' (Karpenter's have no group)."""
    from kubernetes import client

    from drillkit.providers.kubernetes.faults import ZONE_LABEL
    from drillkit.providers.kubernetes.selectors import paged

    ids = {
        i["InstanceId"]
        for g in groups
        for i in g.get("Instances") or []
        if i.get("AvailabilityZone") == zone
    }
    core = client.CoreV1Api(provider.api_client)
    nodes = provider.api(
        "list nodes",
        lambda: list(paged(core.list_node, label_selector=f"{ZONE_LABEL}={zone}")),
    )
    for node in nodes or []:
        ids.add(instances.instance_of(node.spec.provider_id, node.metadata.name))
    described = instances.describe(provider, sorted(ids))
    return [r for r in described if r["zone"] == zone]


def impact(provider: EksProvider, zone: str, action: str) -> list[Touched]:
    undo = prepare(provider, zone, action)
    touched = [
        Touched(
            "auto-scaling-group",
            g["name"],
            f"suspend {PROCESS}, remove subnets {', '.join(g['zoneSubnets'])}",
        )
        for g in undo["groups"]
    ]
    touched += [
        Touched("instance", r["id"], f"{undo['instanceAction']} instance")
        for r in undo["instances"]
        if r["state"] == "running"
    ]
    return touched


def prepare(provider: EksProvider, zone: str, action: str) -> JsonDict:
    subnets = set(zone_subnets(provider, zone))
    groups = cluster_groups(provider)
    records = []
    for group in groups:
        own = _subnets(group)
        in_zone = [s for s in own if s in subnets]
        if not in_zone:
            continue
        if len(in_zone) == len(own):
            raise PermanentError(
                f"refused: Auto Scaling group {group['AutoScalingGroupName']} has subnets only "
                f"in {zone}; without them it could launch nowhere",
                fix="use `mode: network` for this zone, or give the group subnets in other zones",
            )
        records.append(
            {
                "name": group["AutoScalingGroupName"],
                "vpcZoneIdentifier": group["VPCZoneIdentifier"],
                "suspended": sorted(
                    p["ProcessName"] for p in group.get("SuspendedProcesses") or []
                ),
                "zoneSubnets": in_zone,
            }
        )
    found = _zone_instances(provider, zone, groups)
    return {
        "zone": zone,
        "instanceAction": "terminate" if action == "terminate" else "stop",
        "groups": records,
        "instances": found,
    }


def apply(provider: EksProvider, undo: JsonDict, ctx: StepContext) -> JsonDict:
    autoscaling = provider.client("autoscaling")
    for group in undo["groups"]:
        name = group["name"]
        provider.call(
            f"suspend {PROCESS} on {name}",
            lambda name=name: autoscaling.suspend_processes(
                AutoScalingGroupName=name, ScalingProcesses=[PROCESS]
            ),
        )
        kept = ",".join(
            s
            for s in _subnets({"VPCZoneIdentifier": group["vpcZoneIdentifier"]})
            if s not in group["zoneSubnets"]
        )
        provider.call(
            f"remove {undo['zone']}'s subnets from {name}",
            lambda name=name, kept=kept: autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=name, VPCZoneIdentifier=kept
            ),
        )
        ctx.note("auto-scaling-group-changed", group=name, vpcZoneIdentifier=kept)
    running = [r["id"] for r in undo["instances"] if r["state"] == "running"]
    if undo["instanceAction"] == "terminate":
        instances.terminate(provider, running, ctx)
    else:
        instances.stop(provider, running, ctx)
    return {"groups": [g["name"] for g in undo["groups"]], "instances": running}


def revert(provider: EksProvider, undo: JsonDict, ctx: StepContext) -> JsonDict:
    autoscaling = provider.client("autoscaling")
    restored = []
    for group in undo["groups"]:
        name = group["name"]
        now = _group(provider, name)
        if now is None:
            continue  # deleted since: nothing to put back
        if now.get("VPCZoneIdentifier") != group["vpcZoneIdentifier"]:
            provider.call(
                f"restore the subnets of {name}",
                lambda name=name, group=group: autoscaling.update_auto_scaling_group(
                    AutoScalingGroupName=name, VPCZoneIdentifier=group["vpcZoneIdentifier"]
                ),
            )
        suspended = {p["ProcessName"] for p in now.get("SuspendedProcesses") or []}
        if PROCESS not in group["suspended"] and PROCESS in suspended:
            provider.call(
                f"resume {PROCESS} on {name}",
                lambda name=name: autoscaling.resume_processes(
                    AutoScalingGroupName=name, ScalingProcesses=[PROCESS]
                ),
            )
        restored.append(name)
    started: list[str] = []
    if undo["instanceAction"] == "stop":
        were_running = [r["id"] for r in undo["instances"] if r["state"] == "running"]
        started = instances.start_stopped(provider, were_running, ctx)
    return {"groups": restored, "started": started}


def _group(provider: EksProvider, name: str) -> Any:
    autoscaling = provider.client("autoscaling")
    answer = provider.call(
        f"describe Auto Scaling group {name}",
        lambda: autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]),
    )
    groups = answer["AutoScalingGroups"]
    return groups[0] if groups else None
