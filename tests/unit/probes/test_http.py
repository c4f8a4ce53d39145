"""The ``http`` probe against a real local server: every expectation, every network outcome."""

from __future__ import annotations

import asyncio
import datetime
import re
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from drillkit.probes.http import HttpProbeHandler
from drillkit.probes.registry import probe_for
from drillkit.providers.base import ProbeResult
from drillkit.spec.probes import HttpProbe
from tests.support.http_server import LocalHttpServer
from tests.support.probe_context import ProbeContext as Context

CTX = Context()


def probe(url: str, **fields: Any) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "url": url, **fields})


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as running:
        yield running


@pytest.fixture
def handler() -> Iterator[HttpProbeHandler]:
    made = HttpProbeHandler(provider=None)
    yield made
    made.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def https_server(ca: trustme.CA, **cert: Any) -> LocalHttpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", **cert).configure_cert(context)
    return LocalHttpServer(tls=context)


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


# --- registration and passing -----------------------------------------------------------------


def test_the_http_kind_is_a_generic_probe_found_through_the_registry() -> None:
    assert isinstance(probe_for("http", None), HttpProbeHandler)


def test_a_healthy_endpoint_passes_with_status_and_latency(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    result = handler.measure(probe(f"{server.url}/readyz"), CTX)

    assert result.ok, result.summary
    assert result.values["status"] == 200
    assert result.values["latencyMs"] == result.latency_ms
    assert result.latency_ms is not None and result.latency_ms < 1000
    assert "failed" not in result.values
    assert result.summary.startswith(f"GET {server.url}/readyz: 200 OK in ")


def test_samples_reuse_one_connection(server: LocalHttpServer, handler: HttpProbeHandler) -> None:
    for _ in range(5):
        assert handler.measure(probe(server.url), CTX).ok

    assert server.requests == 5
    assert server.connections_opened == 1


def test_sampler_threads_share_one_handler_safely(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    results: list[ProbeResult] = []

    def sample() -> None:
        for _ in range(5):
            results.append(handler.measure(probe(server.url), CTX))

    threads = [threading.Thread(target=sample) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 40 and all(r.ok for r in results)
    assert len(handler._clients) == 1


# --- status -------------------------------------------------------------------------------------


def test_an_unexpected_status_fails_naming_what_was_expected(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(status=503, body="starting")

    result = handler.measure(probe(f"{server.url}/readyz"), CTX)

    assert not result.ok
    assert result.summary == f"GET {server.url}/readyz: 503 Service Unavailable (expected 200)"
    assert result.values["status"] == 503
    assert result.values["failed"] == ["status"]


def test_any_listed_status_passes_and_the_list_is_named_when_none_matches(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    intent = probe(server.url, expect={"status": [200, 204]})
    server.set(status=204, body=b"")
    assert handler.measure(intent, CTX).ok

    server.set(status=404)
    assert "404 Not Found (expected 200 or 204)" in handler.measure(intent, CTX).summary


# --- body ---------------------------------------------------------------------------------------


def test_body_contains_passes_when_the_text_is_in_the_body(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body="status: ready, region: eu")

    assert handler.measure(probe(server.url, expect={"bodyContains": "ready"}), CTX).ok


def test_body_contains_fails_quoting_the_start_of_the_body(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body="status: starting")

    result = handler.measure(probe(server.url, expect={"bodyContains": "ready"}), CTX)

    assert not result.ok
    assert result.values["failed"] == ["bodyContains"]
    assert result.summary.endswith(
        ": body does not contain 'ready'; body starts 'status: starting'"
    )


SECRET_BODY = "password=hunter2-" + "S3CR3T" * 100 + "-TAIL-SECRET"


def test_a_long_secret_looking_body_is_quoted_only_up_to_120_characters(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(status=500, body=SECRET_BODY, headers={"Set-Cookie": "session=TOPSECRETCOOKIE"})
    intents = [
        probe(server.url),
        probe(server.url, expect={"bodyContains": "ready"}),
        probe(server.url, expect={"jsonFields": {"status": "ok"}}),
        probe(server.url, expect={"headers": {"set-cookie": "other"}}),
    ]

    for intent in intents:
        result = handler.measure(intent, CTX)
        shown = result.summary + repr(result.values)
        assert not result.ok
        assert SECRET_BODY[120:] not in shown
        assert "TAIL-SECRET" not in shown
        assert "TOPSECRETCOOKIE" not in shown
        assert SECRET_BODY[:121] not in shown
    # The body check may quote the first 120 characters, and no more.
    assert repr(SECRET_BODY[:120]) in handler.measure(intents[1], CTX).summary


# --- JSON fields --------------------------------------------------------------------------------


READY_JSON = '{"status": "ready", "checks": {"store": true, "queue": 3}, "zones": ["a", "b"]}'


def test_json_fields_pass_when_every_dotted_path_has_its_value(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body=READY_JSON, headers={"Content-Type": "application/json"})
    fields = {"status": "ready", "checks.store": True, "checks.queue": 3.0, "zones.1": "b"}

    assert handler.measure(probe(server.url, expect={"jsonFields": fields}), CTX).ok


def test_a_json_field_with_another_value_fails_quoting_only_that_field(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body='{"status": "starting", "token": "abc123secret"}')

    result = handler.measure(probe(server.url, expect={"jsonFields": {"status": "ready"}}), CTX)

    assert not result.ok
    assert result.summary.endswith(": field status is 'starting', expected 'ready'")
    assert result.values["failed"] == ["jsonFields"]
    assert result.values["field"] == "status"
    assert "abc123secret" not in result.summary + repr(result.values)


def test_true_is_not_one_in_a_json_field(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body='{"checks": {"store": 1}}')

    result = handler.measure(probe(server.url, expect={"jsonFields": {"checks.store": True}}), CTX)

    assert not result.ok
    assert result.summary.endswith(": field checks.store is 1, expected true")


def test_a_missing_json_path_fails_naming_the_path(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body=READY_JSON)

    result = handler.measure(probe(server.url, expect={"jsonFields": {"checks.db": True}}), CTX)

    assert not result.ok
    assert result.summary.endswith(": field checks.db missing")
    assert result.values["field"] == "checks.db"


def test_a_body_that_is_not_json_fails_the_json_check(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(body="<html>maintenance</html>")

    result = handler.measure(probe(server.url, expect={"jsonFields": {"status": "ready"}}), CTX)

    assert not result.ok
    assert result.summary.endswith(": body is not JSON; body starts '<html>maintenance</html>'")


# --- headers ------------------------------------------------------------------------------------


def test_expected_headers_match_with_case_insensitive_names(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(headers={"X-Served-By": "eu-west-1"})

    result = handler.measure(
        probe(server.url, expect={"headers": {"x-served-by": "eu-west-1"}}), CTX
    )

    assert result.ok, result.summary


def test_a_header_with_another_value_fails_without_showing_the_value_received(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(headers={"X-Served-By": "us-east-1"})

    result = handler.measure(
        probe(server.url, expect={"headers": {"X-Served-By": "eu-west-1"}}), CTX
    )

    assert not result.ok
    assert result.summary.endswith(": header X-Served-By is not 'eu-west-1'")
    assert "us-east-1" not in result.summary + repr(result.values)
    assert result.values["failed"] == ["headers"]


def test_a_missing_header_fails_naming_it(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    result = handler.measure(probe(server.url, expect={"headers": {"X-Region": "eu"}}), CTX)

    assert not result.ok
    assert result.summary.endswith(": header X-Region missing")


# --- latency and timeout -----------------------------------------------------------------------


def test_a_response_slower_than_max_latency_fails_with_both_durations(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(delay=0.25)

    result = handler.measure(probe(server.url, maxLatency="100ms"), CTX)

    assert not result.ok
    assert result.values["failed"] == ["maxLatency"]
    assert result.values["latencyMs"] >= 250
    assert re.fullmatch(
        rf"GET {server.url}: took \d+\.\d\ds, above maxLatency 0\.1s", result.summary
    )


def test_a_response_within_max_latency_passes(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    assert handler.measure(probe(server.url, maxLatency="1s"), CTX).ok


def test_a_server_that_does_not_answer_in_time_times_out(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(delay=1.0)

    started = time.monotonic()
    result = handler.measure(probe(f"{server.url}/slow", timeout="300ms"), CTX)

    assert time.monotonic() - started < 0.8
    assert not result.ok
    assert result.summary == f"GET {server.url}/slow: no response within 0.3s (timeout)"
    assert result.values["failed"] == ["timeout"]
    assert result.values["status"] is None


# --- network failures ---------------------------------------------------------------------------


def test_a_stopped_server_gives_connection_refused(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    assert handler.measure(probe(server.url), CTX).ok
    server.stop()

    result = handler.measure(probe(f"{server.url}/readyz"), CTX)

    assert not result.ok
    assert result.summary == f"GET {server.url}/readyz: connection refused"
    assert result.values["failed"] == ["connection"]


def test_an_invalid_url_fails_without_raising(handler: HttpProbeHandler) -> None:
    result = handler.measure(probe("http://127.0.0.1:notaport/"), CTX)

    assert not result.ok
    assert result.summary.startswith("GET http://127.0.0.1:notaport/: invalid URL (")
    assert result.values["failed"] == ["url"]


def test_an_unresolved_variable_url_fails_as_an_invalid_url(handler: HttpProbeHandler) -> None:
    result = handler.measure(probe("${orders_url}/healthz"), CTX)

    assert not result.ok
    assert "invalid URL" in result.summary


def test_credentials_and_query_strings_never_appear_in_the_summary(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    server.set(status=500)
    url = f"http://admin:pa55word@127.0.0.1:{server.port}/readyz?token=abc123"

    result = handler.measure(probe(url), CTX)

    assert result.summary.startswith(f"GET {server.url}/readyz?…: 500")
    assert "pa55word" not in result.summary and "abc123" not in result.summary


# --- TLS ----------------------------------------------------------------------------------------


def test_https_passes_when_the_ca_bundle_trusts_the_server(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler
) -> None:
    with https_server(ca) as server:
        result = handler.measure(probe(server.url, tls={"caBundle": str(ca_file)}), CTX)

    assert result.ok, result.summary


def test_https_without_the_ca_bundle_fails_saying_the_certificate_is_not_trusted(
    ca: trustme.CA, handler: HttpProbeHandler
) -> None:
    with https_server(ca) as server:
        result = handler.measure(probe(f"{server.url}/readyz"), CTX)

    assert not result.ok
    assert result.summary.startswith(
        f"GET {server.url}/readyz: TLS certificate is not trusted (unable to get local issuer"
    )
    assert "tls.caBundle" in result.summary
    assert result.values["failed"] == ["tls"]


def test_verify_false_accepts_an_untrusted_certificate(
    ca: trustme.CA, handler: HttpProbeHandler
) -> None:
    with https_server(ca) as server:
        assert handler.measure(probe(server.url, tls={"verify": False}), CTX).ok


def test_an_expired_certificate_is_reported_as_expired(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler
) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    expired = {"not_before": past, "not_after": past + datetime.timedelta(days=1)}
    with https_server(ca, **expired) as server:
        result = handler.measure(probe(server.url, tls={"caBundle": str(ca_file)}), CTX)

    assert result.summary == f"GET {server.url}: TLS certificate has expired"


def test_a_relative_ca_bundle_resolves_against_the_working_directory(
    ca: trustme.CA, ca_file: Path, handler: HttpProbeHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ca_file.parent)
    with https_server(ca) as server:
        assert handler.measure(probe(server.url, tls={"caBundle": "ca.pem"}), CTX).ok


def test_a_missing_ca_bundle_fails_the_probe_without_raising(
    handler: HttpProbeHandler, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.pem"

    result = handler.measure(probe("https://127.0.0.1:1/", tls={"caBundle": str(missing)}), CTX)

    assert not result.ok
    assert f"CA bundle {missing} cannot be read" in result.summary
    assert result.values["failed"] == ["caBundle"]


# --- async ----------------------------------------------------------------------------------------


def test_the_async_variant_gives_the_same_results(
    server: LocalHttpServer, handler: HttpProbeHandler, ca: trustme.CA
) -> None:
    def comparable(result: ProbeResult) -> tuple[bool, str, dict[str, Any]]:
        values = {k: v for k, v in result.values.items() if k != "latencyMs"}
        summary = result.summary.split(" in ")[0] if result.ok else result.summary
        return result.ok, summary, values

    async def both(intent: HttpProbe) -> None:
        sync = await asyncio.to_thread(handler.measure, intent, CTX)
        assert comparable(await handler.measure_async(intent, CTX)) == comparable(sync)

    async def scenario() -> None:
        server.set(body=READY_JSON)
        await both(probe(server.url, expect={"jsonFields": {"checks.store": True}}))
        await both(probe(server.url, expect={"jsonFields": {"status": "down"}}))
        server.set(status=503)
        await both(probe(f"{server.url}/readyz"))
        with https_server(ca) as secure:
            await both(probe(secure.url))
        server.stop()
        await both(probe(server.url))
        await handler.aclose()

    asyncio.run(scenario())


# --- ground truth -------------------------------------------------------------------------------


def test_sampling_every_50ms_sees_the_service_return_within_150ms_of_the_truth(
    server: LocalHttpServer, handler: HttpProbeHandler
) -> None:
    intent = probe(f"{server.url}/readyz", timeout="500ms")
    samples: list[tuple[float, bool]] = []
    done = threading.Event()

    def sampler() -> None:
        tick = time.monotonic()
        while not done.is_set():
            result = handler.measure(intent, CTX)
            samples.append((time.monotonic(), result.ok))
            tick += 0.05
            time.sleep(max(0.0, tick - time.monotonic()))

    thread = threading.Thread(target=sampler)
    thread.start()
    time.sleep(0.3)
    went_down = time.monotonic()
    server.stop()
    time.sleep(1.0)
    server.start()
    came_back = time.monotonic()
    time.sleep(0.4)
    done.set()
    thread.join()

    before = [ok for at, ok in samples if at < went_down]
    during = [ok for at, ok in samples if went_down + 0.05 < at < came_back]
    first_pass = next(at for at, ok in samples if at >= came_back and ok)
    assert before and all(before)
    assert len(during) >= 10 and not any(during)
    assert first_pass - came_back <= 0.05 + 0.1
