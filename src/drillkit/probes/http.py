"""The generic ``http`` probe: call an endpoint and judge status, body, JSON, headers and latency.

Samplers call a probe every 50-250 ms while a service recovers, so the
handler keeps its clients for connection reuse. ``measure`` (the baseline,
probe steps, thread samplers) keeps one ``httpx.Client`` per TLS setting
(``verify``, ``ca_bundle``), created under a lock so threads can share it.
``measure_async`` serves the sampler group, which runs the RTO and
stop-condition samplers, or many endpoints, on one event loop; it keeps one
``aiohttp`` session per loop and TLS setting, with the SSL context httpx would
build. httpx's AsyncClient was the first choice, but it costs 3.5 to 6 times
aiohttp's CPU per request and cannot sustain a few hundred samples a second on
one core (``docs/performance.md``, sampler capacity). aiohttp is imported on
first async use only. Both paths feed one evaluation through ``_Answer`` and
the same words for each failure, so they cannot disagree. Every network
outcome (refused, timeout, TLS rejection, bad URL) is a failed ``ProbeResult``,
never an exception. Response bodies may carry secrets: only a failed body or
JSON check quotes the body, at most 120 characters of it (JSON checks quote
only the compared field), and header values are never quoted. A relative
``tls.caBundle`` path resolves against the current working directory (the
drill repository root when ``drill`` runs there). ``timeout`` bounds each
phase of the call (connect, send, each read), and the step's remaining time
caps it.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json
import logging
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from drillkit import __version__
from drillkit.probes.client_tls import ClientKey, UnreadableCaBundle, client_key, httpx_verify
from drillkit.probes.http_wire import NotForWire, ServerBrokeExchange, WirePool
from drillkit.probes.redaction import causes, excerpt, safe_url, short
from drillkit.probes.registry import generic_probe
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.spec.probes import HttpProbe

if TYPE_CHECKING:
    import aiohttp
    import yarl

logger = logging.getLogger(__name__)

# OpenSSL verify codes worth naming in plain words.
_TLS_EXPIRED = 10
_TLS_NOT_YET_VALID = 9
_TLS_HOSTNAME_MISMATCH = 62
_TLS_UNTRUSTED = {18, 19, 20, 21}


@generic_probe("http")
class HttpProbeHandler:
    """Measures one ``HttpProbe``; safe to share between sampler threads."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._clients: dict[ClientKey, httpx.Client] = {}
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[ClientKey, aiohttp.ClientSession]
        ] = weakref.WeakKeyDictionary()
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[ClientKey, WirePool]
        ] = weakref.WeakKeyDictionary()

    def measure(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        try:
            client = self._client(intent)
        except UnreadableCaBundle as exc:
            return _ca_failure(intent, exc)
        started = time.perf_counter()
        try:
            response = client.request(
                intent.method,
                intent.url,
                headers=intent.headers,
                content=intent.body,
                timeout=_timeout(intent, ctx),
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            elapsed = time.perf_counter() - started
            return _network_failure(intent, ctx, _describe(intent, exc), elapsed)
        answer = _Answer(
            response.status_code,
            response.reason_phrase,
            response.headers.get,
            lambda: response.text,
        )
        return _evaluate(intent, answer, time.perf_counter() - started)

    async def measure_async(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        url = str(intent.url)
        try:
            proxied = _environment_proxy(url)[0] is not None
        except ValueError:  # a URL yarl refuses: the lean client reports it below
            proxied = False
        if not proxied:
            try:
                return await self._measure_on_wire(intent, url, ctx)
            except NotForWire:
                pass  # credentials in the URL, another scheme: the full client below
        return await self._measure_with_aiohttp(intent, ctx)

    async def _measure_on_wire(self, intent: HttpProbe, url: str, ctx: StepContext) -> ProbeResult:
        """The sampler's usual case: a plain request on a kept-alive socket (``http_wire``)."""
        try:
            pool = self._wire_pool(intent)
        except UnreadableCaBundle as exc:
            return _ca_failure(intent, exc)
        body = None if intent.body is None else intent.body.encode()
        seconds = _timeout(intent, ctx)
        started = time.perf_counter()
        try:
            response = await pool.request(intent.method, url, intent.headers, body, seconds)
        except NotForWire:
            raise
        except (OSError, TimeoutError, ValueError, ServerBrokeExchange) as exc:
            elapsed = time.perf_counter() - started
            return _network_failure(intent, ctx, _describe_wire(intent, exc), elapsed)
        answer = _Answer(
            response.status,
            response.reason,
            lambda name: _joined(response.header_values(name)),
            lambda: _decode(response.body, response.charset),
        )
        return _evaluate(intent, answer, time.perf_counter() - started)

    async def _measure_with_aiohttp(self, intent: HttpProbe, ctx: StepContext) -> ProbeResult:
        import aiohttp

        try:
            session = self._session(intent)
        except UnreadableCaBundle as exc:
            return _ca_failure(intent, exc)
        url = str(intent.url)
        seconds = _timeout(intent, ctx)
        started = time.perf_counter()
        try:
            proxy, proxy_auth = _environment_proxy(url)
            async with session.request(
                intent.method,
                url,
                proxy=proxy,
                proxy_auth=proxy_auth,
                headers=intent.headers,
                data=None if intent.body is None else intent.body.encode(),
                skip_auto_headers=_NO_AUTO_CONTENT_TYPE,  # httpx sends none for a raw body
                allow_redirects=False,  # as httpx: a redirect is an answer to judge
                timeout=aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds),
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            elapsed = time.perf_counter() - started
            return _network_failure(intent, ctx, _describe_on_loop(intent, exc), elapsed)
        headers = response.headers
        answer = _Answer(
            response.status,
            response.reason or "",
            lambda name: _joined(headers.getall(name, None)),
            lambda: _decode(body, response.charset),
        )
        return _evaluate(intent, answer, time.perf_counter() - started)

    def close(self) -> None:
        """Close the pooled synchronous connections (async clients: ``aclose``)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        """Close the pooled connections of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            sessions = self._sessions.pop(loop, {})
            pools = self._pools.pop(loop, {})
        for session in sessions.values():
            await session.close()
        for pool in pools.values():
            await pool.close()

    def _wire_pool(self, intent: HttpProbe) -> WirePool:
        key = client_key(intent.tls)
        loop = asyncio.get_running_loop()
        with self._lock:
            pools = self._pools.setdefault(loop, {})
            pool = pools.get(key)
            if pool is None:
                # The very SSL context httpx builds for this setting, as for aiohttp below.
                context = httpx.create_ssl_context(verify=httpx_verify(key))
                pool = WirePool(lambda: context, user_agent=f"drillkit/{__version__}")
                pools[key] = pool
            return pool

    def _client(self, intent: HttpProbe) -> httpx.Client:
        key = client_key(intent.tls)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = httpx.Client(verify=httpx_verify(key))
                self._clients[key] = client
            return client

    def _session(self, intent: HttpProbe) -> aiohttp.ClientSession:
        import aiohttp

        key = client_key(intent.tls)
        loop = asyncio.get_running_loop()
        with self._lock:
            sessions = self._sessions.setdefault(loop, {})
            session = sessions.get(key)
            if session is None:
                # The very SSL context httpx builds for this setting (certifi or
                # SSL_CERT_FILE, a CA bundle, or no verification): one trust, both paths.
                context = httpx.create_ssl_context(verify=httpx_verify(key))
                session = aiohttp.ClientSession(
                    # No pool limit: a sampler group has at most one request per sampler.
                    connector=aiohttp.TCPConnector(ssl=context, limit=0),
                    cookie_jar=aiohttp.CookieJar(unsafe=True),  # keeps cookies as httpx does
                    # Not trust_env: it looks proxies up in a worker thread on every
                    # request, which cost more than the request; see _environment_proxy.
                    trust_env=False,
                )
                sessions[key] = session
            return session


def _timeout(intent: HttpProbe, ctx: StepContext) -> float:
    seconds = intent.timeout.total_seconds()
    remaining = ctx.remaining()
    return min(seconds, remaining) if remaining > 0 else seconds


@functools.lru_cache(maxsize=4096)
def _environment_proxy(url: str) -> tuple[yarl.URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment (``HTTPS_PROXY``, ``NO_PROXY``...) names for ``url``.

    Read once per URL, as httpx reads it once per client: what aiohttp's
    ``trust_env`` would find, without its per-request thread hop.
    """
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy for this URL
        return None, None


# --- Evaluation, shared by the sync and async paths -------------------------------------------

_NO_AUTO_CONTENT_TYPE = frozenset({"Content-Type"})


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the evaluation reads of a response, whichever client received it."""

    status: int
    reason: str
    header: Callable[[str], str | None]
    """A header's value by case-insensitive name; repeated headers joined with ", "."""
    text: Callable[[], str]
    """The body decoded as httpx does: the declared charset, else UTF-8, errors replaced."""


def _joined(values: list[str] | None) -> str | None:
    """A header's values as httpx gives them: joined with ", "; None when absent."""
    return None if values is None else ", ".join(values)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        encoding = codecs.lookup(charset).name if charset else "utf-8"
    except LookupError:
        encoding = "utf-8"
    return body.decode(encoding, errors="replace")


def _evaluate(intent: HttpProbe, response: _Answer, elapsed: float) -> ProbeResult:
    expect = intent.expect
    problems: list[str] = []
    failed: list[str] = []
    values: dict[str, Any] = {"status": response.status, "latencyMs": _ms(elapsed)}
    status = f"{response.status} {response.reason}".rstrip()

    if response.status not in expect.status:
        wanted = " or ".join(str(code) for code in expect.status)
        problems.append(f"{status} (expected {wanted})")
        failed.append("status")
    text = response.text() if (expect.body_contains is not None or expect.json_fields) else ""
    if expect.body_contains is not None and expect.body_contains not in text:
        problems.append(
            f"body does not contain {_quote(expect.body_contains)}; body starts {excerpt(text)}"
        )
        failed.append("bodyContains")
    if expect.json_fields:
        problem, field = _check_json(text, expect.json_fields)
        if problem is not None:
            problems.append(problem)
            failed.append("jsonFields")
            if field is not None:
                values["field"] = field
    for name, value in expect.headers.items():
        actual = response.header(name)
        if actual is None:
            problems.append(f"header {name} missing")
            failed.append("headers")
        elif actual != value:
            problems.append(f"header {name} is not {_quote(value)}")
            failed.append("headers")
    if intent.max_latency is not None and elapsed > intent.max_latency.total_seconds():
        problems.append(f"took {elapsed:.2f}s, above maxLatency {_duration(intent.max_latency)}")
        failed.append("maxLatency")

    where = _where(intent)
    if failed:
        values["failed"] = list(dict.fromkeys(failed))
        return ProbeResult(False, f"{where}: " + "; ".join(problems), values, values["latencyMs"])
    return ProbeResult(True, f"{where}: {status} in {elapsed:.2f}s", values, values["latencyMs"])


def _check_json(text: str, fields: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first failing field as (problem, dotted path); (None, None) when all match."""
    try:
        document = json.loads(text)
    except ValueError:
        return f"body is not JSON; body starts {excerpt(text)}", None
    for path, expected in fields.items():
        found, actual = _lookup(document, path)
        if not found:
            return f"field {path} missing", path
        if not _same(actual, expected):
            return f"field {path} is {_shown(actual)}, expected {_shown(expected)}", path
    return None, None


def _lookup(document: Any, path: str) -> tuple[bool, Any]:
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)


# --- Failures before a response ---------------------------------------------------------------


def _network_failure(
    intent: HttpProbe, ctx: StepContext, described: tuple[str, str], elapsed: float
) -> ProbeResult:
    reason, failed = described
    logger.debug("http probe failed: %s", failed, extra={"run_id": ctx.run_id, "step": ctx.step})
    values: dict[str, Any] = {"status": None, "latencyMs": _ms(elapsed), "failed": [failed]}
    summary = f"{_where(intent)}: {reason}"
    return ProbeResult(False, summary, values, values["latencyMs"])


def _describe(intent: HttpProbe, exc: Exception) -> tuple[str, str]:
    """A plain-words reason and the ``failed`` name for an httpx error before a response."""
    if isinstance(exc, httpx.TimeoutException):
        return _timed_out(intent)
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return f"invalid URL ({short(str(exc))})", "url"
    found = _root_cause(exc)
    if found is not None:
        return found
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({short(str(exc))})", "connection"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the HTTP exchange ({short(str(exc))})", "connection"
    return f"request failed ({type(exc).__name__}: {short(str(exc))})", "connection"


def _describe_on_loop(intent: HttpProbe, exc: Exception) -> tuple[str, str]:
    """The same, for an aiohttp error: the same words for the same cause."""
    import aiohttp

    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return _timed_out(intent)
    if isinstance(exc, aiohttp.InvalidURL) or (
        isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError)
    ):  # yarl refuses a malformed URL with a bare ValueError
        return f"invalid URL ({short(str(exc))})", "url"
    found = _root_cause(exc, skip=aiohttp.ClientError)  # its wrappers subclass ssl errors
    if found is not None:
        return found
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({short(str(exc.os_error))})", "connection"
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        return f"server broke the HTTP exchange ({short(str(exc))})", "connection"
    return f"request failed ({type(exc).__name__}: {short(str(exc))})", "connection"


def _describe_wire(intent: HttpProbe, exc: Exception) -> tuple[str, str]:
    """The same words again, for the lean client's errors (``http_wire``)."""
    if isinstance(exc, TimeoutError):
        return _timed_out(intent)
    found = _root_cause(exc)  # before ValueError: certificate errors are ValueErrors too
    if found is not None:
        return found
    if isinstance(exc, ServerBrokeExchange):
        return f"server broke the HTTP exchange ({short(str(exc))})", "connection"
    if isinstance(exc, ValueError):
        return f"invalid URL ({short(str(exc))})", "url"
    if isinstance(exc, OSError):
        return f"cannot connect ({short(str(exc))})", "connection"
    return f"request failed ({type(exc).__name__}: {short(str(exc))})", "connection"


def _timed_out(intent: HttpProbe) -> tuple[str, str]:
    return f"no response within {_duration(intent.timeout)} (timeout)", "timeout"


def _root_cause(
    exc: BaseException, skip: type[BaseException] | tuple[type[BaseException], ...] = ()
) -> tuple[str, str] | None:
    """The reason named by the first telling cause in ``exc``'s chain (TLS, refused, DNS)."""
    for cause in causes(exc):
        if isinstance(cause, skip):
            continue
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _tls_reason(cause), "tls"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({short(cause.reason or str(cause))})", "tls"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", "connection"
        if isinstance(cause, ConnectionResetError):
            return "connection reset", "connection"
        if isinstance(cause, socket.gaierror):
            return "host name does not resolve", "connection"
    return None


def _tls_reason(error: ssl.SSLCertVerificationError) -> str:
    code = error.verify_code
    detail = short(error.verify_message or str(error))
    if code == _TLS_EXPIRED:
        return "TLS certificate has expired"
    if code == _TLS_NOT_YET_VALID:
        return "TLS certificate is not yet valid"
    if code == _TLS_HOSTNAME_MISMATCH:
        return f"TLS certificate is for another name ({detail})"
    if code in _TLS_UNTRUSTED:
        return (
            f"TLS certificate is not trusted ({detail}); "
            "give its CA in tls.caBundle, or tls.verify: false for a test endpoint"
        )
    return f"TLS certificate rejected ({detail})"


def _ca_failure(intent: HttpProbe, exc: UnreadableCaBundle) -> ProbeResult:
    summary = (
        f"{_where(intent)}: CA bundle {exc.args[0]} "
        "cannot be read as PEM certificates (relative paths start at the working directory)"
    )
    return ProbeResult(False, summary, {"status": None, "latencyMs": None, "failed": ["caBundle"]})


# --- Formatting -------------------------------------------------------------------------------


def _where(intent: HttpProbe) -> str:
    """How a result names the call: the method and the URL without secrets."""
    return _shown_call(intent.method, str(intent.url))


@functools.lru_cache(maxsize=4096)
def _shown_call(method: str, url: str) -> str:
    # Redacting parses the URL: hundreds of microseconds, paid once per URL, not per sample.
    return f"{method} {safe_url(url)}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    return f"{seconds:g}s"


def _quote(text: str) -> str:
    return repr(short(text))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return short(text)
