"""A lean HTTP/1.1 client for the sampler group: one request per sample, on kept-alive sockets.

A thousand endpoints sampled every second leave about 250 µs of CPU per
sample for everything: scheduling, the request, judging the answer and the
journal. aiohttp spends more than that on one request (its client session,
timers, tracing hooks and response objects are built for far richer use), so
the ``http`` probe's event-loop path sends the plain requests a probe makes
through this client, and keeps aiohttp for what this one does not do:
proxies, credentials in the URL, schemes other than http and https.

What it does: one ``asyncio.Protocol`` per connection, requests written whole,
responses parsed from the buffer (status line, headers, a body sized by
``Content-Length``, chunked, or read to the close), ``gzip`` and ``deflate``
bodies decoded, connections kept alive per origin and reused, a stale kept-alive
connection retried once on a fresh one, TLS through the same SSL context the
probe's other paths use, and one timer per request instead of a timeout task.
Failures surface as the exceptions the probe already explains: ``TimeoutError``,
``ssl.SSLCertVerificationError`` and ``ConnectionRefusedError`` from connecting,
``ServerBrokeExchange`` for an answer that is not HTTP or stops short.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_HEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class ServerBrokeExchange(Exception):
    """The server closed the connection early or answered something that is not HTTP/1.x."""


class NotForWire(Exception):
    """A request this client leaves to the full client (a proxy, credentials in the URL)."""


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str] | None:
        lowered = name.lower()
        found = [value for key, value in self.headers if key.lower() == lowered]
        return found or None

    @property
    def charset(self) -> str | None:
        content_type = (self.header_values("content-type") or [""])[0]
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return None


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    host_header: str
    path: str


@functools.lru_cache(maxsize=4096)
def parse_target(url: str) -> _Target:
    """The origin and request target of ``url``; ``ValueError`` for a URL that is not one.

    Cached: a sampler asks for the same URL every interval, and parsing costs
    about as much as the rest of building the request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise NotForWire(f"scheme {parts.scheme!r}")
    if parts.username is not None or parts.password is not None:
        raise NotForWire("credentials in the URL")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in {url!r}")
    port = parts.port  # raises ValueError for a port that is not a number
    default = 443 if parts.scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port in (None, default) else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.scheme, host, port or default, host_header, path)


class WirePool:
    """Kept-alive connections per origin, for one event loop."""

    def __init__(self, ssl_context: Callable[[], ssl.SSLContext], user_agent: str) -> None:
        self._ssl_context = ssl_context
        self._context: ssl.SSLContext | None = None
        self._user_agent = user_agent
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
    ) -> WireResponse:
        target = parse_target(url)
        payload = _encode(method, target, tuple(headers.items()), body, self._user_agent)
        key = (target.scheme, target.host, target.port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.usable:  # closed by the server while it sat idle
                connection.close()
                self._all.discard(connection)
                continue
            try:
                return await self._exchange(connection, key, method, payload, deadline)
            except _StaleConnection:
                continue  # the server closed a kept-alive socket: try a fresh one
        connection = await self._connect(target, deadline)
        try:
            return await self._exchange(connection, key, method, payload, deadline)
        except _StaleConnection as stale:
            raise ServerBrokeExchange(str(stale)) from None

    async def close(self) -> None:
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        self._idle.clear()

    async def _connect(self, target: _Target, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if target.scheme == "https":
            if self._context is None:
                self._context = self._ssl_context()
            context = self._context
        left = max(0.0, deadline - loop.time())
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                _Connection,
                target.host,
                target.port,
                ssl=context,
                server_hostname=target.host if context is not None else None,
            ),
            left,
        )
        self._all.add(connection)
        return connection

    async def _exchange(
        self,
        connection: _Connection,
        key: tuple[str, str, int],
        method: str,
        payload: bytes,
        deadline: float,
    ) -> WireResponse:
        loop = asyncio.get_running_loop()
        answer = connection.send(method, payload, loop)
        timer = loop.call_at(deadline, connection.expire)
        try:
            response = await answer
        except BaseException:
            connection.close()
            self._all.discard(connection)
            raise
        finally:
            timer.cancel()
        if connection.usable:
            self._idle.setdefault(key, []).append(connection)
        else:
            connection.close()
            self._all.discard(connection)
        return response


