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
for the suite's figures. Status bodies are shaped as a Kubernetes ``Status``;
other clients read the status code.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("429", "500", "503", "reset", "stall")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


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
    """``with FaultProxy("http://127.0.0.1:PORT", FaultPlan(...)) as proxy: proxy.url``."""

    def __init__(self, upstream_url: str, plan: FaultPlan | None = None) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"the proxy forwards to http://HOST:PORT, not {upstream_url!r}")
        plan = plan or FaultPlan()
        self._state = _State(plan, (parts.hostname, parts.port), random.Random(plan.seed))
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self._state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def injected(self) -> Counter[str]:
        with self._state.lock:
            return Counter(self._state.injected)

    @property
    def forwarded(self) -> int:
        return self._state.forwarded

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

    def handle(self) -> None:
        upstream: http.client.HTTPConnection | None = None
        try:
            while True:
                request = _read_request(self.rfile)
                if request is None:
                    return
                method, target, headers, body = request
                fault = self.server.state.choose(urlsplit(target).path)
                if fault == "reset":
                    _reset(self.connection)
                    return
                if fault in ("429", "500", "503"):
                    self._answer_status(int(fault))
                    continue
                if fault == "stall":
                    time.sleep(self.server.state.plan.stall_seconds)
                if upstream is None:
                    upstream = http.client.HTTPConnection(*self.server.state.upstream, timeout=300)
                if not self._forward(upstream, method, target, headers, body):
                    return
        except (ConnectionError, TimeoutError, OSError, http.client.HTTPException):
            return
        finally:
            if upstream is not None:
                upstream.close()

    def _answer_status(self, status: int) -> None:
        reason = {
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        body = json.dumps(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": f"injected by the fault proxy: {reason[status]}",
                "reason": "TooManyRequests" if status == 429 else "InternalError",
                "code": status,
            }
        ).encode()
        head = [
            f"HTTP/1.1 {status} {reason[status]}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
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
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
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
