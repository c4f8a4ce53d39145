"""``node-failure`` on EKS: stop, terminate or reboot the EC2 instances behind nodes.

``drain`` stays the Kubernetes layer's (cordon and evict). The cloud modes
pick nodes the same way, map each to its instance through ``spec.providerID``
and record every instance's prior state before anything changes:

- ``stop``: a hard stop (``Force``), as a host failure; undo starts the
  instances that were running and are now stopped.
- ``restart``: a reboot, the node comes back by itself; undo starts any
  instance that was left stopped.
- ``terminate``: the machine is gone for good; its node group (Auto Scaling
  group) replaces it, and the fault waits until the group has as many
  running instances as it wants again. There is nothing to undo.
"""

from __future__ import annotations

import time
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.eks import EksProvider, instances
from drillkit.providers.kubernetes.faults import NodeFailureHandler
from drillkit.spec.faults import NodeFailure

REPLACEMENT_WAIT_SECONDS = 900.0
ACTIONS = {"stop": "stop instance", "terminate": "terminate instance", "restart": "reboot instance"}


@EksProvider.fault("node-failure")
class EksNodeFailureHandler:
    """Cloud modes here; ``drain`` goes to the Kubernetes layer unchanged."""

    def __init__(self, provider: EksProvider) -> None:
        self.provider = provider
        self.kubernetes = NodeFailureHandler(provider)

    def impact(self, intent: NodeFailure) -> Impact:
        if intent.mode == "drain":
            return self.kubernetes.impact(intent)
        chosen = self._choose(intent)
        touched = [Touched("node", node, intent.mode) for node in chosen]
        touched += [
            Touched("instance", instance, ACTIONS[intent.mode])
            for instance in instances.node_instances(self.provider, chosen).values()
        ]
        return Impact(tuple(touched))

    def prepare(self, intent: NodeFailure, ctx: StepContext) -> JsonDict:
        if intent.mode == "drain":
            return {"layer": "kubernetes", "kubernetes": self.kubernetes.prepare(intent, ctx)}
        chosen = self._choose(intent)
        if not chosen:
            raise PermanentError("no node matches the fault's node selection")
        by_node = instances.node_instances(self.provider, chosen)
        described = {r["id"]: r for r in instances.describe(self.provider, list(by_node.values()))}
        records = []
        for node, instance in sorted(by_node.items()):
            if instance not in described:
                raise PermanentError(
                    f"node {node}'s instance {instance} does not exist in {self.provider.region}",
                    fix="the node is stale; choose another or wait for it to be removed",
                )
            records.append({"node": node, **described[instance]})
        return {
            "layer": "ec2",
            "mode": intent.mode,
            "region": self.provider.region,
            "instances": records,
        }

    def apply(self, intent: NodeFailure, undo: JsonDict, ctx: StepContext) -> JsonDict:
        if undo["layer"] == "kubernetes":
            return self.kubernetes.apply(intent, undo["kubernetes"], ctx)
        running = [r["id"] for r in undo["instances"] if r["state"] == "running"]
        if undo["mode"] == "stop":
            instances.stop(self.provider, running, ctx)
        elif undo["mode"] == "restart":
            instances.reboot(self.provider, running, ctx)
        else:
            instances.terminate(self.provider, running, ctx)
            groups = sorted({r["autoScalingGroup"] for r in undo["instances"]} - {None})
            _wait_replaced(self.provider, groups, set(running), ctx)
        return {"mode": undo["mode"], "instances": running}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        if undo["layer"] == "kubernetes":
            return self.kubernetes.revert(undo["kubernetes"], ctx)
        if undo["mode"] == "terminate":
            return {"selfHealing": "terminated instances are replaced by their node group"}
        were_running = [r["id"] for r in undo["instances"] if r["state"] == "running"]
        started = instances.start_stopped(self.provider, were_running, ctx, wait=_left(ctx))
        return {"started": started}

    def _choose(self, intent: NodeFailure) -> list[str]:
        return self.kubernetes._choose(intent)


def _wait_replaced(
    provider: EksProvider, groups: list[str], gone: set[str], ctx: StepContext
) -> None:
    """Wait until every group has its desired capacity in running instances other than
    ``gone`` (what a node group does after losing a machine)."""
    if not groups:
        ctx.note("no-replacement-wait", reason="the instances belong to no Auto Scaling group")
        return
    autoscaling = provider.client("autoscaling")
    deadline = time.monotonic() + min(REPLACEMENT_WAIT_SECONDS, _left(ctx))
    while True:
        answer = provider.call(
            "describe the node groups' Auto Scaling groups",
            lambda: autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=groups),
        )
        short = _short_groups(provider, answer["AutoScalingGroups"], gone)
        if not short:
            ctx.note("capacity-replaced", groups=groups)
            return
        if ctx.cancelled.is_set() or time.monotonic() >= deadline:
            raise PermanentError(
                f"Auto Scaling groups {', '.join(short)} did not replace the terminated "
                "capacity in time",
                fix="check the groups' activity history (`aws autoscaling "
                "describe-scaling-activities`)",
            )
        ctx.cancelled.wait(instances.POLL_SECONDS * 5)


def _short_groups(provider: EksProvider, groups: list[Any], gone: set[str]) -> list[str]:
    short = []
    for group in groups:
        members = [
            i["InstanceId"] for i in group.get("Instances") or [] if i["InstanceId"] not in gone
        ]
        states = instances.states(provider, members)
        running = [i for i, s in states.items() if s in ("pending", "running")]
        if len(running) < int(group["DesiredCapacity"]):
            short.append(str(group["AutoScalingGroupName"]))
    return short


def _left(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return remaining if remaining > 0 else 3600.0
