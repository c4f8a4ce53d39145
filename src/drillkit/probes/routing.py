"""The ``routing`` probe: which endpoint, and which region, a DNS name sends users to.

A failover drill is only proven when traffic actually moves, so this probe asks
DNS (a given nameserver, or the system resolver) for the name's records and,
when the drill names an HTTP(S) URL, asks that URL which region served it
(response header ``regionHeader`` or JSON field ``regionField``). It passes
when the answer set equals ``expect.records`` and the serving region equals
``expect.region``, each when given. Every network outcome (NXDOMAIN, SERVFAIL,
no answer, timeout, refused connection) is a failed measurement with a summary
naming the name, type and server, never an exception: a probe that cannot
reach DNS during a drill is exactly what the drill should report.

Decision: ``expect.region`` without ``url`` fails with an explanatory summary.
Mapping a DNS answer to a region needs a source of truth (a table of
addresses per region) that drillkit does not have yet; asking the service
itself (``url`` plus ``regionHeader``/``regionField``) is the supported way.
The HTTP request resolves the URL with normal DNS and is not pinned to the
answer this probe saw.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.rdatatype
import dns.resolver
import httpx

from drillkit.probes.client_tls import UnreadableCaBundle, client_key, httpx_verify
from drillkit.probes.registry import generic_probe
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.spec.probes import RoutingProbe

logger = logging.getLogger(__name__)

_DNS_PORT = 53
_ERROR_STATUS = 400


@dataclass
class _Outcome:
    """What one measurement found so far: values to report and reasons it failed."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _split_nameserver(nameserver: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    if nameserver.startswith("["):
        host, _, rest = nameserver[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port else _DNS_PORT
    if nameserver.count(":") == 1:
        host, _, port = nameserver.partition(":")
        return host, int(port)
    return nameserver, _DNS_PORT


def _address_of(host: str) -> str:
    """dnspython wants an IP address; a host name is looked up with the system resolver."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)[0][4][0])


def _normalise(record_type: str, value: str) -> str:
    """One spelling per record, so ``expect.records`` compares by meaning."""
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return value.strip()
    if record_type == "CNAME":
        return value.strip().rstrip(".").lower()
    return value


def _rdata_text(record_type: str, rdata: Any) -> str:
    if record_type == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if record_type == "CNAME":
        return _normalise("CNAME", rdata.target.to_text())
    return _normalise(record_type, rdata.to_text())


def _dns_failure(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return "NXDOMAIN: the name does not exist"
    if isinstance(exc, dns.resolver.NoAnswer):
        return "no answer: the name exists but has no record of this type"
    if isinstance(exc, dns.resolver.NoNameservers):
        return f"no server answered usefully (SERVFAIL, REFUSED or unreachable): {exc}"
    if isinstance(exc, dns.exception.Timeout):
        return f"timed out after {timeout:.3g}s without an answer"
    return f"{type(exc).__name__}: {exc}"


@generic_probe("routing")
class RoutingHandler:
    """Resolve, optionally ask the service for its region, and compare with ``expect``."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def measure(self, intent: RoutingProbe, ctx: StepContext) -> ProbeResult:
        started = time.monotonic()
        timeout = intent.timeout.total_seconds()
        remaining = ctx.remaining()
        if 0 < remaining < timeout:
            timeout = remaining
        outcome = _Outcome()
        self._resolve(intent, timeout, outcome, ctx)
        if intent.url is not None:
            self._ask_region(intent, intent.url, timeout, outcome, ctx)
        elif intent.expect.region is not None:
            outcome.problems.append(
                f"expected region {intent.expect.region!r} but the probe has no `url`: "
                "drillkit cannot map a DNS answer to a region yet; give `url` plus "
                "`regionHeader` or `regionField` so the service names the region serving it"
            )
        latency_ms = (time.monotonic() - started) * 1000.0
        if outcome.problems:
            return ProbeResult(False, "; ".join(outcome.problems), outcome.values, latency_ms)
        summary = f"{intent.record_type} {intent.name} -> {', '.join(outcome.values['records'])}"
        if "region" in outcome.values:
            summary += f"; served by region {outcome.values['region']!r}"
        return ProbeResult(True, summary, outcome.values, latency_ms)

    def _resolve(
        self, intent: RoutingProbe, timeout: float, outcome: _Outcome, ctx: StepContext
    ) -> None:
        server = intent.nameserver or "the system resolver"
        where = f"{intent.record_type} {intent.name} @ {server}"
        try:
            if intent.nameserver:
                host, port = _split_nameserver(intent.nameserver)
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [_address_of(host)]
                resolver.port = port
            else:
                resolver = dns.resolver.Resolver()
            resolver.timeout = timeout
            resolver.lifetime = timeout
            answer = resolver.resolve(
                intent.name, dns.rdatatype.from_text(intent.record_type), search=False
            )
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            reason = _dns_failure(exc, timeout)
            logger.info("routing probe %s failed: %s", where, reason)
            ctx.note("routing-dns", name=intent.name, recordType=intent.record_type, error=reason)
            outcome.problems.append(f"DNS {where}: {reason}")
            return
        records = sorted({_rdata_text(intent.record_type, rdata) for rdata in answer})
        ttl = answer.rrset.ttl if answer.rrset is not None else None
        outcome.values.update(records=records, ttl=ttl)
        ctx.note("routing-dns", name=intent.name, recordType=intent.record_type, records=records)
        if intent.expect.records:
            expected = sorted({_normalise(intent.record_type, r) for r in intent.expect.records})
            if expected != records:
                outcome.problems.append(
                    f"DNS {where}: expected records {expected}, found {records}"
                )

    def _ask_region(
        self, intent: RoutingProbe, url: str, timeout: float, outcome: _Outcome, ctx: StepContext
    ) -> None:
        if intent.region_header is None and intent.region_field is None:
            outcome.problems.append(
                "`url` is set but neither `regionHeader` nor `regionField` says where "
                "the response names its region"
            )
            return
        host = _host_of(url)
        try:
            verify = httpx_verify(client_key(intent.tls))
        except UnreadableCaBundle as exc:
            outcome.problems.append(f"CA bundle {exc.args[0]} cannot be read as PEM certificates")
            return
        try:
            with httpx.Client(timeout=timeout, verify=verify) as client:
                response = client.get(url)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            outcome.problems.append(f"HTTP GET to {host}: {type(exc).__name__}: {exc}")
            return
        outcome.values["status"] = response.status_code
        if response.status_code >= _ERROR_STATUS:
            outcome.problems.append(f"HTTP GET to {host} answered {response.status_code}")
            return
        region = _region_of(response, intent.region_header, intent.region_field)
        if region is None:
            source = (
                f"header {intent.region_header!r}"
                if intent.region_header is not None
                else f"JSON field {intent.region_field!r}"
            )
            outcome.problems.append(f"HTTP GET to {host}: the response has no {source}")
            return
        outcome.values["region"] = region
        ctx.note("routing-region", host=host, region=region)
        expected = intent.expect.region
        if expected is None:
            return
        # ``expect.region`` is usually an alias (``primary``); the service names the real
        # region, which the target maps the alias to. Either spelling passes.
        accepted = {expected, self._real_region(expected)}
        if region not in accepted:
            shown = " or ".join(repr(name) for name in sorted(accepted))
            outcome.problems.append(f"region: expected {shown}, found {region!r} (from {host})")

    def _real_region(self, alias: str) -> str:
        target = getattr(self._provider, "target", None)
        return str(target.region(alias)) if target is not None else alias


def _host_of(url: str) -> str:
    """The summary names the host and port, never a query string or a password."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


def _region_of(response: httpx.Response, header: str | None, json_field: str | None) -> str | None:
    """The header wins when both are given and the header is present."""
    if header is not None and header in response.headers:
        return response.headers[header]
    if json_field is None:
        return None
    try:
        value: Any = response.json()
    except ValueError:
        return None
    for part in json_field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None or isinstance(value, (dict, list)) else str(value)
