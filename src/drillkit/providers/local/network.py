"""Probes on the sandbox trust its CA and reach its DNS name on loopback.

The sandbox's certificate comes from its own authority, and its DNS name
resolves only through its own DNS server, so the generic probes get two
defaults here: the sandbox CA as ``caBundle`` wherever a probe gives none, and
``address: 127.0.0.1`` for a ``tls`` probe of the sandbox's name (SNI and the
name check still use the name, like curl's ``--resolve``). The drill files
stay target-neutral; nothing a probe states explicitly is overridden.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from drillkit.providers.base import ProbeHandler, ProbeResult, StepContext
from drillkit.sandbox.control import ca_bundle
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.topology import DNS_NAME
from drillkit.spec.probes import (
    HttpProbe,
    RoutingProbe,
    RpoCanaryProbe,
    TlsClientSettings,
    TlsProbe,
)


def with_sandbox_network(intent: BaseModel, layout: SandboxLayout) -> Any:
    ca = str(ca_bundle(layout))
    if isinstance(intent, HttpProbe | RoutingProbe):
        return intent.model_copy(update={"tls": _trusting(intent.tls, ca)})
    if isinstance(intent, TlsProbe):
        update: dict[str, Any] = {}
        if intent.ca_bundle is None:
            update["ca_bundle"] = ca
        if intent.address is None and intent.host == DNS_NAME:
            update["address"] = "127.0.0.1"
        return intent.model_copy(update=update)
    if isinstance(intent, RpoCanaryProbe) and intent.http is not None:
        http = intent.http.model_copy(update={"tls": _trusting(intent.http.tls, ca)})
        return intent.model_copy(update={"http": http})
    return intent


def _trusting(settings: TlsClientSettings, ca: str) -> TlsClientSettings:
    if not settings.verify or settings.ca_bundle is not None:
        return settings
    return settings.model_copy(update={"ca_bundle": ca})


class TrustingProbe:
    def __init__(self, inner: ProbeHandler[Any], layout: SandboxLayout) -> None:
        self.inner = inner
        self.layout = layout

    def measure(self, intent: Any, ctx: StepContext) -> ProbeResult:
        return self.inner.measure(with_sandbox_network(intent, self.layout), ctx)


class TrustingAsyncProbe(TrustingProbe):
    """The same, for handlers that can also measure on an event loop."""

    async def measure_async(self, intent: Any, ctx: StepContext) -> ProbeResult:
        result: ProbeResult = await self.inner.measure_async(  # type: ignore[attr-defined]
            with_sandbox_network(intent, self.layout), ctx
        )
        return result

    async def aclose(self) -> None:
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()


def trusting_probe(inner: ProbeHandler[Any], layout: SandboxLayout) -> TrustingProbe:
    if hasattr(inner, "measure_async"):
        return TrustingAsyncProbe(inner, layout)
    return TrustingProbe(inner, layout)


class TrustingCanary:
    def __init__(self, inner: Any, layout: SandboxLayout) -> None:
        self.inner = inner
        self.layout = layout

    def write(self, intent: Any, run_id: str, seq: int, ctx: StepContext) -> None:
        self.inner.write(with_sandbox_network(intent, self.layout), run_id, seq, ctx)

    def read(self, intent: Any, run_id: str, ctx: StepContext) -> list[int]:
        seqs: list[int] = self.inner.read(with_sandbox_network(intent, self.layout), run_id, ctx)
        return seqs

    def cleanup(self, intent: Any, run_id: str, ctx: StepContext) -> None:
        self.inner.cleanup(with_sandbox_network(intent, self.layout), run_id, ctx)
