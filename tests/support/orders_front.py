"""The orders service as users reach it on an emulated cluster: HTTPS answers read from the store.

On a real cluster the shipped drills' probes talk to the orders API behind the
ingress, and what that API answers follows from the cluster's state: it is
down while its namespace is gone or no replica is ready, and the orders it
stored live in the cluster, so losing the namespace loses them and a Velero
restore brings back exactly what the backup held. The Kubernetes API emulator
runs no containers, so ``OrdersFront`` plays that service, deriving every
answer from the emulator's store at the moment of the request (never from
state of its own), so a drill's faults and restores change what users see
exactly as they would on a cluster:

- ``GET /readyz``: 200 ``{"status": "ready"}`` only while namespace ``orders``
  exists and Deployment ``orders-api`` has at least one ready replica, else 503
  with the reason;
- ``GET /region``: ``{"region": ...}``, the region the front was given;
- the RPO canary contract of ``drillkit.probes.canary_http``: ``POST /orders``,
  ``GET /orders?runId=...``, ``DELETE /orders?runId=...``, each record stored as
  a ConfigMap in namespace ``orders`` (refused with 503 while the service is
  down, as a service without its namespace cannot take a write).

It serves HTTPS on port 8443 (the port ``probes/orders-tls.yaml`` names) of a
loopback address other than 127.0.0.1, where the sandbox listens in the same
test session, with a trustme certificate whose subject alternative name is
that address, so the address itself can be the target's ``orders_host`` (plus
``also_names``: the address of an edge that passes connections through, as
a regional load balancer's certificate names the service's DNS name). The
CA goes into ``ca_file``: a bundle for ``SSL_CERT_FILE``, so the drill files
need no ``caBundle``. The leaf is valid for 90 days, like a real ACME
certificate, so a ``minCertificateDays`` objective has a real figure to meet.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.support.kube.catalogue import CONFIGMAPS, DEPLOYMENTS, NAMESPACES
from tests.support.kube.errors import ApiError
from tests.support.kube.store import ResourceStore

PORT = 8443
ADDRESSES = tuple(f"127.0.0.{n}" for n in range(2, 30))
"""Loopback addresses tried in turn: 127.0.0.1:8443 may belong to the sandbox."""
CANARY_LABEL = "drillkit.io/canary-run"
CERTIFICATE_DAYS = 90


class OrdersFront:
    """The orders API of an emulated cluster; a context manager, or ``start``/``stop``.

    ``store`` is called on every request, because the emulator replaces its store
    when a test resets the cluster and one front serves a whole test module.
    """

    def __init__(
        self,
        store: Callable[[], ResourceStore],
        folder: Path,
        *,
        region: str,
        namespace: str = "orders",
        deployment: str = "orders-api",
        also_names: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.also_names = also_names
        self.region = region
        self.namespace = namespace
        self.deployment = deployment
        self.folder = folder
        self.address = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # -- what users and tests see ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.address}:{PORT}"

    @property
    def ca_file(self) -> Path:
        """PEM bundle holding the CA that signed the front's certificate."""
        return self.folder / "orders-front-ca.pem"

    def readiness(self) -> tuple[bool, str]:
        """Whether the service can answer, and why not; read from the store under its lock."""
        store = self.store()
        with store.lock:
            if store.find(NAMESPACES, "", self.namespace) is None:
                return False, f"namespace {self.namespace} does not exist"
            deployment = store.find(DEPLOYMENTS, self.namespace, self.deployment)
            if deployment is None:
                return False, f"deployment {self.namespace}/{self.deployment} does not exist"
            ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        if ready < 1:
            return False, f"deployment {self.namespace}/{self.deployment} has no ready replica"
        return True, f"{ready} ready replicas"

    def canary_records(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Canary records in the cluster now (one run's, or every run's)."""
        store = self.store()
        selector = f"{CANARY_LABEL}={run_id}" if run_id else CANARY_LABEL
        return [
            {
                "runId": c["data"]["runId"],
                "seq": int(c["data"]["seq"]),
                "canary": True,
                "name": c["metadata"]["name"],
            }
            for c in store.list(CONFIGMAPS, self.namespace, labels=selector)
        ]

    def store_record(self, run_id: str, seq: int, written_at: str) -> bool:
        """Keep one canary record as a ConfigMap; False when the service is down. Writing
        a record again is a success (a client retrying a write it saw time out)."""
        store = self.store()
        with store.lock:  # the namespace cannot vanish between the check and the write
            up, _ = self.readiness()
            if not up:
                return False
            name = f"canary-{run_id.lower()}-{seq}"
            if store.find(CONFIGMAPS, self.namespace, name) is not None:
                return True
            store.create(
                CONFIGMAPS,
                self.namespace,
                {
                    "metadata": {
                        "name": name,
                        "labels": {CANARY_LABEL: run_id},
                    },
                    "data": {"runId": run_id, "seq": str(seq), "writtenAt": written_at},
                },
            )
        return True

    def remove_records(self, run_id: str) -> int | None:
        """Delete one run's records; None when the service is down."""
        store = self.store()
        with store.lock:
            up, _ = self.readiness()
            if not up:
                return None
            removed = 0
            for record in self.canary_records(run_id):
                with contextlib.suppress(ApiError):
                    store.delete(CONFIGMAPS, self.namespace, record["name"])
                    removed += 1
        return removed

    # -- life -----------------------------------------------------------------------------

    def start(self) -> OrdersFront:
        listener = _bind()
        self.address = listener.getsockname()[0]
        tls = self._tls_context()
        self._server = _Server(self, listener, tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:  # kept-alive client connections end with the service
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OrdersFront:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _tls_context(self) -> ssl.SSLContext:
        authority = trustme.CA(organization_name="drillkit test ingress CA")
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        leaf = authority.issue_cert(
            self.address,
            *self.also_names,
            not_before=now - datetime.timedelta(hours=1),
            not_after=now + datetime.timedelta(days=CERTIFICATE_DAYS),
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        authority.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        return context

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _bind() -> socket.socket:
    """Port 8443 on the first free loopback address of ``ADDRESSES``."""
    for address in ADDRESSES:
        try:
            return socket.create_server((address, PORT))
        except OSError:
            continue
    raise OSError(f"port {PORT} is taken on every address of {ADDRESSES[0]}..{ADDRESSES[-1]}")


class _Server(ThreadingHTTPServer):
    """Takes a bound listener; the TLS handshake runs in each connection's own thread, so a
    client that connects and stalls (or only handshakes, as the tls probe does) blocks no one."""

    daemon_threads = True

    def __init__(self, front: OrdersFront, listener: socket.socket, tls: ssl.SSLContext) -> None:
        super().__init__(listener.getsockname(), _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.front = front
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            secured = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that refused the certificate or went away mid-handshake
        try:
            super().finish_request(secured, client_address)
        finally:
            with contextlib.suppress(OSError):
                secured.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: connections cut by ``stop`` or by a client are expected."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.front._track(self.connection)

    def finish(self) -> None:
        self.server.front._untrack(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the store and the drill's journal, not an access log."""

    def do_GET(self) -> None:
        front = self.server.front
        path, query = self._target()
        if path == "/readyz":
            up, why = front.readiness()
            self._send(
                200 if up else 503, {"status": "ready" if up else "unavailable", "reason": why}
            )
        elif path == "/region":
            self._send(200, {"region": front.region})
        elif path == "/orders":
            if not front.readiness()[0]:
                self._send(503, {"error": "orders is unavailable"})
                return
            records = front.canary_records(query.get("runId"))
            self._send(
                200,
                {
                    "items": [
                        {"runId": r["runId"], "seq": r["seq"], "canary": True} for r in records
                    ],
                    "next": None,
                },
            )
        else:
            self._send(404, {"error": f"no route {path}"})

    def do_POST(self) -> None:
        path, _ = self._target()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if path != "/orders":
            self._send(404, {"error": f"no route {path}"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, {"error": "not JSON"})
            return
        valid = (
            isinstance(body, dict)
            and body.get("canary") is True
            and isinstance(body.get("runId"), str)
            and isinstance(body.get("seq"), int)
            and isinstance(body.get("writtenAt"), str)
        )
        if not valid:
            self._send(400, {"error": "not a canary record"})
            return
        if not self.server.front.store_record(body["runId"], body["seq"], body["writtenAt"]):
            self._send(503, {"error": "orders is unavailable"})
            return
        self._send(201, {"id": f"{body['runId']}-{body['seq']}"})

    def do_DELETE(self) -> None:
        path, query = self._target()
        run_id = query.get("runId")
        if path != "/orders" or not run_id:
            self._send(404, {"error": "DELETE /orders?runId=... only"})
            return
        removed = self.server.front.remove_records(run_id)
        if removed is None:
            self._send(503, {"error": "orders is unavailable"})
            return
        self._send(204 if removed else 404, None)

    def _target(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}

    def _send(self, status: int, document: Any) -> None:
        body = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
