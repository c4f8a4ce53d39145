"""One replica of the sandbox's "orders" service: an HTTPS API over its region's store.

Run by the supervisor as ``python -m drillkit.sandbox.orders_service``. It
reads its database secret at start (and keeps trying until it resolves),
serves the orders API and the RPO-canary contract (``docs/probes.md``), and
reports readiness honestly: ready only while its secret resolved and its
region's store is reachable. Each acknowledged write is also appended to the
sandbox's ground-truth log, so lost writes can be counted from outside.
It exits when its supervisor dies, so no replica outlives the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from drillkit.sandbox import store
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.topology import NAMESPACE, SECRET

REGION_HEADER = "X-Drillkit-Region"


class Replica:
    def __init__(self, layout: SandboxLayout, name: str, region: str, zone: str, node: str) -> None:
        self.layout = layout
        self.name = name
        self.region = region
        self.zone = zone
        self.node = node
        self.secret_resolved = False
        self.store_path = store.store_path(layout.root, region)
        self.acks = layout.root / "truth" / "acks.jsonl"
        self._ack_lock = threading.Lock()

    def resolve_secret(self) -> None:
        """Keep trying to read the database secret; readiness waits for it."""
        secrets = SandboxSecretStore(self.layout)
        while not self.secret_resolved:
            try:
                self.secret_resolved = bool(secrets.value(SECRET, "password", namespace=NAMESPACE))
            except Exception:  # the store may be mid-restore; try again shortly
                time.sleep(0.2)

    def store_reachable(self) -> bool:
        try:
            with store.connect(self.store_path) as connection:
                connection.execute("SELECT 1").fetchone()
            return True
        except Exception:
            return False

    def identity(self) -> dict[str, str]:
        return {"replica": self.name, "region": self.region, "zone": self.zone, "node": self.node}

    def acknowledge(self, row: dict[str, Any]) -> None:
        line = json.dumps(
            {
                "id": row["id"],
                "runId": row["run_id"],
                "seq": row["seq"],
                "region": self.region,
                "at": time.time(),
                "mono": time.monotonic(),
            }
        )
        with self._ack_lock, open(self.acks, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")


def handler_for(replica: Replica) -> type[BaseHTTPRequestHandler]:
    class OrdersHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "drillkit-orders"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            path, query = self._route()
            if path == "/readyz":
                checks = {"secrets": replica.secret_resolved, "store": replica.store_reachable()}
                ready = all(checks.values())
                status = "ready" if ready else "not-ready"
                self._json(
                    200 if ready else 503,
                    {"status": status, "checks": checks, **replica.identity()},
                )
            elif path == "/healthz":
                self._json(200, {"status": "alive", **replica.identity()})
            elif path == "/region":
                self._json(200, replica.identity())
            elif path == "/orders":
                run_id = _first(query, "runId")
                try:
                    with store.connect(replica.store_path) as connection:
                        rows = store.select(connection, run_id, limit=100_000)
                except Exception as exc:
                    self._json(503, {"error": f"store unreachable: {type(exc).__name__}"})
                    return
                self._json(200, [_public(row) for row in rows])
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            path, _ = self._route()
            if path != "/orders":
                self._json(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                record = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(record, dict):
                    raise ValueError("expected a JSON object")
            except ValueError as exc:
                self._json(400, {"error": f"bad request: {exc}"})
                return
            if not replica.secret_resolved:
                self._json(503, {"error": "database credentials not resolved"})
                return
            try:
                with store.connect(replica.store_path) as connection:
                    row = store.insert(connection, record)
            except Exception as exc:
                self._json(503, {"error": f"store unreachable: {type(exc).__name__}"})
                return
            replica.acknowledge(row)
            self._json(201, _public(row))

        def do_DELETE(self) -> None:
            path, query = self._route()
            run_id = _first(query, "runId")
            if path != "/orders" or not run_id:
                self._json(400, {"error": "DELETE /orders needs ?runId="})
                return
            try:
                with store.connect(replica.store_path) as connection:
                    deleted = store.delete_run(connection, run_id)
            except Exception as exc:
                self._json(503, {"error": f"store unreachable: {type(exc).__name__}"})
                return
            self._json(200, {"deleted": deleted})

        def _route(self) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            return parts.path, parse_qs(parts.query)

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header(REGION_HEADER, replica.region)
            self.end_headers()
            self.wfile.write(data)

    return OrdersHandler


class TlsServer(ThreadingHTTPServer):
    """TLS per connection, in the connection's own thread: a slow handshake blocks nobody."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            secured = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that gives up mid-handshake (the edge checking a port)
        super().finish_request(secured, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # connection resets during a fault are expected, not news


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "runId": row["run_id"],
        "seq": row["seq"],
        "canary": bool(row["canary"]),
        "writtenAt": row["written_at"],
    }


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drillkit-sandbox-orders")
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--zone", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)
    layout = SandboxLayout(args.state)
    replica = Replica(layout, args.name, args.region, args.zone, args.node)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(layout.root / "ca" / "orders.pem", layout.root / "ca" / "orders.key")
    try:
        server = TlsServer(("127.0.0.1", args.port), handler_for(replica), context)
    except OSError as exc:
        print(f"{args.name}: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    threading.Thread(target=replica.resolve_secret, daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
