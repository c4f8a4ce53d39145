"""An HTTP reverse proxy that makes a platform API misbehave on a share of calls.

Put in front of the Kubernetes API emulator, moto or the ARM test server, it
forwards every request to the real server, except that a seeded share of
them instead get what overloaded or broken platforms answer: 429 with
``Retry-After``, 500, 503, a connection reset (the socket closed with no
answer), or a stall (the request held ``stall_seconds`` before it is
forwarded). Real clients (the kubernetes client, boto3, the Azure SDK) talk
to it over real sockets and must absorb or report what it does.

Streaming answers (a Kubernetes watch) are passed through chunk by chunk, so
a watch still wakes on a change. ``injected`` counts what was done, by kind,
for the suite's figures.

Status bodies take the upstream's ``flavour``, because a client decides
whether to retry from the body as much as from the status: a Kubernetes
``Status``; for AWS what botocore parses for the request's protocol (the
JSON ``__type`` of KMS, the ``x-amzn-ErrorType`` of EKS, EC2's
``<Response><Errors>`` and the ``<ErrorResponse>`` of the query and
REST-XML services), with throttling and unavailable codes botocore's retry
modes know; for Azure the ARM ``{"error": {"code", "message"}}``.

An HTTPS upstream (the ARM test server) is reached over TLS, trusting
``upstream_ca``, and the proxy then serves TLS itself with ``server_cert``
(issued by a CA the clients already trust). Absolute URLs to the upstream in
the answer's ``Location`` and ``Azure-AsyncOperation`` headers are rewritten
to the proxy's, so a long-running operation's polls meet the faults too.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import trustme

FAULTS = ("429", "500", "503", "reset", "stall")
Flavour = Literal["kubernetes", "aws", "azure"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
_REWRITTEN = {"location", "azure-asyncoperation"}
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class FaultPlan:
    """Which share of calls misbehave, and how; ``seed`` makes a run repeatable."""

    share: float = 0.15
    faults: tuple[str, ...] = FAULTS
    stall_seconds: float = 10.0
    seed: int = 0
    spare: tuple[str, ...] = ()
    """Path prefixes never faulted (a test's own setup calls, say)."""


@dataclass
class _State:
    plan: FaultPlan
    upstream: tuple[str, int]
    chooser: random.Random
    flavour: Flavour = "kubernetes"
    upstream_tls: ssl.SSLContext | None = None
    server_tls: ssl.SSLContext | None = None
    upstream_base: str = ""
    own_base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    injected: Counter[str] = field(default_factory=Counter)
    forwarded: int = 0
    enabled: bool = True

    def choose(self, path: str) -> str | None:
        with self.lock:
            if not self.enabled or any(path.startswith(p) for p in self.plan.spare):
                self.forwarded += 1
                return None
            if self.chooser.random() >= self.plan.share:
                self.forwarded += 1
                return None
            fault = self.chooser.choice(self.plan.faults)
            self.injected[fault] += 1
            return fault


class FaultProxy:
    """``with FaultProxy("http://127.0.0.1:PORT", FaultPlan(...)) as proxy: proxy.url``.

    For an ``https://`` upstream pass ``upstream_ca`` (the CA file its certificate
    chains to) and ``server_cert`` (a trustme leaf for 127.0.0.1 the clients trust).
    """

    def __init__(
        self,
        upstream_url: str,
        plan: FaultPlan | None = None,
        *,
        flavour: Flavour = "kubernetes",
        upstream_ca: Path | None = None,
        server_cert: trustme.LeafCert | None = None,
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or parts.hostname is None or parts.port is None:
            raise ValueError(f"the proxy forwards to http(s)://HOST:PORT, not {upstream_url!r}")
        plan = plan or FaultPlan()
        self._state = _State(
            plan, (parts.hostname, parts.port), random.Random(plan.seed), flavour=flavour
        )
        if parts.scheme == "https":
            if upstream_ca is None or server_cert is None:
                raise ValueError("an https upstream needs upstream_ca and server_cert")
            self._state.upstream_tls = ssl.create_default_context(cafile=str(upstream_ca))
            self._state.server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_cert.configure_cert(self._state.server_tls)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self._state
        self._state.upstream_base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        self._state.own_base = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        scheme = "https" if self._state.server_tls is not None else "http"
        return f"{scheme}://{host}:{port}"

    @property
    def injected(self) -> Counter[str]:
        with self._state.lock:
            return Counter(self._state.injected)

    @property
    def forwarded(self) -> int:
        return self._state.forwarded

    def reseed(self, seed: int) -> None:
        """Start the fault sequence afresh, so one test's faults do not depend on how many
        calls the tests before it made."""
        with self._state.lock:
            self._state.chooser.seed(seed)

    def pause_faults(self) -> None:
        """Forward everything (to read the true state after a drill, say)."""
        self._state.enabled = False

    def resume_faults(self) -> None:
        self._state.enabled = True

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        """The TLS handshake happens here, in the connection's own thread, so a client
        that never finishes it holds up no one else."""
        context = self.server.state.server_tls
        if context is not None:
            self.request.settimeout(30)
            self.request = context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def handle(self) -> None:
        state = self.server.state
        upstream: http.client.HTTPConnection | None = None
        try:
            while True:
                request = _read_request(self.rfile)
                if request is None:
                    return
                method, target, headers, body = request
                fault = state.choose(urlsplit(target).path)
                if fault == "reset":
                    _reset(self.connection)
                    return
                if fault in ("429", "500", "503"):
                    self._answer_status(int(fault), headers)
                    continue
                if fault == "stall":
                    time.sleep(state.plan.stall_seconds)
                if upstream is None:
                    if state.upstream_tls is not None:
                        upstream = http.client.HTTPSConnection(
                            *state.upstream, timeout=300, context=state.upstream_tls
                        )
                    else:
                        upstream = http.client.HTTPConnection(*state.upstream, timeout=300)
                if not self._forward(upstream, method, target, headers, body):
                    return
        except (ConnectionError, TimeoutError, OSError, http.client.HTTPException):
            return
        finally:
            if upstream is not None:
                upstream.close()

    def _answer_status(self, status: int, headers: list[tuple[str, str]]) -> None:
        body, extra = status_body(self.server.state.flavour, status, headers)
        head = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in extra]
        if status in (429, 503):
            head.append("Retry-After: 1")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.wfile.flush()

    def _forward(
        self,
        upstream: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bool:
        upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                upstream.putheader(name, value)
        upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body)
        response = upstream.getresponse()
        state = self.server.state
        kept = [
            (k, v.replace(state.upstream_base, state.own_base) if k.lower() in _REWRITTEN else v)
            for k, v in response.getheaders()
            if k.lower() not in _HOP_BY_HOP
        ]
        length = response.getheader("Content-Length")
        chunked = length is None
        head = [f"HTTP/1.1 {response.status} {response.reason}"]
        head += [f"{k}: {v}" for k, v in kept]
        if chunked:
            head.append("Transfer-Encoding: chunked")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.wfile.flush()
        while True:
            piece = response.read1(65536) if chunked else response.read(65536)
            if not piece:
                break
            if chunked:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        return not response.will_close


_AWS_CODES = {429: "ThrottlingException", 500: "InternalFailure", 503: "ServiceUnavailable"}
_QUERY_CODES = {429: "Throttling", 500: "InternalFailure", 503: "ServiceUnavailable"}
_EC2_CODES = {429: "RequestLimitExceeded", 500: "InternalError", 503: "Unavailable"}
_AZURE_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
_REST_JSON = {"eks", "lambda", "apigateway", "backup"}
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


def status_body(
    flavour: Flavour, status: int, headers: list[tuple[str, str]]
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers an overloaded ``flavour`` of platform answers ``status`` with.

    AWS is told apart by protocol, as botocore parses it: the service is the
    signing scope in ``Authorization``, and ``X-Amz-Target`` marks the JSON
    protocol.
    """
    message = f"injected by the fault proxy: {_REASONS[status]}"
    if flavour == "azure":
        error = {"error": {"code": _AZURE_CODES[status], "message": message}}
        return json.dumps(error).encode(), [
            ("Content-Type", "application/json; charset=utf-8"),
            ("x-ms-request-id", f"fault-{time.monotonic_ns()}"),
        ]
    if flavour == "aws":
        found = {k.lower(): v for k, v in headers}
        scope = _CREDENTIAL.search(found.get("authorization", ""))
        service = scope.group(1) if scope else ""
        request_id = f"fault-{time.monotonic_ns()}"
        ids = [("x-amzn-RequestId", request_id)]
        if "x-amz-target" in found:
            typed = {"__type": _AWS_CODES[status], "message": message}
            return json.dumps(typed).encode(), [
                ("Content-Type", "application/x-amz-json-1.1"),
                *ids,
            ]
        if service in _REST_JSON:
            return json.dumps({"message": message}).encode(), [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", _AWS_CODES[status]),
                *ids,
            ]
        if service == "ec2":
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                f"<Code>{_EC2_CODES[status]}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
            )
        else:
            kind = "Sender" if status == 429 else "Receiver"
            xml = (
                '<?xml version="1.0"?>\n<ErrorResponse><Error>'
                f"<Type>{kind}</Type><Code>{_QUERY_CODES[status]}</Code>"
                f"<Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        return xml.encode(), [("Content-Type", "text/xml"), *ids]
    status_object = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "TooManyRequests" if status == 429 else "InternalError",
        "code": status,
    }
    return json.dumps(status_object).encode(), [("Content-Type", "application/json")]


def _read_request(stream: Any) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = stream.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = stream.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    found = {k.lower(): v for k, v in headers}
    if found.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(stream.readline().split(b";")[0], 16)
            if size == 0:
                stream.readline()
                break
            body += stream.read(size)
            stream.readline()
    else:
        body = stream.read(int(found.get("content-length", "0") or 0))
    return method, target, headers, body


def _reset(connection: socket.socket) -> None:
    """Close with RST, as a crashed load balancer does: no answer, no orderly FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
