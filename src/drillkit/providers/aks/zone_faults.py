"""``zone-outage`` on AKS: the mode picks the layer.

- ``compute`` deallocates or powers off the zone's scale-set instances behind
  a paused autoscaler (``zone_compute``);
- ``network`` denies the zone's node addresses in the node subnet's security
  group (``zone_network``);
- ``kubernetes`` is the Kubernetes provider's cordon and ``NoExecute`` taint;
- ``auto``, the strongest, does ``kubernetes`` and then ``compute``. Pods
  tolerate an unreachable node for five minutes by default
  (``tolerationSeconds: 300``), so instances that simply vanish leave their
  pods counted on them that long; the taint moves them at once, as a zone
  whose loss is detected would, and the instances then really go down.

The undo record names its layer (and holds the Kubernetes part's own record
under ``kubernetes``), so ``revert`` needs nothing but the record.
"""

from __future__ import annotations

from drillkit.providers.aks import AksProvider
from drillkit.providers.aks.zone_compute import ZoneCompute
from drillkit.providers.aks.zone_network import ZoneNetwork
from drillkit.providers.base import Impact, JsonDict, StepContext
from drillkit.providers.kubernetes import faults as kubernetes_faults
from drillkit.spec.faults import ZoneOutage


@AksProvider.fault("zone-outage")
class AksZoneOutageHandler(kubernetes_faults.ZoneOutageHandler):
    provider: AksProvider

    def impact(self, intent: ZoneOutage) -> Impact:
        zone = self.provider.arm_zone(intent.zone)
        if intent.mode == "network":
            return ZoneNetwork(self.provider).impact(zone)
        if intent.mode == "kubernetes":
            return super().impact(intent)
        cloud = ZoneCompute(self.provider).impact(zone, intent.instance_action)
        if intent.mode == "compute":
            return cloud
        nodes = super().impact(intent)
        return Impact(nodes.touched + cloud.touched[1:], nodes.notes + cloud.notes)

    def prepare(self, intent: ZoneOutage, ctx: StepContext) -> JsonDict:
        zone = self.provider.arm_zone(intent.zone)
        if intent.mode == "network":
            return ZoneNetwork(self.provider).prepare(zone)
        if intent.mode == "kubernetes":
            return super().prepare(intent, ctx)
        undo = ZoneCompute(self.provider).prepare(zone, intent.instance_action)
        if intent.mode == "auto":
            undo["kubernetes"] = super().prepare(intent, ctx)
        return undo

    def apply(self, intent: ZoneOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layer = undo.get("layer")
        if layer == "network":
            return ZoneNetwork(self.provider).apply(undo, ctx)
        if layer != "compute":
            return super().apply(intent, undo, ctx)
        done: JsonDict = {}
        if undo.get("kubernetes") is not None:
            done["kubernetes"] = super().apply(intent, undo["kubernetes"], ctx)
        return ZoneCompute(self.provider).apply(undo, ctx) | done

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layer = undo.get("layer")
        if layer == "network":
            return ZoneNetwork(self.provider).revert(undo, ctx)
        if layer != "compute":
            return super().revert(undo, ctx)
        done = ZoneCompute(self.provider).revert(undo, ctx)
        if undo.get("kubernetes") is not None:
            done["kubernetes"] = super().revert(undo["kubernetes"], ctx)
        return done

    def _nodes(self, zone: str) -> list[str]:
        """AKS labels nodes ``westeurope-1`` for Azure zone ``1``: accept either."""
        if zone.isdigit():
            zone = f"{self.provider.cluster().location}-{zone}"
        return super()._nodes(zone)
