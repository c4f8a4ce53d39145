"""The generic RPO canary: one handler for ``rpo-canary`` that hands each call to its channel.

An ``rpo-canary`` probe names exactly one channel: ``http`` (records written
through the service's own API, ``canary_http``) or ``database`` (rows written
straight into SQLite or PostgreSQL, ``canary_database``). The engine asks the
provider for one canary handler per kind; this is it for every provider that
has no canary of its own. Each channel is imported and built on first use,
so an HTTP-only run never imports SQLAlchemy, and ``close`` releases the
connections of whichever channels were used.
"""

from __future__ import annotations

import threading
from typing import Any, Literal, Protocol

from drillkit.probes.registry import generic_canary
from drillkit.providers.base import StepContext
from drillkit.spec.probes import RpoCanaryProbe

ChannelName = Literal["http", "database"]


class CanaryChannel(Protocol):
    """One way of writing canary records; the same calls as a canary handler, plus ``close``."""

    def write(self, intent: RpoCanaryProbe, run_id: str, seq: int, ctx: StepContext) -> None: ...

    def read(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> list[int]: ...

    def cleanup(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> None: ...

    def close(self) -> None: ...


@generic_canary("rpo-canary")
class RpoCanaryHandler:
    """Dispatches to the intent's channel; safe to share between the writer and the engine."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._channels: dict[ChannelName, CanaryChannel] = {}

    def write(self, intent: RpoCanaryProbe, run_id: str, seq: int, ctx: StepContext) -> None:
        self._channel(intent).write(intent, run_id, seq, ctx)

    def read(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> list[int]:
        return self._channel(intent).read(intent, run_id, ctx)

    def cleanup(self, intent: RpoCanaryProbe, run_id: str, ctx: StepContext) -> None:
        self._channel(intent).cleanup(intent, run_id, ctx)

    def close(self) -> None:
        """Release every channel's connections; a later call opens them again."""
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()

    def _channel(self, intent: RpoCanaryProbe) -> CanaryChannel:
        name: ChannelName = "http" if intent.http is not None else "database"
        with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                channel = _open(name)
                self._channels[name] = channel
            return channel


def _open(name: ChannelName) -> CanaryChannel:
    """Import the channel's module now: its client library loads only when it is used."""
    if name == "http":
        from drillkit.probes.canary_http import HttpCanaryChannel

        return HttpCanaryChannel()
    from drillkit.probes.canary_database import DatabaseCanaryChannel

    return DatabaseCanaryChannel()
