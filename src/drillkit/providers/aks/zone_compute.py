"""Zone outage, ``compute`` mode: deallocate (or power off) a zone's instances in every node
pool scale set, after pausing the cluster autoscaler of the pools that span the zone.

This is what Azure Chaos Studio's "Availability Zone Down" does. Without the
pause, the autoscaler sees the lost nodes and adds instances (possibly in the
same zone) and the outage is not one. The undo record keeps each paused
pool's ``enableAutoScaling``, ``minCount`` and ``maxCount`` and each
instance's power state; the undo starts the instances that were running and
puts the autoscaler settings back exactly as recorded. Each step reads the
current state first, so reverting twice, or after a half-applied fault,
changes nothing it need not.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks.instances import Instance, ScaleSets
from drillkit.providers.aks.operations import wait_all
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

INSTANCE_ACTIONS = {"stop": "power-off", "deallocate": "deallocate"}


class ZoneCompute:
    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider
        self.scale_sets = ScaleSets(provider)

    def impact(self, zone: str, instance_action: str) -> Impact:
        action = _action(instance_action)
        instances = self._instances(zone)
        touched = [Touched("zone", zone, f"outage ({action} instances)")]
        touched += [
            Touched("node-pool", p["name"], "pause cluster autoscaler")
            for p in self._pools(zone)
            if p["enableAutoScaling"]
        ]
        touched += [
            Touched("scale-set", s, action) for s in sorted({i.scale_set for i in instances})
        ]
        touched += [Touched("instance", i.label, f"{action}, node {i.node}") for i in instances]
        return Impact(tuple(touched))

    def prepare(self, zone: str, instance_action: str) -> JsonDict:
        action = _action(instance_action)
        instances = self._instances(zone)
        if not instances:
            raise PermanentError(
                f"no node pool scale set has an instance in zone {zone}",
                fix="check the target's zone aliases; AKS zones are `1`, `2`, `3`",
            )
        cluster = self.provider.cluster()
        return {
            "layer": "compute",
            "zone": zone,
            "action": action,
            "resourceGroup": self.provider.azure_settings.resource_group,
            "cluster": cluster.name,
            "pools": self._pools(zone),
            "instances": [i.record() for i in instances],
        }

    def apply(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        paused = [p["name"] for p in undo["pools"] if p["enableAutoScaling"]]
        self._set_pools(
            undo,
            {
                name: {"enableAutoScaling": False, "minCount": None, "maxCount": None}
                for name in paused
            },
            ctx,
        )
        running = [
            Instance.from_record(r)
            for r in undo["instances"]
            if r["power"] in ("running", "starting")
        ]
        done = self.scale_sets.act(undo["action"], running, ctx)
        return {"zone": undo["zone"], "pausedAutoscaler": paused, undo["action"]: done}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        started = self.scale_sets.start_stopped(undo["instances"], ctx)
        restored = self._set_pools(
            undo,
            {
                p["name"]: {k: p[k] for k in ("enableAutoScaling", "minCount", "maxCount")}
                for p in undo["pools"]
            },
            ctx,
        )
        return {"started": started, "autoscalerRestored": restored}

    def _instances(self, zone: str) -> list[Instance]:
        return self.scale_sets.in_zone(self.provider.cluster().node_resource_group, zone)

    def _pools(self, zone: str) -> list[JsonDict]:
        settings = self.provider.azure_settings
        pools = self.provider.call(
            f"list the node pools of {settings.cluster}",
            lambda: list(
                self.provider.azure.containers.agent_pools.list(
                    settings.resource_group, settings.cluster
                )
            ),
        )
        return [
            {
                "name": p.name,
                "enableAutoScaling": bool(p.enable_auto_scaling),
                "minCount": p.min_count,
                "maxCount": p.max_count,
                "count": p.count,
            }
            for p in pools or []
            if zone in (p.availability_zones or [])
        ]

    def _set_pools(
        self, undo: JsonDict, wanted: dict[str, JsonDict], ctx: StepContext
    ) -> list[str]:
        """PUT each pool whose autoscaler settings differ from ``wanted``; returns those changed."""
        pools = self.provider.azure.containers.agent_pools
        group, cluster = undo["resourceGroup"], undo["cluster"]
        pollers: dict[str, Any] = {}
        for name, settings in sorted(wanted.items()):
            pool = self.provider.call(
                f"read node pool {name}",
                partial(pools.get, group, cluster, name),
                tolerate=(404,),
            )
            if pool is None:
                continue
            now = {
                "enableAutoScaling": bool(pool.enable_auto_scaling),
                "minCount": pool.min_count,
                "maxCount": pool.max_count,
            }
            if now == settings:
                continue
            pool.enable_auto_scaling = settings["enableAutoScaling"]
            pool.min_count = settings["minCount"]
            pool.max_count = settings["maxCount"]
            ctx.note("node-pool-autoscaler", pool=name, before=now, after=settings)
            what = f"set the autoscaler of node pool {name}"
            pollers[what] = self.provider.call(
                what,
                partial(pools.begin_create_or_update, group, cluster, name, pool),
            )
        wait_all(pollers, ctx)
        return [what.rsplit(" ", 1)[1] for what in pollers]


def _action(instance_action: str) -> str:
    if instance_action not in INSTANCE_ACTIONS:
        raise UserInputError(
            f"zone-outage on AKS cannot `{instance_action}` instances: deleting them could not "
            "be undone exactly",
            fix="use `instanceAction: deallocate` (or `stop` to power them off)",
        )
    return INSTANCE_ACTIONS[instance_action]
