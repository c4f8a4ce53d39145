"""The emulator's HTTP side: a threaded server on 127.0.0.1, hooks for tests, a clean stop.

``KubeApiServer`` serves the ``Api`` over real HTTP/1.1 with keep-alive
(watches use chunked transfer encoding), authenticates bearer tokens, and
records every request. Tests stage trouble between two requests:
``fail_next`` answers with an error ``Status``, ``before_next`` changes the
store first (a race), ``slow_down`` adds latency. A stopped server refuses
connections and cuts open ones (a control plane gone); ``start`` brings it
back on the same port. ``reset`` gives a fresh cluster on the same port, so
one server can serve a whole test session.

A background thread plays the disruption controller, so PodDisruptionBudget
status follows pod changes for watchers too (reads also refresh it).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.kube.access import AccessControl, User
from tests.support.kube.api import Answer, Api, Request, Stream
from tests.support.kube.catalogue import ALL_RESOURCES, NAMESPACES, SERVICEACCOUNTS
from tests.support.kube.discovery import ServerVersion
from tests.support.kube.errors import ApiError
from tests.support.kube.policy import DisruptionBudgets
from tests.support.kube.resources import ResourceType
from tests.support.kube.store import ResourceStore

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class _Trigger:
    """A reaction to the next ``count`` requests matching method and path (a substring)."""

    method: str | None
    path: str | None
    count: int | None
    """``None``: every matching request until ``clear_hooks``."""
    run: Callable[[], ApiError | None]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: Any
    query: str = ""
    content_type: str = ""
    user: str = ""


@dataclass
class KubeApiServer:
    """The emulator, on 127.0.0.1 and a free port, serving ``resources``."""

    resources: tuple[ResourceType, ...] = ALL_RESOURCES
    store: ResourceStore = field(default_factory=ResourceStore)
    requests: list[RecordedRequest] = field(default_factory=list)
    access: AccessControl = field(default_factory=AccessControl)
    version: ServerVersion = field(default_factory=ServerVersion)
    cluster_name: str = "drillkit-emulator"
    """Makes the system namespaces' uids stable: ``kube-system``'s uid is the cluster's id."""
    record: bool = True
    """Keep ``requests`` (turn off for scale runs)."""
    internal_errors: list[str] = field(default_factory=list)
    """Tracebacks of requests the emulator failed on (answered 500): a test asserts it empty."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._triggers: list[_Trigger] = []
        self._http: _HttpServer | None = None
        self._port = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._api: Api | None = None
        self._lifecycle = threading.Lock()
        """Serializes ``start`` and ``stop``: a restart waits until the old socket is closed."""
        self._seed_system(self.store)

    # -- the cluster -----------------------------------------------------------------------

    @property
    def cluster_uid(self) -> str:
        """``kube-system``'s uid, which tools use as the cluster's identity."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.cluster_name}/kube-system"))

    def _seed_system(self, store: ResourceStore) -> None:
        if NAMESPACES not in self.resources:
            return
        for name in SYSTEM_NAMESPACES:
            if store.entry(NAMESPACES, "", name) is None:
                uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.cluster_name}/{name}"))
                store.create(NAMESPACES, "", {"metadata": {"name": name}}, uid=uid)
                if SERVICEACCOUNTS in self.resources:
                    store.create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}})

    def reset(self) -> ResourceStore:
        """A fresh cluster (system namespaces only), hooks and records cleared; same port."""
        old = self.store
        self.store = ResourceStore()
        self._seed_system(self.store)
        old.events.close()
        with self._lock:
            self._triggers.clear()
            self.requests.clear()
            self._api = None
        self.access = AccessControl(
            tokens=self.access.tokens, default_user=self.access.default_user
        )
        return self.store

    def api(self) -> Api:
        with self._lock:
            if (
                self._api is None
                or self._api.store is not self.store
                or self._api.access is not self.access
            ):
                self._api = Api(
                    self.store,
                    self.resources,
                    self.access,
                    self.version,
                    f"127.0.0.1:{self._port}",
                    self._stopping.is_set,
                )
            return self._api

    def add_token(self, token: str, user: User) -> None:
        self.access.tokens[token] = user

    # -- hooks -----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 503,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        message: str = "injected failure",
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` and a ``Status`` body."""
        self._add(_Trigger(method, path, count, lambda: ApiError(status, message)))

    def before_next(
        self,
        action: Callable[[ResourceStore], object],
        *,
        method: str | None = None,
        path: str | None = None,
        count: int = 1,
    ) -> None:
        """Run ``action`` on the store just before serving the next matching request (a race)."""

        def run() -> None:
            action(self.store)

        self._add(_Trigger(method, path, count, run))

    def slow_down(
        self,
        seconds: float,
        *,
        method: str | None = None,
        path: str | None = None,
        count: int | None = None,
    ) -> None:
        """Delay matching requests by ``seconds`` (every one until ``clear_hooks``, or ``count``)."""

        def run() -> None:
            time.sleep(seconds)

        self._add(_Trigger(method, path, count, run))

    def clear_hooks(self) -> None:
        with self._lock:
            self._triggers.clear()

    def _add(self, trigger: _Trigger) -> None:
        with self._lock:
            self._triggers.append(trigger)

    def _fire(self, method: str, path: str) -> None:
        with self._lock:
            fired = [
                t
                for t in self._triggers
                if t.method in (None, method) and (t.path is None or t.path in path)
            ]
            for trigger in fired:
                if trigger.count is not None:
                    trigger.count -= 1
            self._triggers = [t for t in self._triggers if t.count is None or t.count > 0]
        for trigger in fired:
            if (failure := trigger.run()) is not None:
                raise failure

    # -- serving ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._http is not None, "the server is not started"
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> KubeApiServer:
        """Listen (again, on the same port after a ``stop``)."""
        with self._lifecycle:
            return self._start()

    def _start(self) -> KubeApiServer:
        if self._http is not None:
            return self
        self._stopping.clear()
        if self.store.events.closed:
            self.store.reopen_events()
        self._http = _HttpServer(self, self._port)
        self._port = self._http.server_address[1]
        with self._lock:
            self._api = None
        threading.Thread(target=self._http.serve_forever, args=(0.01,), daemon=True).start()
        threading.Thread(
            target=self._run_disruption_controller, args=(self._http,), daemon=True
        ).start()
        return self

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening and cut open connections: new ones are refused (an API server gone)."""
        with self._lifecycle:
            self._stop()

    def _stop(self) -> None:
        http, self._http = self._http, None
        if http is None:
            return
        self._stopping.set()
        self.store.events.close()
        http.shutdown()
        http.server_close()
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _run_disruption_controller(self, http: _HttpServer) -> None:
        while self._http is http:
            with contextlib.suppress(ApiError):
                DisruptionBudgets.of(self.store).refresh()
            time.sleep(0.05)

    def serve(self, handler: _Handler) -> Answer | Stream:
        """One request: authenticate, record, run hooks, answer (errors become ``Status``)."""
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            user = self.access.authenticate(handler.headers)
            if self.record:
                with self._lock:
                    self.requests.append(
                        RecordedRequest(
                            handler.command,
                            parts.path,
                            _parsed(body),
                            parts.query,
                            str(handler.headers.get("Content-Type") or ""),
                            user.name,
                        )
                    )
            self._fire(handler.command, parts.path)
            request = Request(
                handler.command,
                parts.path,
                dict(parse_qsl(parts.query)),
                handler.headers,
                body,
                user,
            )
            return self.api().handle(request)
        except ApiError as error:
            return Answer.of(error.code, error.status())
        except Exception as error:  # a bug in the emulator: a 500, kept for the test to see
            self.internal_errors.append(traceback.format_exc())
            return Answer.of(500, ApiError(500, f"Internal error occurred: {error!r}").status())

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _parsed(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: KubeApiServer, port: int) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: connections cut by ``stop`` or dropped by a client are expected."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection)

    def finish(self) -> None:
        self.server.emulator._untrack(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        answer = self.server.emulator.serve(self)
        if isinstance(answer, Stream):
            self._stream(answer)
            return
        self.send_response(answer.code)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(answer.body)

    def _stream(self, stream: Stream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        try:
            for line in stream.lines:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``KubeApiServer.requests``, not an access log."""
