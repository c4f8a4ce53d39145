"""``zone-outage`` on EKS: the Kubernetes layer, the network layer, the compute layer.

Modes (``ZoneOutage.mode``):

- ``kubernetes``: cordon and NoExecute-taint the zone's nodes (the parent's).
- ``network``: swap the zone's subnets to a deny-all network ACL
  (``zone_network``); nodes go NotReady and their pods are evicted on the
  cluster's own schedule (about five minutes by default).
- ``compute``: node groups stop using the zone and its instances stop or are
  terminated (``zone_compute``, ``instanceAction``).
- ``auto`` (the default): ``network`` and ``kubernetes`` together. The subnet
  swap is what a real zone failure looks like to traffic; the cordon and
  taint make the control plane act at once instead of after its eviction
  timeout, so a drill's RTO measures the service, not a kubelet timer.

The undo record holds one record per layer; layers apply in order and revert
in reverse, each on its own, so a half-applied fault is still undone.
"""

from __future__ import annotations

from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.eks import EksProvider, zone_compute, zone_network
from drillkit.providers.kubernetes.faults import ZoneOutageHandler
from drillkit.spec.faults import ZoneOutage

LAYERS = {
    "kubernetes": ("kubernetes",),
    "network": ("network",),
    "compute": ("compute",),
    "auto": ("network", "kubernetes"),
}


@EksProvider.fault("zone-outage")
class EksZoneOutageHandler:
    def __init__(self, provider: EksProvider) -> None:
        self.provider = provider
        self.kubernetes = ZoneOutageHandler(provider)

    def impact(self, intent: ZoneOutage) -> Impact:
        zone = self.provider.target.zone(intent.zone)
        touched: list[Touched] = []
        notes: list[str] = []
        for layer in LAYERS[intent.mode]:
            if layer == "kubernetes":
                found = self.kubernetes.impact(_as_kubernetes(intent))
                touched += [t for t in found.touched if t not in touched]
            elif layer == "network":
                touched.append(Touched("zone", zone, "outage"))
                touched += zone_network.impact(self.provider, zone)
            else:
                touched.append(Touched("zone", zone, "outage"))
                touched += zone_compute.impact(self.provider, zone, intent.instance_action)
        if intent.mode == "auto":
            notes.append(
                "mode auto on eks: deny-all network ACL on the zone's subnets, plus "
                "cordon and taint of its nodes"
            )
        unique = tuple(dict.fromkeys(touched))
        return Impact(unique, tuple(notes))

    def prepare(self, intent: ZoneOutage, ctx: StepContext) -> JsonDict:
        zone = self.provider.target.zone(intent.zone)
        layers: JsonDict = {}
        for layer in LAYERS[intent.mode]:
            if layer == "kubernetes":
                layers[layer] = self.kubernetes.prepare(_as_kubernetes(intent), ctx)
            elif layer == "network":
                layers[layer] = zone_network.prepare(self.provider, zone, ctx.run_id)
            else:
                layers[layer] = zone_compute.prepare(self.provider, zone, intent.instance_action)
        return {"zone": zone, "mode": intent.mode, "layers": layers}

    def apply(self, intent: ZoneOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        results: JsonDict = {}
        for layer, record in undo["layers"].items():
            if layer == "kubernetes":
                results[layer] = self.kubernetes.apply(_as_kubernetes(intent), record, ctx)
            elif layer == "network":
                results[layer] = zone_network.apply(self.provider, record, ctx)
            else:
                results[layer] = zone_compute.apply(self.provider, record, ctx)
        return {"zone": undo["zone"], "mode": undo["mode"], **results}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        results: JsonDict = {}
        for layer, record in reversed(list(undo["layers"].items())):
            if layer == "kubernetes":
                results[layer] = self.kubernetes.revert(record, ctx)
            elif layer == "network":
                results[layer] = zone_network.revert(self.provider, record, ctx)
            else:
                results[layer] = zone_compute.revert(self.provider, record, ctx)
        return {"zone": undo["zone"], **results}


def _as_kubernetes(intent: ZoneOutage) -> ZoneOutage:
    return intent.model_copy(update={"mode": "kubernetes"})
