"""Test controllers that make the emulated cluster behave: one background thread, level-triggered.

``Controllers`` runs the workload controller (Deployments, ReplicaSets,
StatefulSets, scheduler, kubelets, taint manager; see ``workloads``) and the
miniature Velero (see ``velero``) against a store. A pass runs whenever the
store changed or a controller has a timer running, so a quiet cluster costs
nothing. They write through the store's own operations, so every change they
make has a resourceVersion and reaches watchers, exactly like a client's.
``wait_idle`` lets a test wait until the cluster has settled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from tests.support.kube.store import ResourceStore
from tests.support.kube.velero import VeleroController, VeleroSettings
from tests.support.kube.workloads import WorkloadController, WorkloadTiming

log = logging.getLogger(__name__)
_DEFAULT_TIMING = WorkloadTiming()


class Reconciler(Protocol):
    def reconcile(self) -> None: ...

    def due(self) -> bool: ...


class Controllers:
    """The running controllers of one store; a context manager, or ``start``/``stop``."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        workloads: WorkloadTiming | None = _DEFAULT_TIMING,
        velero: VeleroSettings | None = None,
        tick: float = 0.01,
    ) -> None:
        """``workloads=None`` leaves workloads alone; ``velero=None`` runs Velero with defaults."""
        self.store = store
        self.workloads = WorkloadController(store, workloads) if workloads is not None else None
        self.velero = VeleroController(store, velero or VeleroSettings())
        self._all: list[Reconciler] = [c for c in (self.workloads, self.velero) if c is not None]
        self._tick = tick
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def start(self) -> Controllers:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kube-controllers", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Controllers:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        seen = -1
        while not self._stop.is_set():
            before = self.store.revision
            if before != seen or any(c.due() for c in self._all):
                self._idle.clear()
                for controller in self._all:
                    try:
                        controller.reconcile()
                    except Exception as error:  # keep the cluster running; tests read .errors
                        log.exception("controller pass failed")
                        self.errors.append(error)
                seen = before
                if self.store.revision == before and not any(c.due() for c in self._all):
                    self._idle.set()
            else:
                self._idle.set()
            self._stop.wait(self._tick)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Return once a pass changed nothing and no timer runs; ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        revision = -1
        while time.monotonic() < deadline:
            self._idle.clear()
            if (
                self._idle.wait(max(0.0, deadline - time.monotonic()))
                and self.store.revision == revision
            ):
                return
            revision = self.store.revision
        raise TimeoutError(f"the controllers did not settle within {timeout} s")


def wait_for(condition: Callable[[], object], timeout: float = 5.0, every: float = 0.01) -> object:
    """Poll ``condition`` until it returns something truthy; ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(every)
