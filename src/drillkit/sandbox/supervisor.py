"""The sandbox supervisor: keeps the orders replicas running where the desired state allows.

Run detached by ``drill sandbox up`` as ``python -m drillkit.sandbox.supervisor``.
Like a Deployment controller it reconciles every 100 ms: a replica that died
is started again after ``restartDelay`` seconds (a realistic crash-loop
delay), on its own node when that node is up, else on another up node of the
same region (pods rescheduled away from a lost node or zone); replicas on a
down node, zone or region, or of a deleted namespace, are stopped and not
replaced. It also hosts the DNS server, the edge, scheduled backups, shipping
to the standby and the ground-truth recorder, and publishes the workload
status probes read. SIGTERM stops every replica before it exits.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from drillkit.sandbox.backup_schedule import take_backup
from drillkit.sandbox.desired_state import DesiredState, read_desired
from drillkit.sandbox.dns_server import SandboxDnsServer
from drillkit.sandbox.edge import Edge, RegionLookup
from drillkit.sandbox.layout import SandboxLayout, read_json, write_json_atomically
from drillkit.sandbox.shipping import Shipper
from drillkit.sandbox.topology import (
    NAMESPACE,
    NODES,
    REGIONS,
    WORKLOAD,
    ZONES,
    Node,
    SandboxConfig,
)
from drillkit.sandbox.truth import TruthRecorder
from drillkit.sandbox.workload_status import Replica, SandboxWorkloads, Workload

TICK_SECONDS = 0.1
MAX_REPLICAS_PER_REGION = 20


@dataclass
class Slot:
    region: str
    index: int
    port: int
    process: subprocess.Popen[bytes] | None = None
    node: Node | None = None
    dead_since: float | None = None
    ready: bool = False

    @property
    def name(self) -> str:
        return f"{WORKLOAD}-{self.region}-{self.index}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, layout: SandboxLayout, config: SandboxConfig) -> None:
        self.layout = layout
        self.config = config
        self.slots: dict[tuple[str, int], Slot] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workloads = SandboxWorkloads(layout)
        self._published: str | None = None
        self.logs = layout.root / "logs"

    # --- Reconcile ----------------------------------------------------------------------------

    def reconcile(self) -> None:
        desired = read_desired(self.layout)
        now = time.monotonic()
        with self.lock:
            for region in REGIONS:
                wanted = self._wanted(desired, region)
                for index in range(MAX_REPLICAS_PER_REGION):
                    key = (region, index)
                    slot = self.slots.get(key)
                    if index >= wanted:
                        if slot is not None:
                            self._stop(slot)
                            del self.slots[key]
                        continue
                    if slot is None:
                        slot = self.slots[key] = Slot(region, index, self._port(region, index))
                    self._keep(slot, desired, now)
        self._publish(desired)

    def _wanted(self, desired: DesiredState, region: str) -> int:
        if not desired.namespace_present or region in desired.down_regions:
            return 0
        return min(desired.replicas.get(region, 0), MAX_REPLICAS_PER_REGION)

    def _keep(self, slot: Slot, desired: DesiredState, now: float) -> None:
        if slot.alive and slot.node is not None:
            if desired.node_down(slot.node.name, slot.region, slot.node.zone):
                self._stop(slot, kill=True)  # its node went away under it
                slot.dead_since = now
            return
        if slot.process is not None:  # it died: reap, remember when
            slot.process.poll()
            slot.process = None
            slot.ready = False
            slot.dead_since = now
        if (
            slot.dead_since is not None
            and now - slot.dead_since < self.config.restart_delay_seconds
        ):
            return
        node = self._place(slot, desired)
        if node is not None:
            self._start(slot, node)

    def _place(self, slot: Slot, desired: DesiredState) -> Node | None:
        """The slot's own node when up, else the up node of its region with fewest replicas."""
        region_nodes = [n for n in NODES if n.region == slot.region]
        up = [n for n in region_nodes if not desired.node_down(n.name, n.region, n.zone)]
        if not up:
            return None
        preferred = region_nodes[slot.index % len(ZONES)]
        if preferred in up:
            return preferred
        load = {n.name: 0 for n in up}
        for other in self.slots.values():
            if other.alive and other.node is not None and other.node.name in load:
                load[other.node.name] += 1
        return min(up, key=lambda n: (load[n.name], n.name))

    def _start(self, slot: Slot, node: Node) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{slot.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        slot.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "drillkit.sandbox.orders_service",
                "--state",
                str(self.layout.root),
                "--name",
                slot.name,
                "--region",
                slot.region,
                "--zone",
                node.zone,
                "--node",
                node.name,
                "--port",
                str(slot.port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        slot.node = node
        slot.dead_since = None
        slot.ready = False

    def _stop(self, slot: Slot, *, kill: bool = False) -> None:
        process, slot.process, slot.ready = slot.process, None, False
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _port(self, region: str, index: int) -> int:
        return self.config.https_port + 100 + REGIONS.index(region) * 50 + index

    # --- Readiness ----------------------------------------------------------------------------

    def check_readiness(self) -> None:
        context = ssl.create_default_context(cafile=str(self.layout.root / "ca" / "ca.pem"))
        while not self.stopping.is_set():
            with self.lock:
                live = [slot for slot in self.slots.values() if slot.alive]
            for slot in live:
                ready = _ready(slot.port, context)
                with self.lock:
                    slot.ready = ready and slot.alive
            self.stopping.wait(0.1)

    def ready_ports(self, region: str) -> list[int]:
        with self.lock:
            return [
                s.port for s in self.slots.values() if s.region == region and s.ready and s.alive
            ]

    # --- Publishing ---------------------------------------------------------------------------

    def _publish(self, desired: DesiredState) -> None:
        if not desired.namespace_present:
            document = "absent"
            if document != self._published:
                path = self.layout.workloads / NAMESPACE / f"{WORKLOAD}.json"
                path.unlink(missing_ok=True)
        else:
            with self.lock:
                live_regions = [r for r in REGIONS if r not in desired.down_regions]
                slots = sorted(
                    (s for s in self.slots.values() if s.region in live_regions),
                    key=lambda s: (REGIONS.index(s.region), s.index),
                )
                workload = Workload(
                    name=WORKLOAD,
                    namespace=NAMESPACE,
                    desired=sum(self._wanted(desired, r) for r in live_regions),
                    labels={"app": WORKLOAD},
                    replicas=tuple(
                        Replica(
                            name=s.name,
                            pid=s.process.pid if s.alive and s.process else None,
                            node=s.node.name if s.node else "",
                            zone=s.node.zone if s.node else "",
                            region=s.region,
                            ready=s.ready,
                        )
                        for s in slots
                    ),
                )
            document = json.dumps(vars(workload), default=vars, sort_keys=True)
            if document != self._published:
                self.workloads.save(workload)
        self._published = document

    # --- Life ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.stopping.set()
        with self.lock:
            slots = list(self.slots.values())
        for slot in slots:
            if slot.alive and slot.process is not None:
                slot.process.terminate()
        deadline = time.monotonic() + 3
        for slot in slots:
            if slot.process is not None:
                try:
                    slot.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    slot.process.kill()
                    slot.process.wait()


def _ready(port: int, context: ssl.SSLContext) -> bool:
    connection = http.client.HTTPSConnection("localhost", port, timeout=0.5, context=context)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _every(
    seconds: float, stopping: threading.Event, action: object, name: str
) -> threading.Thread:
    def loop() -> None:
        while not stopping.wait(seconds):
            try:
                action()  # type: ignore[operator]
            except Exception as exc:  # keep the sandbox up; the log says what failed
                print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def run(layout: SandboxLayout) -> int:
    config = SandboxConfig.from_json(read_json(layout.root / "config.json"))
    supervisor = Supervisor(layout, config)
    dns = SandboxDnsServer(layout, config.dns_port, config.dns_ttl_seconds)
    edge = Edge(config.https_port, RegionLookup(config.dns_port), supervisor.ready_ports)
    dns.start()
    edge.start()
    edge.started.wait(5)
    if edge.error is not None:
        print(
            f"edge: cannot listen on 127.0.0.1:{config.https_port}: {edge.error}", file=sys.stderr
        )
        dns.stop()
        return 1

    def stop(signum: int, frame: FrameType | None) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shipper = Shipper(layout)

    def ship() -> None:
        desired = read_desired(layout)
        source = desired.active_region
        others = [r for r in REGIONS if r != source and r not in desired.down_regions]
        if desired.namespace_present and source not in desired.down_regions:
            for target in others:
                shipper.ship_once(source, target, desired.generation)

    def backup() -> None:
        desired = read_desired(layout)
        if desired.namespace_present and desired.active_region not in desired.down_regions:
            take_backup(layout, desired.active_region)

    threading.Thread(target=supervisor.check_readiness, name="readiness", daemon=True).start()
    _every(config.shipping_interval_seconds, supervisor.stopping, ship, "shipping")
    _every(config.backup_interval_seconds, supervisor.stopping, backup, "backups")
    truth = TruthRecorder(layout, config.https_port)
    truth.start()
    heartbeat = layout.root / "supervisor.json"
    last_beat = 0.0
    while not supervisor.stopping.is_set():
        try:
            supervisor.reconcile()
        except Exception as exc:  # never die on one bad tick; the log says why
            print(f"reconcile: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        if time.monotonic() - last_beat > 1:
            last_beat = time.monotonic()
            write_json_atomically(
                heartbeat,
                {
                    "pid": os.getpid(),
                    "beatAt": time.time(),
                    "dnsQueries": dns.queries,
                    "shipped": shipper.shipped,
                    "available": truth.available,
                },
            )
        supervisor.stopping.wait(TICK_SECONDS)
    truth.stopping.set()
    supervisor.shutdown()
    edge.stop()
    dns.stop()
    heartbeat.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drillkit-sandbox-supervisor")
    parser.add_argument("--state", required=True, type=Path)
    args = parser.parse_args(argv)
    return run(SandboxLayout(args.state))


if __name__ == "__main__":
    sys.exit(main())
