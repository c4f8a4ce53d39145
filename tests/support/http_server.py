"""A real local HTTP(S) server whose behaviour a test switches at runtime.

Probe tests talk to a real socket rather than a mocked client, so connection
reuse, refused connections, timeouts and TLS verification behave as they do
against a service. ``LocalHttpServer`` listens on 127.0.0.1 (port 0 picks a
free port, kept across ``stop``/``start`` so a test can take the service
down and bring it back at a known moment). It speaks HTTP/1.1 with
keep-alive; ``stop`` also cuts open connections, like a crashed service.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """How the server answers every request until changed."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: LocalHttpServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a connection cut by ``stop`` or refused by a TLS client is expected."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        self.server.owner._untrack(self.connection)
        super().finish()

    def _answer(self, with_body: bool) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        behaviour = self.server.owner.behaviour
        self.server.owner._count()
        if behaviour.delay:
            time.sleep(behaviour.delay)
        self.send_response(behaviour.status)
        for name, value in behaviour.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        if with_body:
            self.wfile.write(behaviour.body)

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_POST(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the counters, not the access log."""


class LocalHttpServer:
    """A switchable server on 127.0.0.1; HTTPS when given a server-side ``ssl.SSLContext``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._requests = 0
        self._opened = 0
        self.behaviour = Behaviour()

    # -- control --------------------------------------------------------------------------

    def start(self) -> LocalHttpServer:
        """Listen (again, on the same port after a ``stop``)."""
        server = _Server(self, ("127.0.0.1", self._port))
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: stop listening and cut every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def set(
        self,
        *,
        status: int | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        delay: float | None = None,
    ) -> None:
        """Change how later requests are answered; unnamed aspects stay as they are."""
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
        if body is not None:
            changes["body"] = body.encode() if isinstance(body, str) else body
        if headers is not None:
            changes["headers"] = dict(headers)
        if delay is not None:
            changes["delay"] = delay
        self.behaviour = replace(self.behaviour, **changes)

    # -- observation ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    @property
    def requests(self) -> int:
        """How many requests were answered (or are being answered)."""
        return self._requests

    @property
    def connections_opened(self) -> int:
        """How many client connections were accepted, over every start."""
        return self._opened

    def __enter__(self) -> LocalHttpServer:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- used by the handler --------------------------------------------------------------

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self._opened += 1

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _count(self) -> None:
        with self._lock:
            self._requests += 1
