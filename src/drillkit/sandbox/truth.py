"""Ground truth: when the orders service was really unavailable and really back.

A thread inside the supervisor asks the service's readiness through the edge
every 20 ms (the path users take: DNS answer, edge, replica, store, secret)
and appends every change of state to ``truth/availability.jsonl`` with wall
and monotonic time (the monotonic clock is system-wide on Linux, so a drill
process can compare its own timestamps). Acknowledged writes are appended by
the replicas to ``truth/acks.jsonl``; ``lost_writes`` compares them with what
the serving store still holds.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from drillkit.sandbox import store
from drillkit.sandbox.layout import SandboxLayout

INTERVAL_SECONDS = 0.02


class TruthRecorder(threading.Thread):
    def __init__(self, layout: SandboxLayout, port: int) -> None:
        super().__init__(name="sandbox-truth", daemon=True)
        self.layout = layout
        self.port = port
        self.stopping = threading.Event()
        self.available: bool | None = None
        self.path = layout.root / "truth" / "availability.jsonl"
        self._context = ssl.create_default_context(cafile=str(layout.root / "ca" / "ca.pem"))

    def run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        next_at = time.monotonic()
        while not self.stopping.is_set():
            available = self._check()
            if available != self.available:
                self.available = available
                line = {"available": available, "at": time.time(), "mono": time.monotonic()}
                with open(self.path, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps(line) + "\n")
            next_at += INTERVAL_SECONDS
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
            self.stopping.wait(max(0.0, delay))

    def _check(self) -> bool:
        connection = http.client.HTTPSConnection(
            "localhost", self.port, timeout=0.5, context=self._context
        )
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()


def availability(layout: SandboxLayout) -> list[dict[str, Any]]:
    """Every recorded change of availability, oldest first."""
    return _lines(layout.root / "truth" / "availability.jsonl")


def lost_writes(
    layout: SandboxLayout, region: str, run_id: str | None = None
) -> list[dict[str, Any]]:
    """Acknowledged writes (of ``run_id``, if given) that ``region``'s store no longer holds."""
    acks = [a for a in _lines(layout.root / "truth" / "acks.jsonl") if run_id in (None, a["runId"])]
    path = store.store_path(layout.root, region)
    present: set[str] = set()
    if path.exists():
        with store.connect(path) as connection:
            present = {row[0] for row in connection.execute("SELECT id FROM orders")}
    return [ack for ack in acks if ack["id"] not in present]


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
