"""A realistic AKS cluster on the ARM test server, and what a test needs to know about it.

``seed_aks`` builds the managed cluster, node pools with their scale sets in
the node resource group (autoscaling on), instances spread over zones, the
node subnet with its network security group (holding an operator's own allow
rule that every fault must leave alone), and a priority-routed Traffic
Manager profile with a primary and a standby endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.arm.world import JsonObject, World


@dataclass
class AksLayout:
    """What ``seed_aks`` built, for tests to seed the Kubernetes side and to assert on."""

    subscription: str
    resource_group: str
    cluster: str
    location: str
    node_resource_group: str
    cluster_id: str
    nodes: list[JsonObject] = field(default_factory=list)
    """One per instance: ``name``, ``zone`` (ARM), ``providerID``, ``address``, ``instanceId``,
    ``scaleSet``, ``pool``."""
    nsg_id: str = ""
    subnet_id: str = ""
    profile_id: str = ""
    traffic_resource_group: str = ""
    traffic_profile: str = ""

    def nodes_in(self, zone: str) -> list[JsonObject]:
        return [n for n in self.nodes if n["zone"] == zone]


SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def seed_aks(
    world: World,
    *,
    subscription: str = SUBSCRIPTION,
    resource_group: str = "orders-staging",
    cluster: str = "orders-aks",
    location: str = "westeurope",
    zones: tuple[str, ...] = ("1", "2", "3"),
    pools: dict[str, int] | None = None,
    standby_location: str = "northeurope",
) -> AksLayout:
    """A zonal AKS cluster: each pool has ``per_zone`` instances in every zone, autoscaling on."""
    pools = pools or {"system": 1, "orders": 1}
    node_rg = f"MC_{resource_group}_{cluster}_{location}"
    base = f"/subscriptions/{subscription}/resourceGroups"
    cluster_id = (
        f"{base}/{resource_group}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
    )
    vnet_id = f"{base}/{node_rg}/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678"
    subnet_id = f"{vnet_id}/subnets/aks-subnet"
    nsg_id = f"{base}/{node_rg}/providers/Microsoft.Network/networkSecurityGroups/aks-agentpool-12345678-nsg"
    layout = AksLayout(
        subscription,
        resource_group,
        cluster,
        location,
        node_rg,
        cluster_id,
        nsg_id=nsg_id,
        subnet_id=subnet_id,
    )
    profiles = []
    index = 0
    for pool, per_zone in pools.items():
        count = per_zone * len(zones)
        profiles.append({"name": pool, "count": count, "availabilityZones": list(zones)})
        scale_set = f"aks-{pool}-12345678-vmss"
        vmss_id = (
            f"{base}/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}"
        )
        world.put(
            {
                "id": vmss_id,
                "name": scale_set,
                "type": "Microsoft.Compute/virtualMachineScaleSets",
                "location": location,
                "zones": list(zones),
                "tags": {"aks-managed-poolName": pool},
                "sku": {"name": "Standard_D4s_v5", "tier": "Standard", "capacity": count},
                "properties": {"provisioningState": "Succeeded", "orchestrationMode": "Uniform"},
            }
        )
        world.put(
            {
                "id": f"{cluster_id}/agentPools/{pool}",
                "name": pool,
                "type": "Microsoft.ContainerService/managedClusters/agentPools",
                "properties": {
                    "count": count,
                    "vmSize": "Standard_D4s_v5",
                    "enableAutoScaling": True,
                    "minCount": 1,
                    "maxCount": count * 2,
                    "availabilityZones": list(zones),
                    "mode": "System" if pool == "system" else "User",
                    "type": "VirtualMachineScaleSets",
                    "vnetSubnetID": subnet_id,
                    "provisioningState": "Succeeded",
                    "powerState": {"code": "Running"},
                    "orchestratorVersion": "1.30.5",
                },
            }
        )
        for number in range(count):
            zone = zones[number % len(zones)]
            instance = str(number)
            computer = f"aks-{pool}-12345678-vmss{number:06x}"
            instance_id = f"{vmss_id}/virtualMachines/{instance}"
            world.put(
                {
                    "id": instance_id,
                    "name": f"{scale_set}_{instance}",
                    "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
                    "location": location,
                    "instanceId": instance,
                    "zones": [zone],
                    "properties": {
                        "provisioningState": "Succeeded",
                        "latestModelApplied": True,
                        "osProfile": {"computerName": computer},
                    },
                    "_power": "running",
                }
            )
            layout.nodes.append(
                {
                    "name": computer,
                    "zone": zone,
                    "providerID": "azure://"
                    + instance_id.replace(f"/{node_rg}/", f"/{node_rg.lower()}/"),
                    "address": f"10.224.0.{4 + index}",
                    "instanceId": instance,
                    "scaleSet": scale_set,
                    "pool": pool,
                }
            )
            index += 1
    world.put(
        {
            "id": cluster_id,
            "name": cluster,
            "type": "Microsoft.ContainerService/ManagedClusters",
            "location": location,
            "properties": {
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "kubernetesVersion": "1.30",
                "currentKubernetesVersion": "1.30.5",
                "dnsPrefix": cluster,
                "fqdn": f"{cluster}-dns-1a2b3c4d.hcp.{location}.azmk8s.io",
                "nodeResourceGroup": node_rg,
                "agentPoolProfiles": profiles,
            },
        }
    )
    world.put(
        {
            "id": nsg_id,
            "name": nsg_id.rsplit("/", 1)[1],
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": location,
            "properties": {"provisioningState": "Succeeded", "securityRules": []},
        }
    )
    world.put(
        {
            "id": subnet_id,
            "name": "aks-subnet",
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "properties": {
                "addressPrefix": "10.224.0.0/16",
                "provisioningState": "Succeeded",
                "networkSecurityGroup": {"id": nsg_id},
            },
        }
    )
    # An operator's own rule, which every fault must leave exactly as it was.
    add_rule(world, nsg_id, "allow-https-in", priority=200, access="Allow", direction="Inbound")
    layout.traffic_resource_group = resource_group
    layout.traffic_profile = "orders"
    layout.profile_id = seed_traffic_manager(
        world, subscription, resource_group, "orders", {location: 1, standby_location: 2}
    )
    return layout


def add_rule(
    world: World, nsg_id: str, name: str, *, priority: int, access: str, direction: str
) -> None:
    rule = {
        "id": f"{nsg_id}/securityRules/{name}",
        "name": name,
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {
            "protocol": "Tcp",
            "sourcePortRange": "*",
            "destinationPortRange": "443",
            "sourceAddressPrefix": "*",
            "destinationAddressPrefix": "*",
            "access": access,
            "priority": priority,
            "direction": direction,
            "provisioningState": "Succeeded",
        },
    }
    world.put(rule)


def seed_traffic_manager(
    world: World, subscription: str, resource_group: str, name: str, priorities: dict[str, int]
) -> str:
    """A priority-routed profile with one external endpoint per region (``orders-REGION``)."""
    profile_id = (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Network/trafficmanagerprofiles/{name}"
    )
    endpoints = [
        {
            "id": f"{profile_id}/externalEndpoints/{name}-{region}",
            "name": f"{name}-{region}",
            "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
            "properties": {
                "target": f"{name}-{region}.example.com",
                "endpointStatus": "Enabled",
                "weight": 1,
                "priority": priority,
                "endpointLocation": region,
                "endpointMonitorStatus": "Online",
            },
        }
        for region, priority in priorities.items()
    ]
    world.put(
        {
            "id": profile_id,
            "name": name,
            "type": "Microsoft.Network/trafficManagerProfiles",
            "location": "global",
            "properties": {
                "profileStatus": "Enabled",
                "trafficRoutingMethod": "Priority",
                "dnsConfig": {
                    "relativeName": name,
                    "fqdn": f"{name}.trafficmanager.net",
                    "ttl": 30,
                },
                "monitorConfig": {"protocol": "HTTPS", "port": 443, "path": "/readyz"},
                "endpoints": endpoints,
            },
        }
    )
    return profile_id
