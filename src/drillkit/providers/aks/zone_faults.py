"""``zone-outage`` on AKS: the mode picks the layer.

``compute`` (and ``auto``, the strongest) deallocates or powers off the
zone's scale-set instances (``zone_compute``); ``network`` denies the zone's
node addresses in the node subnet's security group (``zone_network``);
``kubernetes`` is the Kubernetes provider's cordon and taint. The undo
record names its layer, so ``revert`` needs nothing but the record.
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
        mode, zone = _mode(intent), self.provider.arm_zone(intent.zone)
        if mode == "compute":
            return ZoneCompute(self.provider).impact(zone, intent.instance_action)
        if mode == "network":
            return ZoneNetwork(self.provider).impact(zone)
        return super().impact(intent)

    def prepare(self, intent: ZoneOutage, ctx: StepContext) -> JsonDict:
        mode, zone = _mode(intent), self.provider.arm_zone(intent.zone)
        if mode == "compute":
            return ZoneCompute(self.provider).prepare(zone, intent.instance_action)
        if mode == "network":
            return ZoneNetwork(self.provider).prepare(zone)
        return super().prepare(intent, ctx)

    def apply(self, intent: ZoneOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layer = undo.get("layer")
        if layer == "compute":
            return ZoneCompute(self.provider).apply(undo, ctx)
        if layer == "network":
            return ZoneNetwork(self.provider).apply(undo, ctx)
        return super().apply(intent, undo, ctx)

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layer = undo.get("layer")
        if layer == "compute":
            return ZoneCompute(self.provider).revert(undo, ctx)
        if layer == "network":
            return ZoneNetwork(self.provider).revert(undo, ctx)
        return super().revert(undo, ctx)

    def _nodes(self, zone: str) -> list[str]:
        """AKS labels nodes ``westeurope-1`` for Azure zone ``1``: accept either."""
        if zone.isdigit():
            zone = f"{self.provider.cluster().location}-{zone}"
        return super()._nodes(zone)


def _mode(intent: ZoneOutage) -> str:
    return "compute" if intent.mode == "auto" else intent.mode
