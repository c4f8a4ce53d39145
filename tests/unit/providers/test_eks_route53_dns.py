"""region-outage on Route 53 as users see it: real DNS queries answered from moto's records.

moto serves no DNS and computes no failover, so ``tests/support/route53_dns.py``
answers from its record sets the way Route 53 would. These tests pin that
emulation (which answer for failover and weighted records, which health check
settings count as unhealthy) and show that what drillkit changes for a
region-outage (an inverted health check, a weight of 0) and its undo move the
answers users get, not only the stored settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from drillkit.providers.eks import EksProvider
from drillkit.spec.faults import RegionOutage
from drillkit.spec.targets import Target
from tests.support.aws_seed import RECORD, REGION, STANDBY, client, eks_target, seed_route53
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext
from tests.support.route53_dns import route53_dns

ADDRESSES = {REGION: "192.0.2.10", STANDBY: "192.0.2.11"}


def ask(nameserver: str, name: str = RECORD) -> tuple[str, list[str]]:
    """One UDP query: the response code and the A records answered."""
    host, _, port = nameserver.rpartition(":")
    response = dns.query.udp(
        dns.message.make_query(name, dns.rdatatype.A), host, port=int(port), timeout=2
    )
    found = [rdata.address for rrset in response.answer for rdata in rrset]
    return dns.rcode.to_text(response.rcode()), found


def lose_primary(zone: str) -> tuple[Any, dict[str, Any]]:
    target = eks_target({"context": "unused"}, route53={"hostedZoneId": zone, "recordName": RECORD})
    provider = EksProvider("staging-eks", Target.model_validate(target))
    handler = provider.fault_handler("region-outage")
    assert handler is not None
    intent = RegionOutage(type="region-outage", region="primary")
    undo = json.loads(json.dumps(handler.prepare(intent, ProbeContext()), default=str))
    handler.apply(intent, undo, ProbeContext())
    return handler, undo


@pytest.fixture
def failover(aws: MotoServer) -> Iterator[tuple[str, str, dict[str, str]]]:
    seeded = seed_route53("failover", values=ADDRESSES)
    with route53_dns(seeded.zone) as (_, nameserver):
        yield seeded.zone, nameserver, seeded.checks


def test_failover_records_answer_the_primary_while_its_health_check_passes(
    failover: tuple[str, str, dict[str, str]],
) -> None:
    _, nameserver, _ = failover
    assert ask(nameserver) == ("NOERROR", [ADDRESSES[REGION]])


def test_region_outage_sends_users_to_the_secondary_and_its_undo_brings_them_back(
    failover: tuple[str, str, dict[str, str]],
) -> None:
    zone, nameserver, _ = failover
    handler, undo = lose_primary(zone)
    assert ask(nameserver) == ("NOERROR", [ADDRESSES[STANDBY]])

    handler.revert(undo, ProbeContext())
    assert ask(nameserver) == ("NOERROR", [ADDRESSES[REGION]])


def test_a_disabled_health_check_counts_as_healthy_even_inverted(
    failover: tuple[str, str, dict[str, str]],
) -> None:
    _, nameserver, checks = failover
    client("route53").update_health_check(
        HealthCheckId=checks[REGION], Inverted=True, Disabled=True
    )
    assert ask(nameserver) == ("NOERROR", [ADDRESSES[REGION]])


def test_when_both_failover_records_are_unhealthy_route53_answers_the_primary(
    failover: tuple[str, str, dict[str, str]],
) -> None:
    _, nameserver, checks = failover
    for check in checks.values():
        client("route53").update_health_check(HealthCheckId=check, Inverted=True)
    assert ask(nameserver) == ("NOERROR", [ADDRESSES[REGION]])


def test_a_name_the_zone_does_not_hold_is_nxdomain(
    failover: tuple[str, str, dict[str, str]],
) -> None:
    _, nameserver, _ = failover
    assert ask(nameserver, "billing.example.com") == ("NXDOMAIN", [])


def test_weighted_records_answer_only_non_zero_weights_after_a_region_outage(
    aws: MotoServer,
) -> None:
    seeded = seed_route53("weighted", values=ADDRESSES)
    with route53_dns(seeded.zone) as (_, nameserver):
        before = {ask(nameserver)[1][0] for _ in range(30)}
        handler, undo = lose_primary(seeded.zone)
        during = {ask(nameserver)[1][0] for _ in range(10)}
        handler.revert(undo, ProbeContext())
        after = {ask(nameserver)[1][0] for _ in range(30)}
    # Weights 100 and 50: thirty answers miss a region with odds below one in 10^5.
    assert before == set(ADDRESSES.values())
    assert during == {ADDRESSES[STANDBY]}
    assert after == set(ADDRESSES.values())
