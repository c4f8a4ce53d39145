"""The generic RPO canary, HTTP channel: sequenced records written through the service's own API.

This is the contract a service implements to be canaried (the ``http`` block
of an ``rpo-canary`` probe names its URLs; ``deleteUrl`` defaults to
``readUrl``). Every record is tagged with the drill's run id, so several runs,
and real traffic, can share the endpoints.

**Write** - ``POST writeUrl`` with a JSON body::

    {"canary": true, "runId": "<run id>", "seq": 7, "writtenAt": "2025-01-02T03:04:05.678Z"}

``seq`` counts from 1 within a run; ``writtenAt`` is RFC 3339 UTC. Any 2xx
status means the record is durable as far as the service is concerned (it is
*acknowledged*: RPO counts it). 5xx, 429, timeouts and connection failures
raise ``TransientError``; any other status (4xx, an unfollowed 3xx) raises
``PermanentError``.

**Read** - ``GET readUrl?runId=<run id>&canary=true`` (added to any query the
URL already has). The answer is JSON: either a list of records or an object
whose ``items`` is that list. Each record is an object with at least ``seq``
(an integer) and ``runId``; only records whose ``runId`` equals this run's
count, so a service may ignore the filter and return everything. When the
object also has ``next`` (a URL, absolute or relative to the page's, on the
same scheme, host and port), that page is fetched as-is, up to 1,000 pages;
``next`` absent, ``null`` or empty ends the listing.

**Cleanup** - ``DELETE deleteUrl?runId=<run id>`` removes this run's canary
records (and only those). 2xx, or 404 (nothing left to remove), is success;
any other status raises ``PermanentError``.

Each call is bounded by 5 s, or by the step's remaining time when that is
shorter. TLS verification follows ``http.tls`` (``verify``; ``caBundle``,
a relative path resolving against the working directory). Errors quote at
most 120 characters of a response body; URLs are shown without credentials
or query strings. The handler keeps one ``httpx.Client`` per TLS setting
(in practice one), created on first use under a lock, because the canary
writer thread and the engine's read-back share it. The ``rpo-canary`` handler
(``drillkit.probes.canary``) hands ``http`` canaries to this channel and
``database`` canaries to ``canary_database``.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from drillkit.errors import PermanentError, TransientError
from drillkit.probes.client_tls import ClientKey, UnreadableCaBundle, client_key, httpx_verify
from drillkit.probes.redaction import causes, excerpt, safe_url, short
from drillkit.providers.base import StepContext
from drillkit.spec.probes import HttpCanaryTarget, RpoCanaryProbe

_TIMEOUT_SECONDS = 5.0
_MAX_PAGES = 1000


class HttpCanaryChannel:
    """Writes, reads back and removes canary records over HTTP; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[ClientKey, httpx.Client] = {}

    def write(self, intent: RpoCanaryProbe, run_id: str, seq: int, ctx: StepContext) -> None:
        target = _http(intent)
        record = {"canary": True, "runId": run_id, "seq": seq, "writtenAt": _now()}
        url = str(target.write_url)
        response = self._call(target, "POST", url, ctx, json=record)
        if not response.is_success:
            raise _status_error("canary write", "POST", url, response)

    def read(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> list[int]:
        target = _http(intent)
        url = httpx.URL(str(target.read_url)).copy_merge_params({"runId": run_id, "canary": "true"})
        seqs: list[int] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            seen.add(str(url))
            response = self._call(target, "GET", str(url), ctx)
            if not response.is_success:
                raise _status_error("canary read", "GET", str(url), response)
            items, following = _page(response, str(url))
            seqs.extend(_seqs(items, run_id))
            if following is None:
                return seqs
            url = _next_url(url, following)
            if str(url) in seen:
                raise PermanentError(
                    f"canary read GET {safe_url(str(url))}: `next` points back to a page "
                    "already read; the listing loops"
                )
        raise PermanentError(
            f"canary read GET {safe_url(str(target.read_url))}: more than {_MAX_PAGES} pages",
            fix="make the service filter by `runId`, or return larger pages",
        )

    def cleanup(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> None:
        target = _http(intent)
        base = target.delete_url if target.delete_url is not None else target.read_url
        url = str(httpx.URL(str(base)).copy_merge_params({"runId": run_id}))
        response = self._call(target, "DELETE", url, ctx)
        if not (response.is_success or response.status_code == httpx.codes.NOT_FOUND):
            error = _status_error("canary cleanup", "DELETE", url, response)
            raise PermanentError(error.message, fix=error.fix)

    def close(self) -> None:
        """Close the pooled connections."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    # --- One call -----------------------------------------------------------------------------

    def _call(
        self, target: HttpCanaryTarget, method: str, url: str, ctx: StepContext, **kwargs: Any
    ) -> httpx.Response:
        client = self._client(target)
        try:
            return client.request(method, url, timeout=_timeout(ctx), **kwargs)
        except httpx.TimeoutException:
            raise TransientError(
                f"{method} {safe_url(url)}: no response within {_timeout(ctx):g}s (timeout)"
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentError(f"{method} {safe_url(url)}: invalid URL ({short(exc)})") from None
        except httpx.TransportError as exc:
            for cause in causes(exc):
                if isinstance(cause, ssl.SSLCertVerificationError):
                    raise PermanentError(
                        f"{method} {safe_url(url)}: TLS certificate rejected "
                        f"({short(cause.verify_message or cause)})",
                        fix="give the service's CA in http.tls.caBundle",
                    ) from None
            raise TransientError(
                f"{method} {safe_url(url)}: cannot reach the service ({short(exc)})"
            ) from None

    def _client(self, target: HttpCanaryTarget) -> httpx.Client:
        key = client_key(target.tls)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = httpx.Client(verify=_checked_verify(key), follow_redirects=False)
                self._clients[key] = client
            return client


def _http(intent: RpoCanaryProbe) -> HttpCanaryTarget:
    if intent.http is None:
        raise PermanentError("this rpo-canary has no `http` block")
    return intent.http


def _checked_verify(key: ClientKey) -> ssl.SSLContext | bool:
    try:
        return httpx_verify(key)
    except UnreadableCaBundle as exc:
        raise PermanentError(
            f"CA bundle {exc.args[0]} cannot be read as PEM certificates",
            fix="fix http.tls.caBundle (a relative path starts at the working directory)",
        ) from None


def _timeout(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return min(_TIMEOUT_SECONDS, remaining) if remaining > 0 else _TIMEOUT_SECONDS


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Responses --------------------------------------------------------------------------------


def _status_error(
    what: str, method: str, url: str, response: httpx.Response
) -> TransientError | PermanentError:
    status = f"{response.status_code} {response.reason_phrase}".rstrip()
    message = f"{what} {method} {safe_url(url)}: {status}; body starts {excerpt(response.text)}"
    code = response.status_code
    if code >= httpx.codes.INTERNAL_SERVER_ERROR or code == httpx.codes.TOO_MANY_REQUESTS:
        return TransientError(message)
    return PermanentError(message, fix="check the canary URLs and that the service accepts them")


def _page(response: httpx.Response, url: str) -> tuple[list[Any], str | None]:
    """The records of one page and the ``next`` link, if any."""
    where = f"canary read GET {safe_url(url)}"
    try:
        document = json.loads(response.text)
    except ValueError:
        raise PermanentError(
            f"{where}: the answer is not JSON; body starts {excerpt(response.text)}"
        ) from None
    if isinstance(document, list):
        return document, None
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        following = document.get("next")
        if following in (None, ""):
            return document["items"], None
        if not isinstance(following, str):
            raise PermanentError(f"{where}: `next` is not a URL")
        return document["items"], following
    raise PermanentError(f"{where}: expected a JSON list of records or an object with `items`")


def _seqs(items: list[Any], run_id: str) -> Iterator[int]:
    for item in items:
        if not isinstance(item, dict) or item.get("runId") != run_id:
            continue
        seq = item.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            yield seq


def _next_url(current: httpx.URL, following: str) -> httpx.URL:
    try:
        url = current.join(following)
    except httpx.InvalidURL:
        raise PermanentError(
            f"canary read: `next` is not a valid URL ({short(following)})"
        ) from None
    if (url.scheme, url.host, url.port) != (current.scheme, current.host, current.port):
        raise PermanentError(
            f"canary read GET {safe_url(str(current))}: `next` leaves the service "
            f"({safe_url(str(url))}); pages must stay on the same scheme, host and port"
        )
    return url
