"""Start, stop and inspect the sandbox: what ``drill sandbox up|down|status`` and the
``local`` provider call.

``up`` prepares the state folder once (certificate authority, secrets, access
policy, stores, a first backup) and keeps whatever is already there, so faults
left by a crashed run stay visible until ``drill recover`` undoes them. Then it
starts the supervisor detached and waits until the service answers through the
edge. ``down`` stops every sandbox process, found by command line rather than
trusted pid files, and proves none is left.
"""

from __future__ import annotations

import http.client
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from drillkit.errors import DrillError
from drillkit.sandbox import store
from drillkit.sandbox.access_policy import SandboxAccessPolicy
from drillkit.sandbox.authority import create_authority
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.backup_schedule import take_backup
from drillkit.sandbox.desired_state import DesiredState, change_desired, read_desired
from drillkit.sandbox.layout import SandboxLayout, read_json, write_json_atomically
from drillkit.sandbox.processes import alive, sandbox_pids, terminate
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.topology import (
    DNS_NAME,
    NAMESPACE,
    REGION_ADDRESSES,
    REGIONS,
    SCHEDULE,
    SECRET,
    WORKLOAD,
    SandboxConfig,
)
from drillkit.sandbox.workload_status import SandboxWorkloads

Say = Callable[[str], None]
START_TIMEOUT_SECONDS = 30.0
ACCESS_POLICY = {
    "groups": {
        "orders-oncall": {
            "members": [],
            "rules": [
                {
                    "verbs": ["create", "get", "list"],
                    "resources": ["restores", "backups"],
                    "groups": ["velero.io"],
                    "namespaces": ["velero"],
                },
                {
                    "verbs": ["get", "list", "patch", "update"],
                    "resources": ["deployments", "deployments/scale"],
                    "groups": ["apps"],
                    "namespaces": [NAMESPACE],
                },
            ],
        }
    }
}


class SandboxError(DrillError):
    """The sandbox could not start or stop."""


@dataclass(frozen=True)
class Component:
    name: str
    healthy: bool
    detail: str


@dataclass
class SandboxStatus:
    running: bool
    components: list[Component] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.running and all(c.healthy for c in self.components) and not self.faults


