"""The routing probe against a real DNS server and a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from drillkit.probes.registry import probe_for
from drillkit.providers.base import ProbeResult
from drillkit.spec.probes import RoutingProbe
from tests.support.dns_server import ZoneResolver, dns_server
from tests.support.probe_context import ProbeContext as Context

NAME = "app.drill.test"


@dataclass
class RegionState:
    region: str = "primary"
    header: str | None = "primary"


@pytest.fixture
def dns() -> Iterator[tuple[ZoneResolver, str]]:
    with dns_server() as (zone, address):
        zone.set(NAME, "A", "10.0.0.1", "10.0.0.2")
        yield zone, address


@pytest.fixture
def region_server() -> Iterator[tuple[RegionState, str]]:
    state = RegionState()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"region": state.region, "meta": {"region": state.region}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if state.header is not None:
                self.send_header("X-Region", state.header)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/where"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_nameserver() -> Iterator[str]:
    """A UDP socket that receives queries and never replies."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def probe(**fields: Any) -> RoutingProbe:
    return RoutingProbe.model_validate({"type": "routing", "name": NAME, **fields})


def measure(intent: RoutingProbe) -> ProbeResult:
    handler = probe_for("routing", provider=None)
    assert handler is not None
    return handler.measure(intent, Context())


def test_an_a_answer_matching_the_expected_records_passes(dns: tuple[ZoneResolver, str]) -> None:
    _, server = dns
    result = measure(probe(nameserver=server, expect={"records": ["10.0.0.2", "10.0.0.1"]}))
    assert result.ok, result.summary
    assert result.values["records"] == ["10.0.0.1", "10.0.0.2"]
    assert result.values["ttl"] == 60
    assert result.latency_ms is not None and result.latency_ms > 0


def test_a_record_change_mid_test_flips_the_probe_from_pass_to_fail_and_back(
    dns: tuple[ZoneResolver, str],
) -> None:
    zone, server = dns
    intent = probe(nameserver=server, expect={"records": ["10.0.0.1", "10.0.0.2"]})
    assert measure(intent).ok

    zone.set(NAME, "A", "10.9.9.9")
    failed = measure(intent)
    assert not failed.ok
    assert "expected records ['10.0.0.1', '10.0.0.2'], found ['10.9.9.9']" in failed.summary
    assert failed.values["records"] == ["10.9.9.9"]

    zone.set(NAME, "A", "10.0.0.2", "10.0.0.1")
    assert measure(intent).ok


def test_other_record_types_are_compared_by_meaning(dns: tuple[ZoneResolver, str]) -> None:
    zone, server = dns
    zone.set(NAME, "AAAA", "2001:db8:0:0::1")
    zone.set("www.drill.test", "CNAME", "App.Drill.Test.")
    zone.set("txt.drill.test", "TXT", "region=primary")
    assert measure(
        probe(record_type="AAAA", nameserver=server, expect={"records": ["2001:db8::1"]})
    ).ok
    assert measure(
        probe(
            name="www.drill.test",
            record_type="CNAME",
            nameserver=server,
            expect={"records": ["app.drill.test"]},
        )
    ).ok
    txt = measure(probe(name="txt.drill.test", record_type="TXT", nameserver=server))
    assert txt.ok and txt.values["records"] == ["region=primary"]


def test_nxdomain_fails_naming_the_name_type_and_server(dns: tuple[ZoneResolver, str]) -> None:
    _, server = dns
    result = measure(probe(name="missing.drill.test", nameserver=server))
    assert not result.ok
    assert f"DNS A missing.drill.test @ {server}: NXDOMAIN" in result.summary


def test_a_name_without_records_of_the_asked_type_fails_with_no_answer(
    dns: tuple[ZoneResolver, str],
) -> None:
    _, server = dns
    result = measure(probe(record_type="TXT", nameserver=server))
    assert not result.ok
    assert f"DNS TXT {NAME} @ {server}: no answer" in result.summary


def test_servfail_fails_without_raising(dns: tuple[ZoneResolver, str]) -> None:
    zone, server = dns
    zone.servfail = True
    result = measure(probe(nameserver=server))
    assert not result.ok
    assert f"DNS A {NAME} @ {server}: no server answered usefully" in result.summary


def test_a_nameserver_that_does_not_answer_fails_at_the_timeout(silent_nameserver: str) -> None:
    started = time.monotonic()
    result = measure(probe(nameserver=silent_nameserver, timeout="300ms"))
    elapsed = time.monotonic() - started
    assert not result.ok
    assert f"DNS A {NAME} @ {silent_nameserver}: timed out after 0.3s" in result.summary
    assert 0.25 < elapsed < 1.5


def test_the_region_is_read_from_a_json_field(
    dns: tuple[ZoneResolver, str], region_server: tuple[RegionState, str]
) -> None:
    _, server = dns
    state, url = region_server
    state.header = None
    intent = probe(
        nameserver=server, url=url, region_field="meta.region", expect={"region": "primary"}
    )
    result = measure(intent)
    assert result.ok, result.summary
    assert result.values["region"] == "primary"
    assert "served by region 'primary'" in result.summary


def test_the_region_is_read_from_a_header(
    dns: tuple[ZoneResolver, str], region_server: tuple[RegionState, str]
) -> None:
    _, server = dns
    state, url = region_server
    state.region = "ignored-by-the-header"
    state.header = "primary"
    intent = probe(
        nameserver=server, url=url, region_header="X-Region", expect={"region": "primary"}
    )
    result = measure(intent)
    assert result.ok, result.summary
    assert result.values["region"] == "primary"


def test_a_region_mismatch_fails_naming_expected_and_found(
    dns: tuple[ZoneResolver, str], region_server: tuple[RegionState, str]
) -> None:
    _, server = dns
    state, url = region_server
    intent = probe(nameserver=server, url=url, region_field="region", expect={"region": "primary"})
    assert measure(intent).ok

    state.region = "secondary"
    result = measure(intent)
    assert not result.ok
    assert "region: expected 'primary', found 'secondary'" in result.summary
    assert result.values["region"] == "secondary"


def test_an_unreachable_url_fails_naming_the_host(dns: tuple[ZoneResolver, str]) -> None:
    _, server = dns
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    intent = probe(nameserver=server, url=f"http://127.0.0.1:{port}/", region_header="X-Region")
    result = measure(intent)
    assert not result.ok
    assert f"HTTP GET to 127.0.0.1:{port}: ConnectError" in result.summary


def test_an_expected_region_without_a_url_fails_explaining_what_is_needed(
    dns: tuple[ZoneResolver, str],
) -> None:
    _, server = dns
    result = measure(probe(nameserver=server, expect={"region": "primary"}))
    assert not result.ok
    assert "expected region 'primary' but the probe has no `url`" in result.summary
    assert "give `url` plus `regionHeader` or `regionField`" in result.summary
