"""What a provider implements: handlers per fault, restore and probe kind, plus identity and lock.

A provider turns provider-neutral intents into platform calls. It does so
through small handler objects, one per kind, registered on the provider
class (``@LocalProvider.fault("pod-kill")``), so adding a kind is adding one
module and the engine never names a provider or a kind in an if/elif chain.

Fault handlers are built for write-ahead undo: ``prepare`` computes, before
anything changes, a JSON *undo record* holding the prior state; the engine
journals it; only then does ``apply`` change the platform. ``revert`` must work
from the undo record alone, in a new process (``drill recover``), and be
idempotent: reverting twice, or reverting a fault whose apply never ran or
only half ran, is harmless.
"""

from __future__ import annotations

import threading
from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel

from drillkit.errors import DrillError
from drillkit.spec.targets import Target

if TYPE_CHECKING:
    from drillkit.providers.sources import (
        AccessSource,
        BackupSource,
        SecretSource,
        WorkloadSource,
    )

IntentT_contra = TypeVar("IntentT_contra", bound=BaseModel, contravariant=True)
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Touched:
    """One concrete platform object a step will touch."""

    kind: str
    """``pod``, ``node``, ``zone``, ``region``, ``namespace``, ``subnet``, ``dns-record``..."""
    name: str
    action: str = ""


@dataclass(frozen=True)
class Impact:
    """What a step will touch, as the provider sees the target right now."""

    touched: tuple[Touched, ...] = ()
    notes: tuple[str, ...] = ()

    def count(self, kind: str) -> int:
        return len({t.name for t in self.touched if t.kind == kind})


@dataclass(frozen=True)
class ProbeResult:
    """One measurement. ``values`` must never hold a secret: digests only."""

    ok: bool
    summary: str
    values: JsonDict = field(default_factory=dict)
    latency_ms: float | None = None


class StepContext(Protocol):
    """What a handler may use while it works."""

    run_id: str
    step: str
    cancelled: threading.Event

    @property
    def fault_started_at(self) -> datetime | None:
        """Wall-clock UTC moment the run's first fault counted as applied; None before it."""

    def note(self, event: str, **data: Any) -> None:
        """Journal a platform call or observation (never a secret)."""

    def remaining(self) -> float:
        """Seconds left before the step's timeout or the run's deadline."""


class FaultHandler(Protocol[IntentT_contra]):
    def impact(self, intent: IntentT_contra) -> Impact: ...

    def prepare(self, intent: IntentT_contra, ctx: StepContext) -> JsonDict:
        """The undo record: prior state and everything ``revert`` needs. Changes nothing."""

    def apply(self, intent: IntentT_contra, undo: JsonDict, ctx: StepContext) -> JsonDict: ...

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict: ...


class RestoreHandler(Protocol[IntentT_contra]):
    def impact(self, intent: IntentT_contra) -> Impact: ...

    def run(self, intent: IntentT_contra, ctx: StepContext) -> JsonDict: ...


class ProbeHandler(Protocol[IntentT_contra]):
    def measure(self, intent: IntentT_contra, ctx: StepContext) -> ProbeResult: ...


class CanaryHandler(Protocol[IntentT_contra]):
    """The provider half of the RPO canary: sequenced records written through the service.

    ``write`` returns only when the service acknowledged the record (raise on
    failure); ``read`` returns the sequence numbers that survived; ``cleanup``
    removes this run's records. Records are tagged with the run id.
    """

    def write(self, intent: IntentT_contra, run_id: str, seq: int, ctx: StepContext) -> None: ...

    def read(self, intent: IntentT_contra, run_id: str, ctx: StepContext) -> list[int]: ...

    def cleanup(self, intent: IntentT_contra, run_id: str, ctx: StepContext) -> None: ...


class LockHeld(DrillError):
    """Another run holds the target's lock."""


class TargetLock(Protocol):
    """Held for the whole run; stops a second drill on the same target."""

    def release(self) -> None: ...

    def describe(self) -> JsonDict: ...


HandlerT = TypeVar("HandlerT")


class HandlerTable(Generic[HandlerT]):
    """kind -> handler factory for one provider class; refuses duplicates.

    A factory may return None to decline: a generic probe whose provider has
    no source for it (no secret store, say) is then unsupported, and preflight
    says so before anything changes.
    """

    def __init__(self, role: str) -> None:
        self.role = role
        self._factories: dict[str, Callable[[Any], HandlerT | None]] = {}

    def register(self, kind: str, factory: Callable[[Any], HandlerT | None]) -> None:
        if kind in self._factories:
            raise ValueError(f"{self.role} handler for `{kind}` is already registered")
        self._factories[kind] = factory

    def create(self, kind: str, provider: Any) -> HandlerT | None:
        factory = self._factories.get(kind)
        return factory(provider) if factory is not None else None

    def kinds(self) -> list[str]:
        return sorted(self._factories)


