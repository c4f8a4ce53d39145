"""A zone cut off at the network: its subnets swapped to a deny-all network ACL.

The approach AWS FIS, krkn and chaosgarden take. Only subnets of the
cluster's VPC in the zone are touched. ``prepare`` records, per subnet, the
network ACL it is associated with; ``apply`` creates one network ACL in the
VPC, tagged ``drillkit:run-id`` (a new network ACL denies all traffic both
ways until rules are added, and none are), and moves each subnet's
association to it. ``revert`` moves every recorded subnet back to its own
ACL (association ids change on every move, so they are looked up afresh) and
deletes the run's ACLs, found by tag: it needs nothing but the undo record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.errors import PermanentError
from drillkit.providers.base import JsonDict, StepContext, Touched

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider


def zone_subnets(provider: EksProvider, zone: str) -> list[str]:
    """Subnet ids of the cluster's VPC in ``zone``."""
    ec2 = provider.client("ec2")
    vpc = provider.vpc_id()
    answer = provider.call(
        f"describe the subnets of {vpc} in {zone}",
        lambda: ec2.describe_subnets(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "availability-zone", "Values": [zone]},
            ]
        ),
    )
    return sorted(s["SubnetId"] for s in answer["Subnets"] if s["VpcId"] == vpc)


def associations(provider: EksProvider, subnets: list[str]) -> dict[str, tuple[str, str]]:
    """subnet id -> (association id, network ACL id), as the VPC has it now."""
    if not subnets:
        return {}
    ec2 = provider.client("ec2")
    answer = provider.call(
        "describe the subnets' network ACL associations",
        lambda: ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": subnets}]
        ),
    )
    found = {}
    for acl in answer["NetworkAcls"]:
        for association in acl.get("Associations") or []:
            if association["SubnetId"] in subnets:
                found[association["SubnetId"]] = (
                    association["NetworkAclAssociationId"],
                    acl["NetworkAclId"],
                )
    return found


def impact(provider: EksProvider, zone: str) -> list[Touched]:
    subnets = zone_subnets(provider, zone)
    current = associations(provider, subnets)
    touched = [Touched("network-acl", f"deny-all in {provider.vpc_id()}", "create")]
    for subnet in subnets:
        association, acl = current.get(subnet, ("?", "?"))
        touched.append(Touched("subnet", subnet, f"network ACL {acl} -> deny-all"))
        touched.append(Touched("acl-association", association, "replace"))
    return touched


def prepare(provider: EksProvider, zone: str, run_id: str) -> JsonDict:
    subnets = zone_subnets(provider, zone)
    if not subnets:
        raise PermanentError(
            f"the cluster's VPC {provider.vpc_id()} has no subnet in {zone}",
            fix="check the target's zone aliases (`zones:`) and `aws.region`",
        )
    current = associations(provider, subnets)
    missing = [s for s in subnets if s not in current]
    if missing:
        raise PermanentError(f"subnets {', '.join(missing)} have no network ACL association")
    return {
        "vpcId": provider.vpc_id(),
        "zone": zone,
        "runId": run_id,
        "subnets": [{"subnetId": s, "networkAclId": current[s][1]} for s in subnets],
    }


def apply(provider: EksProvider, undo: JsonDict, ctx: StepContext) -> JsonDict:
    from drillkit.providers.eks import RUN_ID_TAG

    ec2 = provider.client("ec2")
    deny = _run_acls(provider, undo)
    if deny:
        acl = deny[0]
    else:
        created = provider.call(
            f"create a deny-all network ACL in {undo['vpcId']}",
            lambda: ec2.create_network_acl(
                VpcId=undo["vpcId"],
                TagSpecifications=[
                    {
                        "ResourceType": "network-acl",
                        "Tags": [
                            {"Key": RUN_ID_TAG, "Value": undo["runId"]},
                            {"Key": "Name", "Value": f"drillkit-zone-outage-{undo['zone']}"},
                        ],
                    }
                ],
            ),
        )
        acl = created["NetworkAcl"]["NetworkAclId"]
        ctx.note("network-acl-created", networkAclId=acl, vpcId=undo["vpcId"])
    subnets = [r["subnetId"] for r in undo["subnets"]]
    current = associations(provider, subnets)
    for subnet in subnets:
        if subnet not in current:
            raise PermanentError(
                f"subnet {subnet} lost its network ACL association since the plan; "
                "the zone was only partly cut off",
                fix="drillkit reverts what it changed; check the VPC and run the drill again",
            )
        association, now = current[subnet]
        if now != acl:
            provider.call(
                f"associate subnet {subnet} with deny-all network ACL {acl}",
                lambda association=association: ec2.replace_network_acl_association(
                    AssociationId=association, NetworkAclId=acl
                ),
            )
    ctx.note("subnets-isolated", networkAclId=acl, subnets=subnets)
    return {"networkAclId": acl, "subnets": subnets}


def revert(provider: EksProvider, undo: JsonDict, ctx: StepContext) -> JsonDict:
    ec2 = provider.client("ec2")
    original = {r["subnetId"]: r["networkAclId"] for r in undo["subnets"]}
    current = associations(provider, sorted(original))
    restored = []
    for subnet, acl in sorted(original.items()):
        if subnet not in current:
            continue  # the subnet is gone: nothing left to undo
        association, now = current[subnet]
        if now != acl:
            provider.call(
                f"associate subnet {subnet} back with network ACL {acl}",
                lambda association=association, acl=acl: ec2.replace_network_acl_association(
                    AssociationId=association, NetworkAclId=acl
                ),
            )
            restored.append(subnet)
    deleted = []
    for acl in _run_acls(provider, undo):
        provider.call(
            f"delete the run's network ACL {acl}",
            lambda acl=acl: ec2.delete_network_acl(NetworkAclId=acl),
            tolerate=("InvalidNetworkAclID.NotFound",),
        )
        deleted.append(acl)
    if restored or deleted:
        ctx.note("subnets-restored", subnets=restored, deletedNetworkAcls=deleted)
    return {"restoredSubnets": restored, "deletedNetworkAcls": deleted}


def _run_acls(provider: EksProvider, undo: JsonDict) -> list[str]:
    """The network ACLs this run created in the VPC (by tag)."""
    from drillkit.providers.eks import RUN_ID_TAG

    ec2 = provider.client("ec2")
    answer = provider.call(
        "find the run's network ACLs",
        lambda: ec2.describe_network_acls(
            Filters=[
                {"Name": "vpc-id", "Values": [undo["vpcId"]]},
                {"Name": f"tag:{RUN_ID_TAG}", "Values": [undo["runId"]]},
            ]
        ),
    )
    return sorted(a["NetworkAclId"] for a in answer["NetworkAcls"] if not a.get("IsDefault"))
