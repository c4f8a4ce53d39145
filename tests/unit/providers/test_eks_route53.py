"""region-outage and traffic-failover through Route 53 records in moto.

Each change is read back with plain boto3 calls, and after the undo the
records and health check settings must equal what was there before, whole
and field by field. moto's health checks never evaluate and it computes no
failover (see tests/support/aws_seed.py), so what is checked is what drillkit
changes: a health check's ``Inverted`` flag and a record's ``Weight``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drillkit.errors import UserInputError
from drillkit.providers.eks import EksProvider
from drillkit.spec.faults import RegionOutage
from drillkit.spec.restores import TrafficFailover
from drillkit.spec.targets import Target
from tests.support.aws_seed import (
    RECORD,
    REGION,
    STANDBY,
    client,
    eks_target,
    route53_state,
    seed_route53,
)
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext


def make_provider(zone: str | None) -> EksProvider:
    aws: dict[str, Any] = {}
    if zone is not None:
        aws["route53"] = {"hostedZoneId": zone, "recordName": RECORD}
    target = Target.model_validate(eks_target({"context": "unused"}, **aws))
    return EksProvider("staging-eks", target)


def outage(provider: EksProvider, region: str = "primary") -> tuple[Any, dict[str, Any]]:
    handler = provider.fault_handler("region-outage")
    assert handler is not None
    intent = RegionOutage(type="region-outage", region=region)
    undo = json.loads(json.dumps(handler.prepare(intent, ProbeContext()), default=str))
    return handler, undo | {"result": handler.apply(intent, undo, ProbeContext())}


def test_region_outage_forces_the_primarys_health_check_unhealthy_and_undo_restores_it(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("failover")
    before = route53_state(seeded.zone)
    provider = make_provider(seeded.zone)
    impact = provider.fault_handler("region-outage").impact(  # type: ignore[union-attr]
        RegionOutage(type="region-outage")
    )
    assert [(t.kind, t.name) for t in impact.touched] == [
        ("region", REGION),
        ("health-check", seeded.checks[REGION]),
    ]

    _, undo = outage(provider)

    assert undo["result"]["healthChecks"] == [seeded.checks[REGION]]
    records, checks = route53_state(seeded.zone)
    assert records == before[0]
    assert checks[seeded.checks[REGION]]["Inverted"] is True
    assert checks[seeded.checks[STANDBY]] == before[1][seeded.checks[STANDBY]]

    fresh = make_provider(seeded.zone).fault_handler("region-outage")
    assert fresh is not None
    assert fresh.revert(undo, ProbeContext())["healthChecks"] == [seeded.checks[REGION]]
    assert route53_state(seeded.zone) == before
    assert fresh.revert(undo, ProbeContext()) == {
        "region": REGION,
        "records": [],
        "healthChecks": [],
    }


def test_region_outage_on_weighted_records_sets_the_regions_weight_to_zero_then_back(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("weighted")
    before = route53_state(seeded.zone)
    provider = make_provider(seeded.zone)

    handler, undo = outage(provider)

    weights = {r["SetIdentifier"]: r["Weight"] for r in route53_state(seeded.zone)[0]}
    assert weights == {REGION: 0, STANDBY: 50}
    assert undo["result"]["records"] == [REGION]
    handler.revert(undo, ProbeContext())
    assert route53_state(seeded.zone) == before


def test_traffic_failover_moves_traffic_and_the_region_outage_undo_takes_it_back(
    aws: MotoServer,
) -> None:
    """The drill's order: lose the primary, fail over to the standby, undo the fault."""
    seeded = seed_route53("weighted")
    before = route53_state(seeded.zone)
    provider = make_provider(seeded.zone)
    handler, undo = outage(provider)
    failover = provider.restore_handler("traffic-failover")
    assert failover is not None
    ctx = ProbeContext()

    result = failover.run(TrafficFailover(type="traffic-failover", to="standby"), ctx)

    assert result == {"to": STANDBY, "records": [], "healthChecks": []}  # already at 0
    assert ctx.notes[0][0] == "route53-before"
    handler.revert(undo, ProbeContext())
    assert route53_state(seeded.zone) == before


def test_traffic_failover_on_failover_records_inverts_the_other_regions_check(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("failover")
    provider = make_provider(seeded.zone)
    failover = provider.restore_handler("traffic-failover")
    assert failover is not None

    result = failover.run(
        TrafficFailover(type="traffic-failover", to="standby", method="failover"), ProbeContext()
    )

    assert result["healthChecks"] == [seeded.checks[REGION]]
    checks = route53_state(seeded.zone)[1]
    assert checks[seeded.checks[REGION]]["Inverted"] is True
    assert checks[seeded.checks[STANDBY]]["Inverted"] is False


def test_a_method_that_does_not_fit_the_records_is_refused_before_any_change(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("failover")
    before = route53_state(seeded.zone)
    failover = make_provider(seeded.zone).restore_handler("traffic-failover")
    assert failover is not None

    with pytest.raises(UserInputError) as caught:
        failover.run(
            TrafficFailover(type="traffic-failover", to="standby", method="weighted"),
            ProbeContext(),
        )

    assert "does not fit the failover records" in caught.value.message
    assert route53_state(seeded.zone) == before


def test_a_target_without_a_route53_record_says_what_to_add(aws: MotoServer) -> None:
    handler = make_provider(None).fault_handler("region-outage")
    assert handler is not None

    with pytest.raises(UserInputError) as caught:
        handler.prepare(RegionOutage(type="region-outage"), ProbeContext())

    assert "aws.route53" in (caught.value.fix or "")


def test_a_failover_record_without_a_health_check_is_refused_before_any_change(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("failover")
    route53 = client("route53")
    records, _ = route53_state(seeded.zone)
    primary = next(r for r in records if r["Failover"] == "PRIMARY")
    unchecked = {k: v for k, v in primary.items() if k != "HealthCheckId"}
    route53.change_resource_record_sets(
        HostedZoneId=seeded.zone,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": unchecked}]},
    )
    before = route53_state(seeded.zone)
    handler = make_provider(seeded.zone).fault_handler("region-outage")
    assert handler is not None

    with pytest.raises(UserInputError) as caught:
        handler.prepare(RegionOutage(type="region-outage"), ProbeContext())

    assert caught.value.message.startswith(f"failover record {REGION} of {RECORD}. has no health")
    assert route53_state(seeded.zone) == before


def test_region_outage_mode_compute_is_refused_on_eks(aws: MotoServer) -> None:
    seeded = seed_route53("weighted")
    handler = make_provider(seeded.zone).fault_handler("region-outage")
    assert handler is not None

    with pytest.raises(UserInputError, match="mode `compute` is not available on eks"):
        handler.impact(RegionOutage(type="region-outage", mode="compute"))
