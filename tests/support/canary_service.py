"""A small "orders-like" service that speaks the RPO canary HTTP contract, for tests.

It stores canary records in memory and implements the contract of
``drillkit.probes.canary_http``: ``POST /orders`` stores a record, ``GET
/orders?runId=...`` lists them (a plain list, or ``{"items", "next"}`` pages),
``DELETE /orders?runId=...`` removes one run's records. Tests steer it:

- ``lose_last(seconds)``: drop the records stored in the last N seconds, as a
  restore from a slightly old backup or lagging replication would;
- ``status = 503``: answer every request with that status;
- ``stop()`` / ``start()``: be down (connection refused) and come back on the same port;
- ``page_size``: paginate the listing; ``plain_list``: answer a bare JSON list;
- ``filter_by_run = False``: ignore the ``runId`` filter and list every record.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class CanaryService:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.status: int | None = None
        self.page_size: int | None = None
        self.plain_list = False
        self.filter_by_run = True
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/orders"

    def start(self) -> CanaryService:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:  # kept-alive connections die with the service
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> CanaryService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def lose_last(self, seconds: float) -> None:
        cutoff = time.monotonic() - seconds
        with self.lock:
            self.records = [r for r in self.records if r["storedAt"] <= cutoff]

    def seqs(self, run_id: str) -> list[int]:
        with self.lock:
            return [r["seq"] for r in self.records if r["runId"] == run_id]

    def add(self, run_id: str, seq: int) -> None:
        with self.lock:
            self.records.append(
                {"canary": True, "runId": run_id, "seq": seq, "storedAt": time.monotonic()}
            )


def _handler_for(service: CanaryService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with service.lock:
                service._connections.add(self.connection)

        def finish(self) -> None:
            with service.lock:
                service._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if self._refused():
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                self._send(400, {"error": "not JSON"})
                return
            valid = (
                isinstance(body, dict)
                and body.get("canary") is True
                and isinstance(body.get("runId"), str)
                and isinstance(body.get("seq"), int)
                and isinstance(body.get("writtenAt"), str)
                and body["writtenAt"].endswith("Z")
            )
            if not valid:
                self._send(400, {"error": "not a canary record"})
                return
            service.add(body["runId"], body["seq"])
            self._send(201, {"id": f"{body['runId']}-{body['seq']}"})

        def do_GET(self) -> None:
            if self._refused():
                return
            query = self._query()
            run_id = query.get("runId")
            with service.lock:
                records = [
                    {"runId": r["runId"], "seq": r["seq"], "canary": True}
                    for r in service.records
                    if run_id is None or not service.filter_by_run or r["runId"] == run_id
                ]
            if service.plain_list:
                self._send(200, records)
                return
            page = int(query.get("page", "0"))
            size = service.page_size or max(len(records), 1)
            items = records[page * size : (page + 1) * size]
            following = None
            if (page + 1) * size < len(records):
                following = "?" + urlencode({**query, "page": str(page + 1)})
            self._send(200, {"items": items, "next": following})

        def do_DELETE(self) -> None:
            if self._refused():
                return
            run_id = self._query().get("runId")
            with service.lock:
                before = len(service.records)
                service.records = [r for r in service.records if r["runId"] != run_id]
                removed = before - len(service.records)
            self._send(204 if removed else 404, None)

        def _query(self) -> dict[str, str]:
            return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

        def _refused(self) -> bool:
            with service.lock:
                service.requests.append((self.command, self.path))
            if service.status is None:
                return False
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(service.status, {"error": "x" * 500})
            return True

        def _send(self, status: int, document: Any) -> None:
            body = b"" if document is None else json.dumps(document).encode()
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
