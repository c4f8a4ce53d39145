"""Scale-set instances behind AKS nodes: find them, read their power state, act on them.

A node's ``spec.providerID`` names its instance
(``azure:///subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/
virtualMachineScaleSets/NAME/virtualMachines/ID``); a zone's instances are
those of the node resource group's node pool scale sets (tag
``aks-managed-poolName``) whose ``zones`` hold it. Power states are read
from the instance view (``PowerState/running``, ``stopped``,
``deallocated``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError
from drillkit.providers.aks.operations import wait_all
from drillkit.providers.base import JsonDict, StepContext

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

POOL_TAG = "aks-managed-poolName"
_PROVIDER_ID = re.compile(
    r"^azure://(?P<id>/subscriptions/[^/]+/resourceGroups/(?P<group>[^/]+)/providers/"
    r"Microsoft\.Compute/virtualMachineScaleSets/(?P<set>[^/]+)/virtualMachines/(?P<instance>\d+))$",
    re.IGNORECASE,
)
ACTIONS = {
    "power-off": "begin_power_off",
    "deallocate": "begin_deallocate",
    "restart": "begin_restart",
    "start": "begin_start",
}
RUNNING = ("running", "starting")


@dataclass(frozen=True)
class Instance:
    """One scale-set instance, as the undo record keeps it."""

    resource_group: str
    scale_set: str
    instance_id: str
    node: str = ""
    zone: str = ""
    power: str = ""

    @property
    def label(self) -> str:
        return f"{self.scale_set}/{self.instance_id}"

    def record(self) -> JsonDict:
        return {
            "resourceGroup": self.resource_group,
            "scaleSet": self.scale_set,
            "instanceId": self.instance_id,
            "node": self.node,
            "zone": self.zone,
            "power": self.power,
        }

    @classmethod
    def from_record(cls, record: JsonDict) -> Instance:
        return cls(
            record["resourceGroup"],
            record["scaleSet"],
            record["instanceId"],
            record.get("node", ""),
            record.get("zone", ""),
            record.get("power", ""),
        )


def instance_of(provider_id: str, node: str) -> Instance:
    """The instance a node's ``spec.providerID`` names; refuses nodes that are not VMSS-backed."""
    found = _PROVIDER_ID.match(provider_id or "")
    if found is None:
        raise PermanentError(
            f"node {node} is not a scale-set instance (providerID {provider_id or 'empty'!r})",
            fix="choose nodes of a VirtualMachineScaleSets node pool, or use `mode: drain`",
        )
    return Instance(found["group"], found["set"], found["instance"], node=node)


def instance_key(provider_id: str) -> str:
    """A node's providerID as a comparable key (lower-case resource id)."""
    found = _PROVIDER_ID.match(provider_id or "")
    return found["id"].lower() if found else ""


class ScaleSets:
    """Reads and acts on the scale sets of one AKS target."""

    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider

    @property
    def _vms(self) -> Any:
        return self.provider.azure.compute.virtual_machine_scale_set_vms

    def power(self, instance: Instance) -> str:
        """``running``, ``stopped``, ``deallocated``... or ``missing`` when the instance is gone."""
        view = self.provider.call(
            f"read the power state of {instance.label}",
            lambda: self._vms.get_instance_view(
                instance.resource_group, instance.scale_set, instance.instance_id
            ),
            tolerate=(404,),
        )
        if view is None:
            return "missing"
        return _power_of(view) or "unknown"

    def in_zone(self, node_resource_group: str, zone: str) -> list[Instance]:
        """The instances of every node pool scale set in ``zone`` (power state read too)."""
        compute = self.provider.azure.compute
        sets = self.provider.call(
            f"list the scale sets of {node_resource_group}",
            lambda: list(compute.virtual_machine_scale_sets.list(node_resource_group)),
        )
        found: list[Instance] = []
        for scale_set in sets or []:
            if POOL_TAG not in (scale_set.tags or {}):
                continue
            members = self.provider.call(
                f"list the instances of {scale_set.name}",
                partial(_listed, self._vms.list, node_resource_group, scale_set.name),
            )
            for vm in members or []:
                if zone not in (vm.zones or []):
                    continue
                instance = Instance(
                    node_resource_group,
                    scale_set.name,
                    vm.instance_id,
                    node=(vm.os_profile.computer_name if vm.os_profile else "") or "",
                    zone=zone,
                )
                power = _power_of(vm.instance_view) or self.power(instance)
                found.append(replace(instance, power=power))
        return sorted(found, key=lambda i: (i.scale_set, int(i.instance_id)))

    def act(self, action: str, instances: list[Instance], ctx: StepContext) -> list[str]:
        """Run ``action`` (``power-off``, ``deallocate``, ``restart``, ``start``) on every
        instance in parallel and wait; returns the labels acted on."""
        pollers: dict[str, Any] = {}
        for instance in instances:
            what = f"{action} {instance.label}"
            method = getattr(self._vms, ACTIONS[action])
            extra = {"skip_shutdown": True} if action == "power-off" else {}
            ctx.note(f"instance-{action}", instance=instance.label, node=instance.node)
            poller = self.provider.call(
                what,
                partial(
                    method,
                    instance.resource_group,
                    instance.scale_set,
                    instance.instance_id,
                    **extra,
                ),
                tolerate=(404,) if action == "start" else (),
            )
            if poller is not None:
                pollers[what] = poller
        wait_all(pollers, ctx)
        return [i.label for i in instances]

    def start_stopped(self, records: list[JsonDict], ctx: StepContext) -> list[str]:
        """Undo: start every recorded instance that was running and is not now (idempotent)."""
        stopped = []
        for record in records:
            instance = Instance.from_record(record)
            if record.get("power") not in RUNNING:
                continue
            now = self.power(instance)
            if now not in RUNNING and now != "missing":
                stopped.append(instance)
        if stopped:
            self.act("start", stopped, ctx)
        return [i.label for i in stopped]


def _listed(list_call: Any, *args: Any) -> list[Any]:
    """A paged listing with each instance's view (power state) in it, one call per page
    rather than one per instance; read to the end, so errors surface inside ``call``."""
    return list(list_call(*args, expand="instanceView"))


def _power_of(view: Any) -> str | None:
    """``running``, ``deallocated``... from an instance view's ``PowerState/...`` status."""
    for status in getattr(view, "statuses", None) or []:
        if (status.code or "").startswith("PowerState/"):
            return str(status.code.split("/", 1)[1])
    return None
