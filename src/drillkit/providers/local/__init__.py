"""The ``local`` provider: drills against the sandbox, with real processes and real data.

Faults change the sandbox's desired state (``desired.json``) and kill the
processes they take away; the sandbox's supervisor does the rest, as a
cluster's controllers would. Every undo record carries the sandbox's state
folder, so ``drill recover`` reverts in a new process without guessing.
Probes on the sandbox trust its certificate authority and reach its DNS name
on loopback (``network.py``); the platform-backed probes read the sandbox's
own secret store, workload records, backup catalog and access policy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from drillkit.providers.base import CanaryHandler, JsonDict, ProbeHandler, Provider
from drillkit.providers.registry import PROVIDERS
from drillkit.providers.sources import AccessSource, BackupSource, SecretSource, WorkloadSource
from drillkit.sandbox.access_policy import SandboxAccessPolicy
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.control import SandboxControl
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.workload_status import SandboxWorkloads


class LocalProvider(Provider):
    name = "local"

    @property
    def layout(self) -> SandboxLayout:
        settings = self.target.sandbox
        if settings is not None and settings.state_dir:
            return SandboxLayout(Path(settings.state_dir).expanduser())
        return SandboxLayout.default()

    def ensure_running(self, say: Callable[[str], None]) -> None:
        SandboxControl(self.layout).up(say)

    def open(self) -> None:
        SandboxControl(self.layout).up()

    def identity(self) -> JsonDict:
        control = SandboxControl(self.layout)
        return {
            "provider": self.name,
            "target": self.target_name,
            "cluster": "drillkit-sandbox",
            "stateDir": str(self.layout.root),
            "regions": ["primary", "standby"],
            "dnsPort": control.config.dns_port,
            "httpsPort": control.config.https_port,
        }

    def probe_handler(self, kind: str) -> ProbeHandler[Any] | None:
        from drillkit.providers.local.network import trusting_probe

        handler = super().probe_handler(kind)
        return None if handler is None else trusting_probe(handler, self.layout)

    def canary_handler(self, kind: str) -> CanaryHandler[Any] | None:
        from drillkit.providers.local.network import TrustingCanary

        handler = super().canary_handler(kind)
        return None if handler is None else TrustingCanary(handler, self.layout)

    def secret_source(self, source: str) -> SecretSource | None:
        return SandboxSecretStore(self.layout) if source in ("target", "sandbox") else None

    def workload_source(self) -> WorkloadSource | None:
        return SandboxWorkloads(self.layout)

    def backup_source(self) -> BackupSource | None:
        return SandboxBackupCatalog(self.layout)

    def access_source(self) -> AccessSource | None:
        return SandboxAccessPolicy(self.layout)


PROVIDERS.register(LocalProvider)

# Handlers register themselves on LocalProvider when imported.
import drillkit.providers.local.faults  # noqa: E402
import drillkit.providers.local.restores  # noqa: E402, F401