class Provider(ABC):
    """Base of every provider. Subclasses get their own handler tables."""

    name: ClassVar[str]
    faults: ClassVar[HandlerTable[FaultHandler[Any]]]
    restores: ClassVar[HandlerTable[RestoreHandler[Any]]]
    probes: ClassVar[HandlerTable[ProbeHandler[Any]]]
    canaries: ClassVar[HandlerTable[CanaryHandler[Any]]]
    inherits_handlers: ClassVar[bool] = False
    """Set True on a provider that extends another's handlers (eks and aks extend kubernetes)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.faults = HandlerTable("fault")
        cls.restores = HandlerTable("restore")
        cls.probes = HandlerTable("probe")
        cls.canaries = HandlerTable("canary")

    def __init__(self, target_name: str, target: Target) -> None:
        self.target_name = target_name
        self.target = target

    # Registration decorators, used by the modules that implement each kind.
    @classmethod
    def fault(cls, kind: str) -> Callable[[type[Any]], type[Any]]:
        def register(handler: type[Any]) -> type[Any]:
            cls.faults.register(kind, handler)
            return handler

        return register

    @classmethod
    def restore(cls, kind: str) -> Callable[[type[Any]], type[Any]]:
        def register(handler: type[Any]) -> type[Any]:
            cls.restores.register(kind, handler)
            return handler

        return register

    @classmethod
    def probe(cls, kind: str) -> Callable[[type[Any]], type[Any]]:
        def register(handler: type[Any]) -> type[Any]:
            cls.probes.register(kind, handler)
            return handler

        return register

    @classmethod
    def canary(cls, kind: str) -> Callable[[type[Any]], type[Any]]:
        def register(handler: type[Any]) -> type[Any]:
            cls.canaries.register(kind, handler)
            return handler

        return register

    def _own(self, table: str, kind: str) -> Any:
        """This class's handler for ``kind``, else (when the class says it inherits handlers)
        the nearest base provider's.

        A cloud provider (eks, aks) subclasses the kubernetes provider with
        ``inherits_handlers = True`` and registers only what it does
        differently. Inheriting is opt-in, so a subclass made to replace a
        handler set never picks up its parent's by accident.
        """
        for klass in self._handler_classes():
            handlers = klass.__dict__.get(table)
            if isinstance(handlers, HandlerTable):
                found = handlers.create(kind, self)
                if found is not None:
                    return found
        return None

    @classmethod
    def _handler_classes(cls) -> list[type]:
        """This class, then its bases for as long as each class says it inherits handlers."""
        chain: list[type] = []
        for klass in cls.__mro__:
            chain.append(klass)
            if not klass.__dict__.get("inherits_handlers", False):
                break
        return chain

    @classmethod
    def kinds(cls, table: str) -> list[str]:
        """Every kind ``table`` (``faults``, ``restores``, ``probes``) has, inherited ones too."""
        found: set[str] = set()
        for klass in cls._handler_classes():
            handlers = klass.__dict__.get(table)
            if isinstance(handlers, HandlerTable):
                found.update(handlers.kinds())
        return sorted(found)

    def canary_handler(self, kind: str) -> CanaryHandler[Any] | None:
        own: CanaryHandler[Any] | None = self._own("canaries", kind)
        if own is not None:
            return own
        from drillkit.probes.registry import canary_for

        return canary_for(kind, self)

    def fault_handler(self, kind: str) -> FaultHandler[Any] | None:
        found: FaultHandler[Any] | None = self._own("faults", kind)
        return found

    def restore_handler(self, kind: str) -> RestoreHandler[Any] | None:
        found: RestoreHandler[Any] | None = self._own("restores", kind)
        return found

    def probe_handler(self, kind: str) -> ProbeHandler[Any] | None:
        """The provider's own handler for ``kind``, else the generic one (http, tls, ...)."""
        own: ProbeHandler[Any] | None = self._own("probes", kind)
        if own is not None:
            return own
        from drillkit.probes.registry import probe_for

        return probe_for(kind, self)

    # Sources for the platform-backed generic probes; None: this provider has none yet.
    def secret_source(self, source: str) -> SecretSource | None:
        """The store a ``secret`` probe reads; ``source`` is ``target`` (the provider's own
        store) or a named one (``kubernetes``, ``aws-secrets-manager``, ``sandbox``...)."""
        return None

    def workload_source(self) -> WorkloadSource | None:
        return None

    def backup_source(self) -> BackupSource | None:
        return None

    def access_source(self) -> AccessSource | None:
        return None

    def ensure_running(self, say: Callable[[str], None]) -> None:  # noqa: B027
        """Start what the target needs before a run, telling the operator (the sandbox)."""

    def open(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Connect (and start what the target needs); called once before any handler."""

    def close(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Disconnect; called on every exit path."""

    def identity(self) -> JsonDict:
        """Who and what the run acts on (cluster identity, caller identity) for the evidence."""
        return {"provider": self.name, "target": self.target_name}

    def acquire_lock(self, run_id: str, holder: JsonDict, ttl_seconds: float) -> TargetLock:
        """Default: an exclusive file lock under the user's state directory."""
        from drillkit.providers.file_lock import FileLock

        return FileLock.acquire(self.target_name, run_id, holder, ttl_seconds)
