"""Kubernetes nodes as EC2 instances, and the instance calls faults make.

A kubelet on EKS registers its node with ``spec.providerID =
aws:///ZONE/INSTANCE-ID``; that is the only link between a node and its
machine that holds for managed node groups, self-managed groups and
Karpenter alike. Every instance a fault touches is described first and must
sit in the cluster's VPC and the target's region: anything else is refused,
whatever the node claims.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError
from drillkit.providers.base import JsonDict, StepContext

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider

PROVIDER_ID = re.compile(r"^aws:///(?P<zone>[a-z0-9-]+)/(?P<instance>i-[0-9a-f]+)$")
POLL_SECONDS = 1.0
PAGE = 100


def instance_of(provider_id: str | None, node: str) -> str:
    """The EC2 instance id in a node's ``spec.providerID``."""
    found = PROVIDER_ID.fullmatch(provider_id or "")
    if found is None:
        raise PermanentError(
            f"node {node} has no EC2 provider ID (found {provider_id!r})",
            fix="the node is not an EC2 instance (Fargate?); choose nodes of a node group",
        )
    return found["instance"]


def node_instances(provider: EksProvider, nodes: list[str]) -> dict[str, str]:
    """node name -> instance id, read from each node's ``spec.providerID``."""
    from kubernetes import client

    core = client.CoreV1Api(provider.api_client)
    found = {}
    for name in nodes:
        node = provider.api(f"read node {name}", lambda name=name: core.read_node(name))
        found[name] = instance_of(node.spec.provider_id, name)
    return found


def describe(provider: EksProvider, instance_ids: list[str]) -> list[JsonDict]:
    """Id, state, zone, VPC and Auto Scaling group of each instance, checked to be the cluster's."""
    if not instance_ids:
        return []
    vpc = provider.vpc_id()
    records = []
    what = f"describe instances {', '.join(instance_ids[:5])}"
    for instance in _described(provider, instance_ids, what):
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags") or []}
        record = {
            "id": instance["InstanceId"],
            "state": instance["State"]["Name"],
            "zone": instance["Placement"]["AvailabilityZone"],
            "vpcId": instance.get("VpcId"),
            "autoScalingGroup": tags.get("aws:autoscaling:groupName"),
        }
        gone = record["state"] in ("shutting-down", "terminated")  # never acted on
        outside = record["vpcId"] != vpc or not str(record["zone"]).startswith(provider.region)
        if outside and not gone:
            raise PermanentError(
                f"refused: instance {record['id']} is in {record['vpcId']} "
                f"({record['zone']}), outside cluster `{provider.aws_settings.cluster}`'s "
                f"VPC {vpc} in {provider.region}",
                fix="check the node's providerID and the target's `aws` section",
            )
        records.append(record)
    return sorted(records, key=lambda r: str(r["id"]))


def states(provider: EksProvider, instance_ids: list[str]) -> dict[str, str]:
    """instance id -> state name; a terminated instance that AWS forgot counts as terminated."""
    if not instance_ids:
        return {}
    found = {i: "terminated" for i in instance_ids}
    for instance in _described(provider, instance_ids, "describe instance states"):
        found[instance["InstanceId"]] = instance["State"]["Name"]
    return found


def _described(provider: EksProvider, instance_ids: list[str], what: str) -> list[JsonDict]:
    """Every instance of ``instance_ids`` AWS still knows, read in pages of ``PAGE`` ids
    (filters take at most 200 values; a zone of a large cluster holds thousands)."""
    ec2 = provider.client("ec2")
    paginator = ec2.get_paginator("describe_instances")
    found: list[JsonDict] = []
    for start in range(0, len(instance_ids), PAGE):
        chunk = instance_ids[start : start + PAGE]
        pages = provider.call(
            what,
            lambda chunk=chunk: list(
                paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}])
            ),
        )
        for page in pages:
            for reservation in page["Reservations"]:
                found.extend(reservation["Instances"])
    return found


def stop(provider: EksProvider, instance_ids: list[str], ctx: StepContext) -> None:
    _act(
        provider,
        instance_ids,
        ctx,
        "stop",
        lambda ec2, ids: ec2.stop_instances(InstanceIds=ids, Force=True),
    )


def terminate(provider: EksProvider, instance_ids: list[str], ctx: StepContext) -> None:
    _act(
        provider,
        instance_ids,
        ctx,
        "terminate",
        lambda ec2, ids: ec2.terminate_instances(InstanceIds=ids),
    )


def reboot(provider: EksProvider, instance_ids: list[str], ctx: StepContext) -> None:
    _act(
        provider,
        instance_ids,
        ctx,
        "reboot",
        lambda ec2, ids: ec2.reboot_instances(InstanceIds=ids),
    )


def _act(
    provider: EksProvider,
    instance_ids: list[str],
    ctx: StepContext,
    verb: str,
    call: Callable[[Any, list[str]], Any],
) -> None:
    """One EC2 call on every instance at once, noted in the journal as ``instances-<verb>ed``."""
    if not instance_ids:
        return
    ec2 = provider.client("ec2")
    provider.call(f"{verb} instances {', '.join(instance_ids)}", lambda: call(ec2, instance_ids))
    done = {"stop": "stopped", "terminate": "terminated", "reboot": "rebooted"}[verb]
    ctx.note(f"instances-{done}", instances=instance_ids)


def start_stopped(
    provider: EksProvider, instance_ids: list[str], ctx: StepContext, *, wait: float = 300.0
) -> list[str]:
    """Start those of ``instance_ids`` that are stopped (waiting out ``stopping``); the rest
    (running, terminated, gone) are left alone. Returns the ids started."""
    deadline = time.monotonic() + wait
    current = states(provider, instance_ids)
    while any(s == "stopping" for s in current.values()) and time.monotonic() < deadline:
        ctx.cancelled.wait(POLL_SECONDS)
        current = states(provider, instance_ids)
    stopped = sorted(i for i, s in current.items() if s == "stopped")
    if stopped:
        ec2 = provider.client("ec2")
        provider.call(
            f"start instances {', '.join(stopped)}",
            lambda: ec2.start_instances(InstanceIds=stopped),
        )
        ctx.note("instances-started", instances=stopped)
    still = sorted(i for i, s in current.items() if s == "stopping")
    if still:
        raise PermanentError(
            f"instances {', '.join(still)} are still stopping; they were not started",
            fix="run `drill recover` again once they are stopped",
        )
    return stopped