class SandboxControl:
    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout

    @property
    def config(self) -> SandboxConfig:
        path = self.layout.root / "config.json"
        return SandboxConfig.from_json(read_json(path)) if path.exists() else SandboxConfig()

    def running(self) -> bool:
        pid = self._supervisor_pid()
        return pid is not None and alive(pid) and pid in sandbox_pids(self.layout.root)

    # --- up -----------------------------------------------------------------------------------

    def up(self, say: Say = lambda _: None, config: SandboxConfig | None = None) -> bool:
        """Start the sandbox if it is not running; True when this call started it."""
        if self.running():
            return False
        self.prepare(config)
        leftovers = sandbox_pids(self.layout.root)
        if leftovers:
            terminate(leftovers)
        settings = self.config
        say(f"starting the sandbox in {self.layout.root}")
        logs = self.layout.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / "supervisor.log", "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drillkit.sandbox.supervisor",
                    "--state",
                    str(self.layout.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        (self.layout.root / "supervisor.pid").write_text(f"{process.pid}\n")
        self._wait_until_serving(process, settings, say)
        return True

    def prepare(self, config: SandboxConfig | None = None) -> None:
        """Create what a first start needs; keep everything that already exists."""
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        config_path = root / "config.json"
        if config is not None or not config_path.exists():
            write_json_atomically(config_path, (config or SandboxConfig()).to_json())
        settings = self.config
        if not (root / "ca" / "orders.pem").exists():
            create_authority(root / "ca", settings.certificate_days)
        fresh = not (root / "desired.json").exists()
        if fresh:
            with change_desired(self.layout) as desired:
                desired.replicas = dict(settings.replicas)
            secrets_store = SandboxSecretStore(self.layout)
            secrets_store.put(
                SECRET,
                {"username": b"orders", "password": secrets.token_urlsafe(24).encode()},
                namespace=NAMESPACE,
            )
            SandboxAccessPolicy(self.layout).save(ACCESS_POLICY)
            for region in REGIONS:
                with store.connect(store.store_path(root, region), create=True):
                    pass
            take_backup(self.layout, REGIONS[0])
        (root / "truth").mkdir(exist_ok=True)

    def _wait_until_serving(
        self, process: subprocess.Popen[bytes], settings: SandboxConfig, say: Say
    ) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        expect_service = read_desired(self.layout).faults == []
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxError(
                    f"the sandbox supervisor exited (code {process.returncode}) while starting: "
                    f"{self._log_tail()}",
                    fix=f"read {self.layout.root / 'logs' / 'supervisor.log'}; another program may "
                    f"use port {settings.https_port} or {settings.dns_port}",
                )
            if not expect_service and _dns_region(settings) is not None:
                say("sandbox started with faults still applied (run `drill recover`)")
                return
            if _service_ready(self.layout, settings):
                say(f"sandbox ready: https://localhost:{settings.https_port} ({DNS_NAME})")
                return
            time.sleep(0.1)
        terminate(sandbox_pids(self.layout.root))
        raise SandboxError(
            f"the sandbox did not become ready within {START_TIMEOUT_SECONDS:g}s: "
            f"{self._log_tail()}",
            fix=f"read the logs in {self.layout.root / 'logs'}",
        )

    # --- down ---------------------------------------------------------------------------------

    def down(self, say: Say = lambda _: None) -> list[int]:
        """Stop every sandbox process; returns the pids that were stopped."""
        pids = sandbox_pids(self.layout.root)
        supervisor = self._supervisor_pid()
        ordered = ([supervisor] if supervisor in pids else []) + [
            p for p in pids if p != supervisor
        ]
        if ordered:
            say(f"stopping {len(ordered)} sandbox processes")
            survivors = terminate(ordered)
            if survivors:
                raise SandboxError(f"sandbox processes {survivors} did not stop")
        (self.layout.root / "supervisor.pid").unlink(missing_ok=True)
        return ordered

    # --- status -------------------------------------------------------------------------------

    def status(self) -> SandboxStatus:
        if not (self.layout.root / "desired.json").exists():
            return SandboxStatus(
                False, [Component("sandbox", False, "never started (`drill sandbox up`)")]
            )
        settings = self.config
        desired = read_desired(self.layout)
        running = self.running()
        components = [
            Component(
                "supervisor", running, f"pid {self._supervisor_pid()}" if running else "not running"
            )
        ]
        if running:
            region = _dns_region(settings)
            components.append(
                Component(
                    "dns",
                    region is not None,
                    f"{DNS_NAME} -> {region} (127.0.0.1:{settings.dns_port})"
                    if region
                    else f"no answer on 127.0.0.1:{settings.dns_port}",
                )
            )
            serving = _service_ready(self.layout, settings)
            components.append(
                Component(
                    "orders service",
                    serving,
                    f"https://localhost:{settings.https_port}/readyz "
                    + ("answers ready" if serving else "does not answer ready"),
                )
            )
        components.append(self._replicas(desired))
        components.extend(self._stores())
        components.append(self._backups(settings))
        components.append(self._certificate())
        return SandboxStatus(running, components, desired.faults)

    def _replicas(self, desired: DesiredState) -> Component:
        workload = SandboxWorkloads(self.layout).load(NAMESPACE, WORKLOAD)
        if workload is None:
            return Component("replicas", False, f"{NAMESPACE}/{WORKLOAD} does not exist")
        from drillkit.sandbox.workload_status import process_alive

        ready = [r for r in workload.replicas if r.ready and process_alive(r.pid)]
        shown = ", ".join(f"{r.name}@{r.node}" for r in ready) or "none"
        return Component(
            "replicas",
            len(ready) >= workload.desired > 0,
            f"{len(ready)}/{workload.desired} ready: {shown}",
        )

    def _stores(self) -> list[Component]:
        found = []
        for region in REGIONS:
            path = store.store_path(self.layout.root, region)
            if not path.exists():
                found.append(Component(f"store {region}", False, "missing"))
                continue
            with store.connect(path) as connection:
                rows = connection.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            found.append(Component(f"store {region}", True, f"{rows} orders"))
        return found

    def _backups(self, settings: SandboxConfig) -> Component:
        newest = SandboxBackupCatalog(self.layout).newest_completed(SCHEDULE, [NAMESPACE])
        if newest is None or newest.completed_at is None:
            return Component("backups", False, f"no completed backup of {SCHEDULE}")
        age = (datetime.now(UTC) - newest.completed_at).total_seconds()
        fresh = age <= max(3 * settings.backup_interval_seconds, 60)
        return Component("backups", fresh, f"newest {newest.name}, {age:.0f}s old")

    def _certificate(self) -> Component:
        from cryptography import x509

        path = self.layout.root / "ca" / "orders.pem"
        if not path.exists():
            return Component("certificate", False, "missing")
        leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
        days = (leaf.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
        return Component("certificate", days > 0, f"{days:.1f} days left")

    # --- helpers ------------------------------------------------------------------------------

    def _supervisor_pid(self) -> int | None:
        try:
            return int((self.layout.root / "supervisor.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _log_tail(self) -> str:
        try:
            lines = (self.layout.root / "logs" / "supervisor.log").read_text().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(empty log)"


def _dns_region(settings: SandboxConfig) -> str | None:
    try:
        query = dns.message.make_query(DNS_NAME, dns.rdatatype.A)
        response = dns.query.udp(query, "127.0.0.1", port=settings.dns_port, timeout=0.5)
        address = response.answer[0][0].to_text()
    except Exception:
        return None
    return next((r for r, a in REGION_ADDRESSES.items() if a == address), None)


def _service_ready(layout: SandboxLayout, settings: SandboxConfig) -> bool:
    context = ssl.create_default_context(cafile=str(layout.root / "ca" / "ca.pem"))
    connection = http.client.HTTPSConnection(
        "localhost", settings.https_port, timeout=1.0, context=context
    )
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def ca_bundle(layout: SandboxLayout) -> Path:
    return layout.root / "ca" / "ca.pem"
