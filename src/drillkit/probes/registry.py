"""The generic probe registry: probe kinds every provider can use, found by kind.

A provider's own handler for a kind wins; otherwise ``Provider.probe_handler``
asks this registry. Each generic kind lives in its own module under
``drillkit.probes`` and is imported on first use, so a run that never probes
TLS never imports ``ssl`` helpers, and ``drill --help`` imports none of them.
"""

from __future__ import annotations

import importlib
from typing import Any

from drillkit.providers.base import CanaryHandler, HandlerTable, ProbeHandler

GENERIC_PROBES: HandlerTable[ProbeHandler[Any]] = HandlerTable("generic probe")
GENERIC_CANARIES: HandlerTable[CanaryHandler[Any]] = HandlerTable("generic canary")

MODULES: dict[str, str] = {
    "http": "drillkit.probes.http",
    "tls": "drillkit.probes.tls",
    "routing": "drillkit.probes.routing",
    "rpo-canary": "drillkit.probes.canary",
    "secret": "drillkit.probes.secret",
    "workload-ready": "drillkit.probes.workload_ready",
    "backup-age": "drillkit.probes.backup_age",
    "access": "drillkit.probes.access",
}
"""kind -> the module that registers it (imported on first use)."""


def generic_probe(kind: str) -> Any:
    """Class decorator: register a provider-independent probe handler for ``kind``."""

    def register(handler: type[Any]) -> type[Any]:
        GENERIC_PROBES.register(kind, handler)
        return handler

    return register


def generic_canary(kind: str) -> Any:
    """Class decorator: register a provider-independent canary handler for ``kind``."""

    def register(handler: type[Any]) -> type[Any]:
        GENERIC_CANARIES.register(kind, handler)
        return handler

    return register


def _load(kind: str) -> bool:
    """Import the module of ``kind``; False when it is not part of this installation."""
    module = MODULES.get(kind)
    if module is None:
        return False
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return False
        raise
    return True


def generic_kinds() -> list[str]:
    """The generic probe kinds (not canaries) available in this installation."""
    loaded = [kind for kind in MODULES if _load(kind)]
    return sorted(kind for kind in loaded if kind in GENERIC_PROBES.kinds())


def probe_for(kind: str, provider: Any) -> ProbeHandler[Any] | None:
    _load(kind)
    return GENERIC_PROBES.create(kind, provider)


def canary_for(kind: str, provider: Any) -> CanaryHandler[Any] | None:
    _load(kind)
    return GENERIC_CANARIES.create(kind, provider)
