"""Zone outage, ``network`` mode: deny all traffic to and from a zone's nodes in the node
subnet's network security group (the approach chaosgarden takes).

Two rules per security group, ``drillkit-zone-outage-Z-in`` and ``-out``,
deny every protocol and port for the addresses of the zone's nodes (read
from the Kubernetes nodes whose ``providerID`` is one of the zone's
scale-set instances). Each takes a priority number below every rule already
there in its direction, so it is evaluated first. The
undo record keeps whatever rule had that name before (normally none): the
undo deletes the drill's rules, or puts a previous one back exactly.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError
from drillkit.providers.aks.instances import ScaleSets, instance_key
from drillkit.providers.aks.operations import wait_all
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.kubernetes.selectors import paged

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

FIRST_PRIORITY = 100
LAST_PRIORITY = 4096
DIRECTIONS = {"in": "Inbound", "out": "Outbound"}


def rule_name(zone: str, direction: str) -> str:
    return f"drillkit-zone-outage-{zone}-{direction}"


class ZoneNetwork:
    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider

    def impact(self, zone: str) -> Impact:
        addresses = self._addresses(zone)
        groups = self._security_groups()
        touched = [Touched("zone", zone, "outage (deny its node addresses)")]
        touched += [
            Touched(
                "nsg-rule",
                f"{_name(g)}/{rule_name(zone, d)}",
                f"add: deny all {DIRECTIONS[d].lower()} for {len(addresses)} node address(es)",
            )
            for g in groups
            for d in DIRECTIONS
        ]
        return Impact(tuple(touched), notes=(f"node addresses: {', '.join(addresses) or 'none'}",))

    def prepare(self, zone: str) -> JsonDict:
        addresses = self._addresses(zone)
        if not addresses:
            raise PermanentError(
                f"no Kubernetes node runs on a zone {zone} instance, so no address to deny",
                fix="check the target's zone aliases and that the nodes are registered",
            )
        rules = []
        for group_id in self._security_groups():
            group = self._group(group_id)
            existing = {r.name: r for r in group.security_rules or []}
            for direction, label in DIRECTIONS.items():
                name = rule_name(zone, direction)
                previous = existing.get(name)
                taken = {
                    r.priority
                    for r in existing.values()
                    if r.direction == label and r.name != name and r.priority is not None
                }
                rules.append(
                    {
                        "securityGroup": group_id,
                        "name": name,
                        "direction": label,
                        "priority": _free(taken, group_id),
                        "previous": _settings(previous.as_dict()) if previous is not None else None,
                    }
                )
        return {"layer": "network", "zone": zone, "addresses": addresses, "rules": rules}

    def apply(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        from azure.mgmt.network.models import SecurityRule

        pollers: dict[str, Any] = {}
        addresses = undo["addresses"]
        for rule in undo["rules"]:
            inbound = rule["direction"] == "Inbound"
            properties: JsonDict = {
                "description": f"drillkit zone outage of zone {undo['zone']}",
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "access": "Deny",
                "priority": rule["priority"],
                "direction": rule["direction"],
            }
            if inbound:
                properties |= {"sourceAddressPrefix": "*", "destinationAddressPrefixes": addresses}
            else:
                properties |= {"sourceAddressPrefixes": addresses, "destinationAddressPrefix": "*"}
            body = SecurityRule({"properties": properties})
            pollers.update(self._put(rule, body, ctx))
        wait_all(pollers, ctx)
        return {
            "zone": undo["zone"],
            "rules": [f"{_name(r['securityGroup'])}/{r['name']}" for r in undo["rules"]],
        }

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        from azure.mgmt.network.models import SecurityRule

        pollers: dict[str, Any] = {}
        for rule in undo["rules"]:
            group, name = _parts(rule["securityGroup"]), rule["name"]
            current = self.provider.call(
                f"read rule {name}",
                partial(self._rules.get, group[0], group[1], name),
                tolerate=(404,),
            )
            previous = rule["previous"]
            if previous is None:
                if current is None:
                    continue
                ctx.note("nsg-rule-delete", securityGroup=group[1], rule=name)
                what = f"delete rule {group[1]}/{name}"
                pollers[what] = self.provider.call(
                    what, partial(self._rules.begin_delete, group[0], group[1], name)
                )
            elif current is None or _settings(current.as_dict()) != _settings(previous):
                pollers.update(self._put(rule, SecurityRule(previous), ctx))
        wait_all(pollers, ctx)
        return {"restored": sorted(pollers)}

    @property
    def _rules(self) -> Any:
        return self.provider.azure.network.security_rules

    def _put(self, rule: JsonDict, body: Any, ctx: StepContext) -> dict[str, Any]:
        group, name = _parts(rule["securityGroup"]), rule["name"]
        ctx.note(
            "nsg-rule-put", securityGroup=group[1], rule=name, access=body["properties"]["access"]
        )
        what = f"write rule {group[1]}/{name}"
        poller = self.provider.call(
            what, lambda: self._rules.begin_create_or_update(group[0], group[1], name, body)
        )
        return {what: poller}

    def _group(self, group_id: str) -> Any:
        group, name = _parts(group_id)
        return self.provider.call(
            f"read network security group {name}",
            lambda: self.provider.azure.network.network_security_groups.get(group, name),
        )

    def _addresses(self, zone: str) -> list[str]:
        """InternalIP of every Kubernetes node backed by one of the zone's instances."""
        from kubernetes import client

        cluster = self.provider.cluster()
        keys = {
            f"/subscriptions/{self.provider.azure_settings.subscription_id}/resourcegroups/"
            f"{i.resource_group}/providers/microsoft.compute/virtualmachinescalesets/"
            f"{i.scale_set}/virtualmachines/{i.instance_id}".lower()
            for i in ScaleSets(self.provider).in_zone(cluster.node_resource_group, zone)
        }
        core = client.CoreV1Api(self.provider.api_client)
        nodes = self.provider.api("list nodes", lambda: list(paged(core.list_node)))
        found: set[str] = set()
        for node in nodes or []:
            if instance_key(node.spec.provider_id or "") in keys:
                found.update(
                    a.address for a in node.status.addresses or [] if a.type == "InternalIP"
                )
        return sorted(found)

    def _security_groups(self) -> list[str]:
        """The security groups of the node pools' subnets (the cluster's VNet when pools name
        no subnet)."""
        settings = self.provider.azure_settings
        containers, network = self.provider.azure.containers, self.provider.azure.network
        pools = self.provider.call(
            f"list the node pools of {settings.cluster}",
            lambda: list(containers.agent_pools.list(settings.resource_group, settings.cluster)),
        )
        subnets = sorted({p.vnet_subnet_id for p in pools or [] if p.vnet_subnet_id})
        if not subnets:
            node_group = self.provider.cluster().node_resource_group
            vnets = self.provider.call(
                f"list the virtual networks of {node_group}",
                lambda: list(network.virtual_networks.list(node_group)),
            )
            subnets = sorted(s.id for v in vnets or [] for s in v.subnets or [])
        groups = set()
        for subnet_id in subnets:
            parts = subnet_id.split("/")
            group, vnet, name = parts[4], parts[8], parts[10]
            subnet = self.provider.call(
                f"read subnet {vnet}/{name}",
                partial(network.subnets.get, group, vnet, name),
            )
            if subnet is not None and subnet.network_security_group is not None:
                groups.add(subnet.network_security_group.id)
        if not groups:
            raise PermanentError(
                "the node subnet has no network security group to add the outage rules to",
                fix="attach a network security group to the node subnet, or use `mode: compute`",
            )
        return sorted(groups)


def _free(taken: set[int], group_id: str) -> int:
    """The lowest priority number before every rule already there: rules are evaluated in
    priority order, and the first match decides, so the deny rule must come first."""
    before = min(taken) if taken else LAST_PRIORITY + 1
    if before > FIRST_PRIORITY:
        return FIRST_PRIORITY
    raise PermanentError(
        f"network security group {_name(group_id)} has a rule at priority {FIRST_PRIORITY}, "
        "which would be evaluated before any deny rule drillkit could add",
        fix="move that rule to a higher priority number, or use `mode: compute`",
    )


def _parts(group_id: str) -> tuple[str, str]:
    """(resource group, name) of a network security group id."""
    parts = group_id.split("/")
    return parts[4], parts[-1]


def _name(group_id: str) -> str:
    return group_id.rsplit("/", 1)[-1]


def _settings(rule: JsonDict) -> JsonDict:
    """A rule as written (name and settings), without what the service adds (etag, state)."""
    properties = {
        k: v for k, v in (rule.get("properties") or {}).items() if k != "provisioningState"
    }
    return {"name": rule.get("name"), "properties": properties}
