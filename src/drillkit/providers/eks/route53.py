"""The target's Route 53 records: read them, say which region each serves, put them back.

A target names one DNS name (``aws.route53``: hosted zone, record name and
type). Its record sets are either failover records (``PRIMARY`` and
``SECONDARY``, each with a health check) or weighted records. A record
serves the region its ``Region`` field names, or the region (or region
alias) its ``SetIdentifier`` names; failover records without either serve
the target's ``primary`` and ``standby`` regions.

``snapshot`` keeps every record set and every health check they use exactly
as Route 53 answered, and ``restore`` writes back whatever differs, so an
undo puts the routing back byte for byte whatever moved it during the drill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.base import JsonDict, StepContext
from drillkit.spec.targets import Route53Record

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider

HEALTH_FIELDS = ("Inverted", "Disabled")
"""The health check settings drillkit changes, and so restores."""


def settings(provider: EksProvider) -> Route53Record:
    found = provider.aws_settings.route53
    if found is None:
        raise UserInputError(
            f"target `{provider.target_name}` names no Route 53 record to move traffic with",
            fix="add `aws.route53: {hostedZoneId: Z..., recordName: orders.example.com}` "
            "to the target",
        )
    return found


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _zone(record: Route53Record) -> str:
    return record.hosted_zone_id.removeprefix("/hostedzone/")


def record_sets(provider: EksProvider) -> list[JsonDict]:
    """Every record set of the target's name and type, as Route 53 answers them."""
    record = settings(provider)
    route53 = provider.client("route53")
    name = _fqdn(record.record_name)
    found: list[JsonDict] = []
    start: JsonDict = {"StartRecordName": name, "StartRecordType": record.record_type}
    while True:
        answer = provider.call(
            f"list the Route 53 records of {name}",
            lambda start=start: route53.list_resource_record_sets(
                HostedZoneId=_zone(record), **start
            ),
        )
        for item in answer["ResourceRecordSets"]:
            if _fqdn(item["Name"]) == name and item["Type"] == record.record_type:
                found.append(dict(item))
        if not answer.get("IsTruncated") or _fqdn(answer.get("NextRecordName", "")) != name:
            break
        start = {
            "StartRecordName": answer["NextRecordName"],
            "StartRecordType": answer["NextRecordType"],
        }
        if answer.get("NextRecordIdentifier"):
            start["StartRecordIdentifier"] = answer["NextRecordIdentifier"]
    if not found:
        raise PermanentError(
            f"hosted zone {_zone(record)} has no {record.record_type} record {name}",
            fix="check `aws.route53` of the target (`aws route53 list-resource-record-sets`)",
        )
    return found


def routing(records: list[JsonDict]) -> str:
    """``failover`` or ``weighted``; anything else cannot be moved by drillkit."""
    if all("Failover" in r for r in records):
        return "failover"
    if all("Weight" in r for r in records):
        return "weighted"
    raise PermanentError(
        f"the records of {records[0]['Name']} use neither failover nor weighted routing",
        fix="route the name with failover or weighted records to drill a region failover",
    )


def region_of(provider: EksProvider, record: JsonDict) -> str | None:
    """The region a record serves (see the module docstring), or None."""
    if record.get("Region"):
        return str(record["Region"])
    regions = provider.target.regions
    identifier = record.get("SetIdentifier")
    if identifier in regions.values():
        return str(identifier)
    if identifier in regions:
        return regions[str(identifier)]
    failover = {"PRIMARY": "primary", "SECONDARY": "standby"}.get(str(record.get("Failover")))
    if failover is not None and failover in regions:
        return regions[failover]
    return None


def records_of(provider: EksProvider, records: list[JsonDict], region: str) -> list[JsonDict]:
    mine = [r for r in records if region_of(provider, r) == region]
    if not mine:
        known = sorted({str(region_of(provider, r)) for r in records})
        raise PermanentError(
            f"no record of {records[0]['Name']} serves region {region} (they serve {known})",
            fix="name the region in each record's SetIdentifier, or map `primary` and "
            "`standby` in the target's `regions`",
        )
    return mine


def health_check(provider: EksProvider, check_id: str) -> JsonDict:
    route53 = provider.client("route53")
    answer = provider.call(
        f"read Route 53 health check {check_id}",
        lambda: route53.get_health_check(HealthCheckId=check_id),
    )
    found: JsonDict = answer["HealthCheck"]
    return found


def snapshot(provider: EksProvider) -> JsonDict:
    """The records and their health checks exactly as they are, for the undo record."""
    records = record_sets(provider)
    checks = sorted({r["HealthCheckId"] for r in records if r.get("HealthCheckId")})
    return {
        "hostedZoneId": _zone(settings(provider)),
        "records": records,
        "healthChecks": {
            c: {k: health_check(provider, c)["HealthCheckConfig"].get(k) for k in HEALTH_FIELDS}
            for c in checks
        },
    }


def set_health(provider: EksProvider, check_id: str, values: JsonDict, ctx: StepContext) -> None:
    route53 = provider.client("route53")
    fields = {k: v for k, v in values.items() if v is not None}
    provider.call(
        f"update Route 53 health check {check_id}",
        lambda: route53.update_health_check(HealthCheckId=check_id, **fields),
    )
    ctx.note("health-check-updated", healthCheckId=check_id, **fields)


def upsert(provider: EksProvider, zone: str, records: list[JsonDict], ctx: StepContext) -> None:
    if not records:
        return
    route53 = provider.client("route53")
    changes = [{"Action": "UPSERT", "ResourceRecordSet": r} for r in records]
    provider.call(
        f"change the Route 53 records of {records[0]['Name']}",
        lambda: route53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={"Comment": "drillkit", "Changes": changes},
        ),
    )
    ctx.note(
        "route53-records-changed",
        records=[{k: r.get(k) for k in ("SetIdentifier", "Weight", "Failover")} for r in records],
    )


def restore(provider: EksProvider, saved: JsonDict, ctx: StepContext) -> JsonDict:
    """Write back every recorded record set and health check setting that differs now."""
    current = {_key(r): r for r in record_sets(provider)}
    changed = [r for r in saved["records"] if current.get(_key(r)) != r]
    upsert(provider, saved["hostedZoneId"], changed, ctx)
    restored_checks = []
    for check_id, values in sorted(saved["healthChecks"].items()):
        config = health_check(provider, check_id)["HealthCheckConfig"]
        if any(config.get(k) != v for k, v in values.items()):
            set_health(provider, check_id, {k: bool(v) for k, v in values.items()}, ctx)
            restored_checks.append(check_id)
    return {
        "records": [r.get("SetIdentifier") for r in changed],
        "healthChecks": restored_checks,
    }


def _key(record: JsonDict) -> tuple[Any, ...]:
    return (record["Name"], record["Type"], record.get("SetIdentifier"))
