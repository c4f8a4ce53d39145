"""An EKS cluster's AWS side, seeded in moto: VPC, subnets per zone, instances, node group.

moto does not model everything EKS does, so the seeding does it the way AWS
would have: an EKS managed node group in real AWS creates an Auto Scaling
group and launches its instances (tagged ``eks:cluster-name`` and
``aws:autoscaling:groupName``); moto's creates neither, so this module
creates the group and the instances through the EC2 and Auto Scaling APIs.
moto also launches every instance of an Auto Scaling group in its first
subnet's zone, so instances that must sit in a given zone are launched with
``RunInstances`` in that zone's subnet and attached to the group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
CLUSTER = "orders-eks"
AMI = "ami-12c6146b"  # one of moto's built-in images
ZONES = ("a", "b", "c")


@dataclass
class SeededAws:
    """Ids of what ``seed_cluster`` created; ``instances`` maps zone letter -> instance ids."""

    vpc: str
    subnets: dict[str, str]
    default_acl: str
    cluster_arn: str
    instances: dict[str, list[str]] = field(default_factory=dict)
    group: str | None = None
    other_vpc: str | None = None
    other_subnet: str | None = None

    def all_instances(self) -> list[str]:
        return sorted(i for ids in self.instances.values() for i in ids)


def client(service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region)


def seed_cluster(
    *, instances_per_zone: int = 1, node_group: bool = True, other_vpc: bool = True
) -> SeededAws:
    """A VPC with one subnet per zone, the EKS cluster in it, instances in each zone, and
    (``node_group``) an Auto Scaling group over all three subnets holding them. A second VPC
    with its own subnet in zone a (``other_vpc``) is there to show drillkit leaves it alone."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )["Subnet"]["SubnetId"]
        for index, zone in enumerate(ZONES)
    }
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
    )
    default_acl = acls["NetworkAcls"][0]["NetworkAclId"]
    eks = client("eks")
    cluster = eks.create_cluster(
        name=CLUSTER,
        version="1.31",
        roleArn="arn:aws:iam::123456789012:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": list(subnets.values())},
    )["cluster"]
    seeded = SeededAws(vpc, subnets, default_acl, cluster["arn"])
    group_name = f"eks-{CLUSTER}-workers"
    for zone in ZONES:
        answer = ec2.run_instances(
            ImageId=AMI,
            MinCount=instances_per_zone,
            MaxCount=instances_per_zone,
            InstanceType="m5.large",
            SubnetId=subnets[zone],
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "eks:cluster-name", "Value": CLUSTER}],
                }
            ],
        )
        seeded.instances[zone] = sorted(i["InstanceId"] for i in answer["Instances"])
    if node_group:
        _node_group(seeded, group_name, instances_per_zone)
    if other_vpc:
        seeded.other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        seeded.other_subnet = ec2.create_subnet(
            VpcId=seeded.other_vpc, CidrBlock="10.1.0.0/24", AvailabilityZone=f"{REGION}a"
        )["Subnet"]["SubnetId"]
    return seeded


def _node_group(seeded: SeededAws, name: str, per_zone: int) -> None:
    """The Auto Scaling group a managed node group would have made, with the seeded instances."""
    ec2 = client("ec2")
    autoscaling = client("autoscaling")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{name}-template",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "m5.large"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=0,
        MaxSize=10,
        DesiredCapacity=0,
        VPCZoneIdentifier=",".join(seeded.subnets[z] for z in ZONES),
        Tags=[
            {
                "Key": "eks:cluster-name",
                "Value": CLUSTER,
                "PropagateAtLaunch": True,
                "ResourceId": name,
                "ResourceType": "auto-scaling-group",
            }
        ],
    )
    autoscaling.attach_instances(InstanceIds=seeded.all_instances(), AutoScalingGroupName=name)
    seeded.group = name


def subnet_acls(subnets: list[str]) -> dict[str, str]:
    """subnet -> network ACL id, as the VPC has it now."""
    answer = client("ec2").describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": subnets}]
    )
    return {
        a["SubnetId"]: acl["NetworkAclId"]
        for acl in answer["NetworkAcls"]
        for a in acl["Associations"]
        if a["SubnetId"] in subnets
    }


