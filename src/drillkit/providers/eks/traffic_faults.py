"""``region-outage`` and ``traffic-failover`` on EKS, through the target's Route 53 records.

Losing a region takes its record out of service the way Route 53 itself
would: with failover routing its health check is forced unhealthy
(``Inverted``, so a passing check reports failure), with weighted routing its
weight goes to zero. ``traffic-failover`` moves traffic to a region the same
way, from the other regions' records.

The ``region-outage`` undo record is a snapshot of every record set of the
name and every health check they use; ``revert`` writes back whatever
differs, so it also takes back what a ``traffic-failover`` restore moved
during the drill. A restore is recovery and has no undo of its own, but it
journals the records as they were before it changes them.
"""

from __future__ import annotations

from drillkit.errors import UserInputError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.eks import EksProvider, route53
from drillkit.spec.faults import RegionOutage
from drillkit.spec.restores import TrafficFailover


def _plan_away(
    provider: EksProvider, lose: list[str]
) -> tuple[JsonDict, list[JsonDict], list[str]]:
    """The snapshot, and the record and health check changes that take ``lose`` out."""
    saved = route53.snapshot(provider)
    records = saved["records"]
    kind = route53.routing(records)
    losing = [r for region in lose for r in route53.records_of(provider, records, region)]
    if kind == "weighted":
        return saved, [r | {"Weight": 0} for r in losing if r["Weight"] != 0], []
    unchecked = [str(r.get("SetIdentifier")) for r in losing if not r.get("HealthCheckId")]
    if unchecked:
        raise UserInputError(
            f"failover record {', '.join(unchecked)} of {records[0]['Name']} has no health "
            "check, so drillkit cannot take it out of service",
            fix="attach a Route 53 health check to every failover record",
        )
    checks = sorted(
        {
            r["HealthCheckId"]
            for r in losing
            if not saved["healthChecks"][r["HealthCheckId"]]["Inverted"]
        }
    )
    return saved, [], checks


def _touched(records: list[JsonDict], checks: list[str]) -> list[Touched]:
    touched = [
        Touched("dns-record", f"{r['Name']} {r['Type']} {r.get('SetIdentifier')}", "weight -> 0")
        for r in records
    ]
    touched += [Touched("health-check", c, "invert (forced unhealthy)") for c in checks]
    return touched


@EksProvider.fault("region-outage")
class EksRegionOutageHandler:
    def __init__(self, provider: EksProvider) -> None:
        self.provider = provider

    def impact(self, intent: RegionOutage) -> Impact:
        region = self._region(intent)
        _, records, checks = _plan_away(self.provider, [region])
        return Impact((Touched("region", region, "outage"), *_touched(records, checks)))

    def prepare(self, intent: RegionOutage, ctx: StepContext) -> JsonDict:
        region = self._region(intent)
        saved, _, _ = _plan_away(self.provider, [region])
        return {"region": region, "route53": saved}

    def apply(self, intent: RegionOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        _, records, checks = _plan_away(self.provider, [undo["region"]])
        route53.upsert(self.provider, undo["route53"]["hostedZoneId"], records, ctx)
        for check in checks:
            route53.set_health(self.provider, check, {"Inverted": True}, ctx)
        return {
            "region": undo["region"],
            "records": [r.get("SetIdentifier") for r in records],
            "healthChecks": checks,
        }

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        return {"region": undo["region"], **route53.restore(self.provider, undo["route53"], ctx)}

    def _region(self, intent: RegionOutage) -> str:
        if intent.mode == "compute":
            raise UserInputError(
                "region-outage mode `compute` is not available on eks",
                fix="use `mode: traffic` (or auto): the region's Route 53 records go out of "
                "service",
            )
        return self.provider.target.region(intent.region)


@EksProvider.restore("traffic-failover")
class EksTrafficFailoverHandler:
    def __init__(self, provider: EksProvider) -> None:
        self.provider = provider

    def impact(self, intent: TrafficFailover) -> Impact:
        _, records, checks, _ = self._plan(intent)
        return Impact(tuple(_touched(records, checks)))

    def run(self, intent: TrafficFailover, ctx: StepContext) -> JsonDict:
        saved, records, checks, to = self._plan(intent)
        ctx.note("route53-before", records=saved["records"], healthChecks=saved["healthChecks"])
        route53.upsert(self.provider, saved["hostedZoneId"], records, ctx)
        for check in checks:
            route53.set_health(self.provider, check, {"Inverted": True}, ctx)
        return {
            "to": to,
            "records": [r.get("SetIdentifier") for r in records],
            "healthChecks": checks,
        }

    def _plan(self, intent: TrafficFailover) -> tuple[JsonDict, list[JsonDict], list[str], str]:
        if intent.record is not None and route53.settings(self.provider).record_name.rstrip(
            "."
        ) != intent.record.rstrip("."):
            raise UserInputError(
                f"traffic-failover names record `{intent.record}`, but the target routes "
                f"`{route53.settings(self.provider).record_name}`",
                fix="drop `record:` or fix `aws.route53.recordName` of the target",
            )
        to = self.provider.target.region(intent.to)
        records = route53.record_sets(self.provider)
        kind = route53.routing(records)
        wanted = {"failover": "failover", "priority": "failover", "weighted": "weighted"}
        if intent.method != "auto" and wanted[intent.method] != kind:
            raise UserInputError(
                f"traffic-failover method `{intent.method}` does not fit the {kind} records of "
                f"{records[0]['Name']}",
                fix=f"use `method: auto` or `method: {kind}`",
            )
        route53.records_of(self.provider, records, to)  # the destination must exist
        served = {route53.region_of(self.provider, r) for r in records}
        others = sorted(region for region in served if region is not None and region != to)
        saved, changes, checks = _plan_away(self.provider, others)
        return saved, changes, checks, to
