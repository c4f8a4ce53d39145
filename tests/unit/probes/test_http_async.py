"""The ``http`` probe's event-loop path (aiohttp) judges every case as its threaded one (httpx).

The sampler group measures through ``measure_async`` and the baseline through
``measure``: if they disagreed, a run could pass its baseline and then see a
failing service that is not failing. Every case is measured both ways against
the same real server and must give the same verdict, ``failed`` names and
summary (up to timings, and up to the library's own words in parentheses
where only the library can say what broke).
"""

from __future__ import annotations

import asyncio
import datetime
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from drillkit.probes.http import HttpProbeHandler
from drillkit.providers.base import ProbeResult
from drillkit.spec.probes import HttpProbe
from tests.support.http_server import LocalHttpServer
from tests.support.probe_context import ProbeContext

CTX = ProbeContext()
READY_JSON = '{"status": "ready", "checks": {"store": true}}'


def probe(url: str, **fields: Any) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "url": url, **fields})


def comparable(result: ProbeResult, *, library_words: bool) -> tuple[bool, str, dict[str, Any]]:
    values = {k: v for k, v in result.values.items() if k != "latencyMs"}
    summary = re.sub(r"\d+\.\d+s\b", "<t>s", result.summary)  # durations: 0.25s
    if library_words:
        summary = summary.split(" (", 1)[0]
    return result.ok, summary, values


def both(
    handler: HttpProbeHandler, intent: HttpProbe, *, library_words: bool = False
) -> ProbeResult:
    """Measure ``intent`` threaded and on a loop; assert they agree; return the loop's result."""

    async def measure() -> tuple[ProbeResult, ProbeResult]:
        threaded = await asyncio.to_thread(handler.measure, intent, CTX)
        try:
            return threaded, await handler.measure_async(intent, CTX)
        finally:
            await handler.aclose()

    threaded, on_loop = asyncio.run(measure())
    assert comparable(on_loop, library_words=library_words) == comparable(
        threaded, library_words=library_words
    ), (threaded.summary, on_loop.summary)
    return on_loop


@pytest.fixture
def handler() -> Iterator[HttpProbeHandler]:
    made = HttpProbeHandler(provider=None)
    yield made
    made.close()


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as running:
        yield running


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def https_server(ca: trustme.CA, *names: str, **cert: Any) -> LocalHttpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost")), **cert).configure_cert(context)
    return LocalHttpServer(tls=context)


class Recorder(ThreadingHTTPServer):
    """Records what each request carried; answers ``answer`` raw, or closes at once."""

    daemon_threads = True

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", 0), _Recording)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Recording(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append((self.command, self.path, headers, body))
        if self.server.answer is None:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(self.server.answer)

    def do_GET(self) -> None:
        self._record()

    def do_POST(self) -> None:
        self._record()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


# --- answers ------------------------------------------------------------------------------------


