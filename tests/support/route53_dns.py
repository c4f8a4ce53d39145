"""Route 53 as users see it: a loopback DNS server answering from moto's record sets.

moto stores Route 53 records and health checks but serves no DNS and computes
no failover (its health checks always report Success). Real Route 53 answers
each query from the hosted zone as it is at that moment, so a drill that
moves traffic is seen by the next query. ``Route53Resolver`` does the same:
at every query it reads the name's record sets and their health checks from
moto through boto3 and picks the answer the way Route 53 does:

- failover records: the PRIMARY while it is healthy, else the SECONDARY (and
  the PRIMARY again when both are unhealthy, as Route 53 answers when every
  record of a group is unhealthy);
- weighted records: one healthy record at random, in proportion to its
  weight, among those with a non-zero weight (all of them, evenly, when every
  weight is 0);
- anything else: every record's values.

Health: real Route 53 computes a check's status from its health checkers'
observations; moto's checkers always observe Success, so a check here is
unhealthy exactly when ``Inverted`` is true (a passing check inverted reports
failure), and healthy whenever it is ``Disabled`` (Route 53 then considers it
healthy whatever it observes). Those two flags are what drillkit changes.

Names the zone does not hold answer NXDOMAIN; a question for another type of a
name it holds answers NOERROR without records, like Route 53.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A, DNSLabel
from dnslib.server import BaseResolver

from tests.support.dns_server import serve_dns

_RDATA: dict[str, Any] = {"A": A, "AAAA": AAAA, "CNAME": CNAME}
Record = dict[str, Any]


def _canonical(name: str) -> str:
    return str(DNSLabel(name)).rstrip(".").lower()


class Route53Resolver(BaseResolver):  # type: ignore[misc]
    """Answers from one hosted zone in moto, read afresh for every query."""

    def __init__(self, zone_id: str, region: str = "us-east-1") -> None:
        self.zone_id = zone_id
        self._route53 = boto3.client("route53", region_name=region)
        self.answers: list[tuple[str, list[str]]] = []
        """Every (name, values) answered, in order: what users were sent to."""

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = _canonical(str(request.q.qname))
        record_type = QTYPE[request.q.qtype]
        records = [r for r in self._record_sets() if _canonical(r["Name"]) == name]
        if not records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        chosen = self.choose([r for r in records if r["Type"] == record_type])
        values = [v["Value"] for r in chosen for v in r.get("ResourceRecords", [])]
        for record in chosen:
            for value in record.get("ResourceRecords", []):
                reply.add_answer(
                    RR(
                        request.q.qname,
                        getattr(QTYPE, record_type),
                        rdata=_RDATA[record_type](value["Value"]),
                        ttl=int(record.get("TTL", 60)),
                    )
                )
        self.answers.append((name, values))
        return reply

    def choose(self, records: list[Record]) -> list[Record]:
        """The record set(s) Route 53 would answer with (see the module docstring)."""
        if not records:
            return []
        if all("Failover" in r for r in records):
            primary = [r for r in records if r["Failover"] == "PRIMARY"]
            secondary = [r for r in records if r["Failover"] == "SECONDARY"]
            if primary and self._healthy(primary[0]):
                return primary
            if secondary and self._healthy(secondary[0]):
                return secondary
            return primary or secondary
        if all("Weight" in r for r in records):
            healthy = [r for r in records if self._healthy(r)] or records
            weighted = [r for r in healthy if int(r["Weight"]) > 0]
            if not weighted:
                return [random.choice(healthy)]
            return random.choices(weighted, weights=[int(r["Weight"]) for r in weighted])
        return records

    def _healthy(self, record: Record) -> bool:
        check_id = record.get("HealthCheckId")
        if not check_id:
            return True
        config = self._route53.get_health_check(HealthCheckId=check_id)["HealthCheck"][
            "HealthCheckConfig"
        ]
        # moto's checkers always observe Success; real Route 53 computes the status from
        # its health checkers' observations, then applies these two settings.
        if config.get("Disabled"):
            return True
        return not config.get("Inverted")

    def _record_sets(self) -> list[Record]:
        found: list[Record] = []
        paginator = self._route53.get_paginator("list_resource_record_sets")
        for page in paginator.paginate(HostedZoneId=self.zone_id):
            found.extend(page["ResourceRecordSets"])
        return found


@contextmanager
def route53_dns(zone_id: str) -> Iterator[tuple[Route53Resolver, str]]:
    """Serve hosted zone ``zone_id`` of the moto server the environment points boto3 at;
    yields the resolver and ``"127.0.0.1:port"``."""
    resolver = Route53Resolver(zone_id)
    with serve_dns(resolver) as nameserver:
        yield resolver, nameserver