@functools.lru_cache(maxsize=4096)
def _encode(
    method: str,
    target: _Target,
    headers: tuple[tuple[str, str], ...],
    body: bytes | None,
    user_agent: str,
) -> bytes:
    """The request's bytes; cached, since a sampler sends the same request every interval."""
    lines = [f"{method} {target.path} HTTP/1.1", f"Host: {target.host_header}"]
    given = {name.lower() for name, _ in headers}
    if "user-agent" not in given:
        lines.append(f"User-Agent: {user_agent}")
    if "accept" not in given:
        lines.append("Accept: */*")
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: gzip, deflate")
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class _StaleConnection(Exception):
    """A reused connection closed before any byte of the answer: safe to send again."""


class _Connection(asyncio.Protocol):
    """One socket; one request at a time; the response parsed as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.usable = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[WireResponse] | None = None
        self._method = "GET"
        self._head: tuple[int, str, list[tuple[str, str]], int, bool] | None = None
        self._keep_alive = True
        self._used = False

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.usable = True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None:
            self._parse(eof=False)

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    # -- requests
    def send(
        self, method: str, payload: bytes, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[WireResponse]:
        assert self.transport is not None and self._waiter is None
        self.usable = False
        self._method = method
        self._head = None
        self._buffer.clear()
        self._waiter = loop.create_future()
        self.transport.write(payload)
        return self._waiter

    def expire(self) -> None:
        self._fail(TimeoutError("no response in time"))

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()

    # -- parsing
    def _ended(self, exc: Exception | None) -> None:
        self.usable = False
        if self._waiter is None or self._waiter.done():
            return
        if self._head is not None and self._head[3] < 0:  # body read to the close
            self._finish(bytes(self._buffer))
            return
        if not self._buffer and self._used:
            self._fail(_StaleConnection("the kept-alive connection was closed"))
            return
        if exc is not None:
            self._fail(exc)
            return
        self._fail(ServerBrokeExchange("the server closed the connection before the answer"))

    def _parse(self, *, eof: bool) -> None:
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    self._fail(ServerBrokeExchange("response head too large"))
                return
            try:
                self._head = self._read_head(bytes(self._buffer[:end]))
            except ServerBrokeExchange as exc:
                self._fail(exc)
                return
            del self._buffer[: end + 4]
            if 100 <= self._head[0] < 200:  # an interim answer: the real one follows
                self._head = None
                self._parse(eof=eof)
                return
        _, _, _, length, chunked = self._head
        if chunked:
            body = self._dechunk()
            if body is not None:
                self._finish(body)
        elif length >= 0 and len(self._buffer) >= length:
            self._finish(bytes(self._buffer[:length]))

    def _read_head(self, raw: bytes) -> tuple[int, str, list[tuple[str, str]], int, bool]:
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ServerBrokeExchange(f"not an HTTP/1.x answer: {lines[0][:60]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: list[tuple[str, str]] = []
        length, chunked, connection = -1, False, ""
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ServerBrokeExchange(f"malformed header line: {line[:60]!r}")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lowered = name.lower()
            if lowered == "content-length":
                if not value.isdigit():
                    raise ServerBrokeExchange(f"Content-Length {value[:20]!r}")
                length = int(value)
            elif lowered == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif lowered == "connection":
                connection = value.lower()
        if self._method == "HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
            length, chunked = 0, False
        self._keep_alive = (
            "close" not in connection
            and (parts[0] == "HTTP/1.1" or "keep-alive" in connection)
            and (chunked or length >= 0)
        )
        return status, reason, headers, length, chunked

    def _dechunk(self) -> bytes | None:
        """The whole chunked body once its last chunk is in, else None (wait for more)."""
        body = bytearray()
        at = 0
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self._fail(ServerBrokeExchange(f"bad chunk size {size_text[:20]!r}"))
                return None
            start = line_end + 2
            if size == 0:  # the last chunk, then trailers (usually none) and an empty line
                if buffer[start : start + 2] == b"\r\n" or buffer.find(b"\r\n\r\n", line_end) >= 0:
                    return bytes(body)
                return None
            if len(buffer) < start + size + 2:
                return None
            body += buffer[start : start + size]
            at = start + size + 2

    def _finish(self, body: bytes) -> None:
        assert self._head is not None and self._waiter is not None
        status, reason, headers, _, _ = self._head
        encoding = next((v.lower() for k, v in headers if k.lower() == "content-encoding"), "")
        try:
            if encoding == "gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
        except zlib.error as exc:
            self._fail(ServerBrokeExchange(f"cannot decode a {encoding} body: {exc}"))
            return
        waiter, self._waiter = self._waiter, None
        self._used = True
        self.usable = self._keep_alive and self.transport is not None
        self._buffer.clear()
        if not waiter.done():
            waiter.set_result(WireResponse(status, reason, headers, body))

    def _fail(self, exc: BaseException) -> None:
        self.usable = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()