def test_a_healthy_endpoint_passes_both_ways(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    result = both(handler, probe(f"{server.url}/healthz"))
    assert result.ok and result.summary.startswith(f"GET {server.url}/healthz: 200 OK in ")


@pytest.mark.parametrize(
    ("status", "body", "expect"),
    [
        (503, "starting", {}),
        (204, "", {"status": [200, 204]}),
        (404, "", {"status": [200, 204]}),
        (200, "status: ready, region: eu", {"bodyContains": "region: eu"}),
        (200, "status: starting", {"bodyContains": "ready"}),
        (200, READY_JSON, {"jsonFields": {"checks.store": True}}),
        (200, READY_JSON, {"jsonFields": {"status": "down"}}),
        (200, '{"checks": {"store": 1}}', {"jsonFields": {"checks.store": True}}),
        (200, "<html>maintenance</html>", {"jsonFields": {"status": "ready"}}),
    ],
)
def test_status_body_and_json_checks_judge_alike(
    server: LocalHttpServer,
    handler: HttpProbeHandler,
    status: int,
    body: str,
    expect: dict[str, Any],
) -> None:
    server.set(status=status, body=body)
    both(handler, probe(server.url, expect=expect))


def test_header_checks_judge_alike(server: LocalHttpServer, handler: HttpProbeHandler) -> None:
    server.set(headers={"X-Served-By": "eu-west-1"})
    assert both(handler, probe(server.url, expect={"headers": {"x-served-by": "eu-west-1"}})).ok
    both(handler, probe(server.url, expect={"headers": {"X-Served-By": "us-east-1"}}))
    both(handler, probe(server.url, expect={"headers": {"X-Region": "eu"}}))


def test_a_repeated_header_is_judged_joined_as_httpx_joins_it(handler: HttpProbeHandler) -> None:
    answer = b"HTTP/1.1 200 OK\r\nX-Tag: a\r\nX-Tag: b\r\nContent-Length: 0\r\n\r\n"
    with Recorder(answer) as recorder:
        assert both(handler, probe(recorder.url, expect={"headers": {"X-Tag": "a, b"}})).ok


def test_an_empty_header_is_present_not_missing(handler: HttpProbeHandler) -> None:
    answer = b"HTTP/1.1 200 OK\r\nX-Region:\r\nContent-Length: 0\r\n\r\n"
    with Recorder(answer) as recorder:
        result = both(handler, probe(recorder.url, expect={"headers": {"X-Region": "eu"}}))
    assert result.summary.endswith("header X-Region is not 'eu'")


def test_a_redirect_is_an_answer_to_judge_not_to_follow(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(status=302, headers={"Location": "/elsewhere"})
    result = both(handler, probe(server.url))
    assert result.summary == f"GET {server.url}: 302 Found (expected 200)"


def test_a_declared_charset_decodes_the_body_alike(handler: HttpProbeHandler) -> None:
    body = "état: prêt".encode("latin-1")
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with Recorder(answer) as recorder:
        assert both(handler, probe(recorder.url, expect={"bodyContains": "prêt"})).ok


def test_max_latency_judges_alike(server: LocalHttpServer, handler: HttpProbeHandler) -> None:
    server.set(delay=0.25)
    result = both(handler, probe(server.url, maxLatency="100ms"))
    assert "above maxLatency 0.1s" in result.summary


# --- what is sent -------------------------------------------------------------------------------


def test_both_ways_send_the_same_request(handler: HttpProbeHandler) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with Recorder(answer) as recorder:
        url = f"{recorder.url}/orders?dry=1"
        both(handler, probe(url, method="POST", body='{"order": 1}', headers={"X-Drill": "yes"}))
        (m1, path1, h1, body1), (m2, path2, h2, body2) = recorder.seen

    assert (m1, path1, body1) == (m2, path2, body2) == ("POST", "/orders?dry=1", b'{"order": 1}')
    assert h1["x-drill"] == h2["x-drill"] == "yes"
    assert "content-type" not in h1 and "content-type" not in h2


# --- failures before an answer ------------------------------------------------------------------


def test_a_timeout_is_reported_alike(server: LocalHttpServer, handler: HttpProbeHandler) -> None:
    server.set(delay=1.0)
    result = both(handler, probe(server.url, timeout="200ms"))
    assert result.summary == f"GET {server.url}: no response within 0.2s (timeout)"
    assert result.values["failed"] == ["timeout"]


def test_a_refused_connection_is_reported_alike(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.stop()
    assert both(handler, probe(server.url)).summary == f"GET {server.url}: connection refused"


def test_a_server_that_hangs_up_is_reported_alike(handler: HttpProbeHandler) -> None:
    with Recorder(answer=None) as recorder:
        result = both(handler, probe(recorder.url), library_words=True)
    assert result.summary.startswith(f"GET {recorder.url}: server broke the HTTP exchange (")


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport/", "${orders_url}/healthz"])
def test_an_invalid_url_is_reported_alike(handler: HttpProbeHandler, url: str) -> None:
    result = both(handler, probe(url), library_words=True)
    assert result.values["failed"] == ["url"]
    assert "invalid URL (" in result.summary


def test_credentials_and_query_strings_stay_out_of_both_summaries(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(status=500)
    url = f"http://admin:pa55word@127.0.0.1:{server.port}/readyz?token=abc123"
    result = both(handler, probe(url))
    assert "pa55word" not in result.summary and "abc123" not in result.summary


# --- TLS ----------------------------------------------------------------------------------------


def test_a_trusted_ca_bundle_passes_alike(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler
) -> None:
    with https_server(ca) as server:
        assert both(handler, probe(server.url, tls={"caBundle": str(ca_file)})).ok


def test_an_untrusted_certificate_fails_alike(ca: trustme.CA, handler: HttpProbeHandler) -> None:
    with https_server(ca) as server:
        result = both(handler, probe(server.url))
    assert "TLS certificate is not trusted (unable to get local issuer" in result.summary


def test_verify_false_accepts_an_untrusted_certificate_alike(
    ca: trustme.CA, handler: HttpProbeHandler
) -> None:
    with https_server(ca) as server:
        assert both(handler, probe(server.url, tls={"verify": False})).ok


def test_an_expired_certificate_fails_alike(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler
) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    expired = {"not_before": past, "not_after": past + datetime.timedelta(days=1)}
    with https_server(ca, **expired) as server:
        result = both(handler, probe(server.url, tls={"caBundle": str(ca_file)}))
    assert result.summary == f"GET {server.url}: TLS certificate has expired"


def test_a_certificate_for_another_name_fails_alike(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler
) -> None:
    with https_server(ca, "orders.example") as server:
        result = both(handler, probe(server.url, tls={"caBundle": str(ca_file)}))
    # OpenSSL names an IP address mismatch apart from a host name mismatch.
    assert "TLS certificate rejected (IP address mismatch" in result.summary


def test_a_missing_ca_bundle_fails_alike(handler: HttpProbeHandler, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    result = both(handler, probe("https://127.0.0.1:1/", tls={"caBundle": str(missing)}))
    assert result.values["failed"] == ["caBundle"]


# --- clients ------------------------------------------------------------------------------------


def test_samples_on_one_loop_reuse_one_connection(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    async def three() -> None:
        for _ in range(3):
            assert (await handler.measure_async(probe(server.url), CTX)).ok
        await handler.aclose()

    asyncio.run(three())
    assert server.connections_opened == 1


def test_aclose_closes_only_the_running_loops_connections(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    async def sample_and_close() -> None:
        assert (await handler.measure_async(probe(server.url), CTX)).ok
        await handler.aclose()

    asyncio.run(sample_and_close())
    asyncio.run(sample_and_close())  # a new loop gets a new session, not the closed one
    assert server.connections_opened == 2
