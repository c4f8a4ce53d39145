"""Sandbox faults: pod-kill, node-failure, zone-outage, region-outage, namespace-loss.

Each ``prepare`` records, before anything changes, exactly what the desired
state said (and the sandbox's folder); ``apply`` changes the desired state
first and then kills the replicas that lost their place, so the supervisor can
never restart them in between; ``revert`` puts back only what this fault
added and is harmless when run twice or after a half-applied fault.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from drillkit.errors import PermanentError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.local import LocalProvider
from drillkit.providers.local.replicas import kill, labels, running_replicas
from drillkit.providers.victims import choose_victims
from drillkit.sandbox import store
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.backup_schedule import restore_backup
from drillkit.sandbox.desired_state import change_desired, read_desired
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.topology import NAMESPACE, NODES, REGIONS, SCHEDULE, ZONES
from drillkit.spec.faults import NamespaceLoss, NodeFailure, PodKill, RegionOutage, ZoneOutage


def _layout(undo: JsonDict) -> SandboxLayout:
    return SandboxLayout(Path(undo["stateDir"]))


class _Handler:
    def __init__(self, provider: LocalProvider) -> None:
        self.provider = provider

    @property
    def layout(self) -> SandboxLayout:
        return self.provider.layout


@LocalProvider.fault("pod-kill")
class PodKillHandler(_Handler):
    """Kill replicas of the serving region matching the selector; the supervisor replaces them."""

    def impact(self, intent: PodKill) -> Impact:
        chosen, _ = self._choose(intent)
        return Impact(tuple(Touched("pod", name, "kill") for name in chosen))

    def prepare(self, intent: PodKill, ctx: StepContext) -> JsonDict:
        chosen, seed = self._choose(intent)
        return {"stateDir": str(self.layout.root), "pods": chosen, "seed": seed}

    def apply(self, intent: PodKill, undo: JsonDict, ctx: StepContext) -> JsonDict:
        victims = [r for r in running_replicas(self.layout) if r.name in undo["pods"]]
        killed = kill(victims, intent.grace_period.total_seconds())
        ctx.note("pods-killed", pods=killed)
        return {"killed": killed, "seed": undo["seed"]}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"selfHealing": "the supervisor replaces killed replicas, as a Deployment would"}

    def _choose(self, intent: PodKill) -> tuple[list[str], int | None]:
        if intent.namespace != NAMESPACE:
            return [], None
        serving = read_desired(self.layout).active_region
        matching = sorted(
            (
                r
                for r in running_replicas(self.layout)
                if r.region == serving
                and all(labels(r).get(k) == v for k, v in intent.selector.items())
            ),
            key=lambda r: r.name,
        )
        return choose_victims([r.name for r in matching], intent)


class _Outage(_Handler):
    """Shared by node, zone and region loss: mark down in the desired state, kill what ran there."""

    def _mark(self, undo: JsonDict, ctx: StepContext) -> list[str]:
        layout = _layout(undo)
        with change_desired(layout) as desired:
            getattr(desired, undo["field"]).extend(
                item for item in undo["items"] if item not in getattr(desired, undo["field"])
            )
        doomed = [r for r in running_replicas(layout) if self._hit(r.node, r.zone, r.region, undo)]
        killed = kill(doomed)
        ctx.note("replicas-killed", replicas=killed)
        return killed

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layout = _layout(undo)
        ours = [item for item in undo["items"] if item not in undo["wasDown"]]
        with change_desired(layout) as desired:
            remaining = [x for x in getattr(desired, undo["field"]) if x not in ours]
            setattr(desired, undo["field"], remaining)
        return {"restored": ours}

    @staticmethod
    def _hit(node: str, zone: str, region: str, undo: JsonDict) -> bool:
        items = undo["items"]
        return {
            "down_nodes": node in items,
            "down_zones": f"{region}/{zone}" in items,
            "down_regions": region in items,
        }[undo["field"]]


@LocalProvider.fault("node-failure")
class NodeFailureHandler(_Outage):
    """Lose nodes of the serving region: their replicas die and are rescheduled elsewhere."""

    def impact(self, intent: NodeFailure) -> Impact:
        return Impact(tuple(Touched("node", name, intent.mode) for name in self._choose(intent)))

    def prepare(self, intent: NodeFailure, ctx: StepContext) -> JsonDict:
        chosen = self._choose(intent)
        if not chosen:
            raise PermanentError(
                "no sandbox node matches the fault's node selection",
                fix=f"sandbox nodes: {', '.join(n.name for n in NODES)}",
            )
        return {
            "stateDir": str(self.layout.root),
            "field": "down_nodes",
            "items": chosen,
            "wasDown": read_desired(self.layout).down_nodes,
            "mode": intent.mode,
        }

    def apply(self, intent: NodeFailure, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"nodes": undo["items"], "killed": self._mark(undo, ctx)}

    def _choose(self, intent: NodeFailure) -> list[str]:
        selection = intent.nodes
        serving = read_desired(self.layout).active_region
        zone = self.provider.target.zone(selection.zone) if selection.zone else None
        candidates = [
            n
            for n in NODES
            if n.region == serving
            and (zone is None or n.zone == zone)
            and (not selection.names or n.name in selection.names)
            and all(n.labels.get(k) == v for k, v in selection.selector.items())
        ]
        busy = {r.node for r in running_replicas(self.layout)}
        candidates.sort(key=lambda n: (n.name not in busy, n.name))  # nodes doing work first
        return [n.name for n in candidates[: selection.count]]


@LocalProvider.fault("zone-outage")
class ZoneOutageHandler(_Outage):
    """Lose one zone of the serving region: nothing runs or is reachable there."""

    def impact(self, intent: ZoneOutage) -> Impact:
        key = self._zone(intent)
        region, zone = key.split("/")
        nodes = [
            Touched("node", n.name, "down") for n in NODES if (n.region, n.zone) == (region, zone)
        ]
        return Impact((Touched("zone", key, "outage"), *nodes))

    def prepare(self, intent: ZoneOutage, ctx: StepContext) -> JsonDict:
        return {
            "stateDir": str(self.layout.root),
            "field": "down_zones",
            "items": [self._zone(intent)],
            "wasDown": read_desired(self.layout).down_zones,
        }

    def apply(self, intent: ZoneOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"zones": undo["items"], "killed": self._mark(undo, ctx)}

    def _zone(self, intent: ZoneOutage) -> str:
        zone = self.provider.target.zone(intent.zone)
        if zone not in ZONES:
            raise PermanentError(
                f"the sandbox has no zone `{intent.zone}`",
                fix=f"use one of {', '.join(ZONES)}",
            )
        return f"{read_desired(self.layout).active_region}/{zone}"


@LocalProvider.fault("region-outage")
class RegionOutageHandler(_Outage):
    """Lose a whole region; undo brings it back and fails traffic back if it moved."""

    def impact(self, intent: RegionOutage) -> Impact:
        region = self._region(intent)
        nodes = [Touched("node", n.name, "down") for n in NODES if n.region == region]
        return Impact((Touched("region", region, "outage"), *nodes))

    def prepare(self, intent: RegionOutage, ctx: StepContext) -> JsonDict:
        desired = read_desired(self.layout)
        return {
            "stateDir": str(self.layout.root),
            "field": "down_regions",
            "items": [self._region(intent)],
            "wasDown": desired.down_regions,
            "activeBefore": desired.active_region,
        }

    def apply(self, intent: RegionOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"regions": undo["items"], "killed": self._mark(undo, ctx)}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layout = _layout(undo)
        region = undo["items"][0]
        failed_back = False
        with change_desired(layout) as desired:
            moved = desired.active_region != undo["activeBefore"]
            if moved and undo["activeBefore"] == region and desired.namespace_present:
                # Failback: the region comes back with the data written while it was away.
                store.snapshot(
                    store.store_path(layout.root, desired.active_region),
                    store.store_path(layout.root, region),
                )
                desired.active_region = region
                desired.generation += 1
                failed_back = True
        result = super().revert(undo, ctx)
        return {**result, "failedBack": failed_back}

    def _region(self, intent: RegionOutage) -> str:
        region = self.provider.target.region(intent.region)
        if region not in REGIONS:
            raise PermanentError(
                f"the sandbox has no region `{intent.region}`",
                fix=f"use one of {', '.join(REGIONS)}",
            )
        return region


@LocalProvider.fault("namespace-loss")
class NamespaceLossHandler(_Handler):
    """Delete the orders namespace: replicas, both stores and its secrets are gone.

    Refused unless a completed backup of it exists (``requireBackup``); the
    undo is restoring that backup, so an aborted run still gets its data back.
    """

    def impact(self, intent: NamespaceLoss) -> Impact:
        touched = [Touched("namespace", intent.namespace, "delete")]
        touched += [Touched("store", f"{region}/orders.db", "delete") for region in REGIONS]
        touched.append(Touched("secret", f"{intent.namespace}/*", "delete"))
        return Impact(tuple(touched))

    def prepare(self, intent: NamespaceLoss, ctx: StepContext) -> JsonDict:
        if intent.namespace != NAMESPACE:
            raise PermanentError(
                f"the sandbox has no namespace `{intent.namespace}`", fix=f"use `{NAMESPACE}`"
            )
        newest = SandboxBackupCatalog(self.layout).newest_completed(SCHEDULE, [NAMESPACE])
        if intent.require_backup and newest is None:
            raise PermanentError(
                f"refused: no completed backup of `{NAMESPACE}` exists, so its loss could not "
                "be undone",
                fix="wait for the sandbox's backup schedule, or set `requireBackup: false`",
            )
        limit = intent.max_backup_age
        if intent.require_backup and newest is not None and limit is not None:
            age = datetime.now(UTC) - (newest.completed_at or datetime.now(UTC))
            if age > limit:
                raise PermanentError(
                    f"refused: the newest completed backup of `{NAMESPACE}` ({newest.name}) is "
                    f"{age.total_seconds():.0f}s old, older than the RPO objective "
                    f"({limit.total_seconds():.0f}s)",
                    fix="wait for the next scheduled backup (`drill sandbox status` shows its age)",
                )
        return {
            "stateDir": str(self.layout.root),
            "backup": newest.name if newest else None,
            "wasPresent": read_desired(self.layout).namespace_present,
        }

    def apply(self, intent: NamespaceLoss, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layout = _layout(undo)
        with change_desired(layout) as desired:
            desired.namespace_present = False
        killed = kill(running_replicas(layout))
        for region in REGIONS:
            store.remove(store.store_path(layout.root, region))
        for secret in sorted((layout.secrets / NAMESPACE).glob("*.json")):
            secret.unlink()
        ctx.note("namespace-deleted", namespace=NAMESPACE, replicas=killed)
        return {"deleted": NAMESPACE, "killed": killed}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        layout = _layout(undo)
        if read_desired(layout).namespace_present or not undo["wasPresent"]:
            return {"restored": None}
        backup = restore_newest(layout, fallback=undo.get("backup"))
        return {"restored": backup}


def restore_newest(
    layout: SandboxLayout, fallback: str | None = None, name: str | None = None
) -> str:
    """Restore backup ``name`` (else the newest completed, else ``fallback``) and bring the
    namespace back; returns the backup used."""
    catalog = SandboxBackupCatalog(layout)
    if name is None:
        newest = catalog.newest_completed(SCHEDULE, [NAMESPACE])
        name = newest.name if newest is not None else fallback
    if name is None:
        raise PermanentError(
            f"no completed backup of `{NAMESPACE}` to restore from",
            fix="the sandbox keeps its backups under backups/; check `drill sandbox status`",
        )
    with change_desired(layout) as desired:
        restore_backup(layout, name)
        desired.namespace_present = True
        desired.generation += 1
    return name
