"""``node-failure`` at the cloud layer: power off, deallocate or restart a node's instance.

``drain`` stays the Kubernetes provider's cordon and drain. The other modes
act on the scale-set instance the node's ``spec.providerID`` names:

- ``stop``: power off without a graceful shutdown (``skip_shutdown``), as a
  host failure would; the instance keeps its compute and disk.
- ``terminate``: deallocate; the compute is released as a terminated machine's
  would be, but the instance and its disk stay, so the undo can start it.
  Deleting the instance could not be undone exactly (the scale set would
  make a new one with another id and name), so drillkit never deletes.
- ``restart``: restart; the instance comes back by itself.

The undo starts every recorded instance that was running and is not now;
Kubernetes state (cordons) is not touched, so nothing an operator did is lost.
"""

from __future__ import annotations

from dataclasses import replace

from drillkit.errors import PermanentError
from drillkit.providers.aks import AksProvider
from drillkit.providers.aks.instances import Instance, ScaleSets, instance_of
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.kubernetes import faults as kubernetes_faults
from drillkit.spec.faults import NodeFailure

CLOUD_ACTIONS = {"stop": "power-off", "terminate": "deallocate", "restart": "restart"}


@AksProvider.fault("node-failure")
class AksNodeFailureHandler(kubernetes_faults.NodeFailureHandler):
    """Cloud modes here; ``drain`` (and its undo records) are the Kubernetes handler's."""

    provider: AksProvider

    def impact(self, intent: NodeFailure) -> Impact:
        if intent.mode == "drain":
            return super().impact(intent)
        action = CLOUD_ACTIONS[intent.mode]
        instances = self._instances(intent)
        return Impact(
            tuple(Touched("node", i.node, action) for i in instances)
            + tuple(Touched("instance", i.label, action) for i in instances)
        )

    def prepare(self, intent: NodeFailure, ctx: StepContext) -> JsonDict:
        if intent.mode == "drain":
            return super().prepare(intent, ctx)
        instances = self._instances(intent)
        if not instances:
            raise PermanentError("no node matches the fault's node selection")
        scale_sets = ScaleSets(self.provider)
        return {
            "layer": "azure",
            "action": CLOUD_ACTIONS[intent.mode],
            "instances": [replace(i, power=scale_sets.power(i)).record() for i in instances],
        }

    def apply(self, intent: NodeFailure, undo: JsonDict, ctx: StepContext) -> JsonDict:
        if undo.get("layer") != "azure":
            return super().apply(intent, undo, ctx)
        instances = [Instance.from_record(r) for r in undo["instances"]]
        done = ScaleSets(self.provider).act(undo["action"], instances, ctx)
        return {"action": undo["action"], "instances": done, "nodes": [i.node for i in instances]}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        if undo.get("layer") != "azure":
            return super().revert(undo, ctx)
        started = ScaleSets(self.provider).start_stopped(undo["instances"], ctx)
        return {"started": started}

    def _supported(self, intent: NodeFailure) -> None:
        """Every mode is supported here (the Kubernetes handler refuses the cloud ones)."""

    def _instances(self, intent: NodeFailure) -> list[Instance]:
        found = []
        for name in self._choose(intent):
            node = self.provider.api(
                f"read node {name}", lambda name=name: self.core().read_node(name)
            )
            found.append(instance_of(node.spec.provider_id or "", name))
        return found