def instance_states(ids: list[str]) -> dict[str, str]:
    answer = client("ec2").describe_instances(InstanceIds=ids)
    return {
        i["InstanceId"]: i["State"]["Name"] for r in answer["Reservations"] for i in r["Instances"]
    }


def provider_ids(seeded: SeededAws) -> dict[str, str]:
    """Node name (``node-a-1``...) -> ``spec.providerID`` of the seeded instance behind it."""
    found = {}
    for zone, ids in seeded.instances.items():
        for index, instance in enumerate(ids, start=1):
            found[f"node-{zone}-{index}"] = f"aws:///{REGION}{zone}/{instance}"
    return found


def eks_target(kubernetes: dict[str, Any], **aws: Any) -> dict[str, Any]:
    """A ``provider: eks`` target for the seeded cluster and the emulator's kubeconfig."""
    return {
        "provider": "eks",
        "tier": "staging",
        "kubernetes": kubernetes,
        "aws": {"region": REGION, "cluster": CLUSTER, **aws},
        "zones": {zone: f"{REGION}{zone}" for zone in ZONES},
        "regions": {"primary": REGION, "standby": "us-west-2"},
    }


def link_nodes(store: Any, seeded: SeededAws) -> None:
    """Point the emulator's nodes at the seeded instances (``spec.providerID``), as each
    kubelet on an EC2 instance registers its node."""
    from tests.support.kube.catalogue import NODES

    for name, provider_id in provider_ids(seeded).items():
        if store.find(NODES, "", name) is not None:
            store.edit(
                NODES, "", name, lambda n, p=provider_id: n["spec"].update({"providerID": p})
            )


RECORD = "orders.example.com"
STANDBY = "us-west-2"


@dataclass
class SeededRoute53:
    zone: str
    """Hosted zone id (without ``/hostedzone/``)."""
    checks: dict[str, str]
    """region -> health check id (failover routing only)."""


def seed_route53(routing: str = "failover", values: dict[str, str] | None = None) -> SeededRoute53:
    """The orders name served from two regions: failover records (PRIMARY in us-east-1 with
    a health check, SECONDARY in us-west-2 with its own) or weighted ones (100 and 50).
    ``values`` maps a region to the address its record answers (documentation addresses
    192.0.2.10 and .11 by default).

    Real Route 53 evaluates the health checks and answers with the SECONDARY once the
    PRIMARY's check fails; moto's checks always pass and it computes no failover, so tests
    read the records and health check settings, which is what drillkit changes, or ask
    ``route53_dns``, which answers from them as Route 53 would."""
    route53 = client("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="drillkit-tests")
    zone_id = zone["HostedZone"]["Id"].removeprefix("/hostedzone/")
    checks: dict[str, str] = {}
    changes = []
    for index, region in enumerate((REGION, STANDBY)):
        record: dict[str, Any] = {
            "Name": f"{RECORD}.",
            "Type": "A",
            "TTL": 60,
            "SetIdentifier": region,
            "ResourceRecords": [{"Value": (values or {}).get(region, f"192.0.2.{10 + index}")}],
        }
        if routing == "failover":
            check = route53.create_health_check(
                CallerReference=f"orders-{region}",
                HealthCheckConfig={
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": f"orders.{region}.example.com",
                    "Port": 443,
                    "ResourcePath": "/healthz",
                    "RequestInterval": 10,
                    "FailureThreshold": 2,
                },
            )["HealthCheck"]["Id"]
            checks[region] = check
            record |= {"Failover": "PRIMARY" if index == 0 else "SECONDARY", "HealthCheckId": check}
        else:
            record |= {"Weight": 100 if index == 0 else 50}
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return SeededRoute53(zone_id, checks)


def route53_state(zone: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The orders records and the config of every health check they use, as Route 53 has them."""
    route53 = client("route53")
    records = [
        r
        for r in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        if r["Name"] == f"{RECORD}."
    ]
    checks = {
        r["HealthCheckId"]: route53.get_health_check(HealthCheckId=r["HealthCheckId"])[
            "HealthCheck"
        ]["HealthCheckConfig"]
        for r in records
        if r.get("HealthCheckId")
    }
    return records, checks
