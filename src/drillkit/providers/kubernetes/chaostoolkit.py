"""The ``chaostoolkit`` fault: a Chaos Toolkit experiment's method (or one activity) as the
fault, run through chaoslib against the target's cluster.

The experiment is the one resolved and digested with the drill (attached at
plan time), so what runs is what was locked. Only the method runs as the
fault: the steady-state hypothesis is the drill's own probes' job, and the
experiment's rollbacks are the fault's undo, kept in the undo record so
``drill recover`` can run them from a new process. chaosk8s activities find the
cluster through ``KUBECONFIG`` and ``KUBERNETES_CONTEXT`` (and the client's
default kubeconfig path), set to the target's while chaoslib runs, one
experiment at a time. The Chaos Toolkit journal is kept in the run's journal
(cut short) for the evidence.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.spec.faults import ChaosToolkit

JOURNAL_LIMIT = 20_000
_ENVIRONMENT = threading.Lock()
"""chaosk8s reads the process environment; one experiment at a time sets it."""


@KubernetesProvider.fault("chaostoolkit")
class ChaosToolkitHandler:
    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider

    def impact(self, intent: ChaosToolkit) -> Impact:
        method, _, title = self._parts(intent)
        return Impact(
            tuple(Touched("chaostoolkit", f"{title}: {a.get('name', '?')}", "run") for a in method)
        )

    def prepare(self, intent: ChaosToolkit, ctx: StepContext) -> JsonDict:
        _, rollbacks, title = self._parts(intent)
        return {
            "title": title,
            "rollbacks": rollbacks if intent.rollbacks else [],
            "configuration": (intent.document or {}).get("configuration") or {},
        }

    def apply(self, intent: ChaosToolkit, undo: JsonDict, ctx: StepContext) -> JsonDict:
        method, _, title = self._parts(intent)
        experiment = {
            "title": title,
            "description": "the fault of a drillkit drill",
            "configuration": undo["configuration"],
            "method": method,
        }
        journal = self._run(experiment)
        ctx.note("chaostoolkit-journal", journal=_trim(journal))
        failed = [
            r["activity"]["name"] for r in journal.get("run", []) if r.get("status") != "succeeded"
        ]
        if journal.get("status") != "completed" or failed:
            raise PermanentError(
                f"Chaos Toolkit experiment `{title}` ended {journal.get('status')}"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
                fix="run it with `chaos run` to see its full output",
            )
        return {"status": journal.get("status"), "activities": len(journal.get("run", []))}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        rollbacks = undo.get("rollbacks") or []
        if not rollbacks:
            return {"rollbacks": 0}
        experiment = {
            "title": f"{undo['title']} (rollbacks)",
            "description": "the rollbacks of a drillkit drill's fault",
            "configuration": undo.get("configuration") or {},
            "method": [],
            "rollbacks": rollbacks,
        }
        journal = self._run(experiment)
        ctx.note("chaostoolkit-rollbacks", journal=_trim(journal))
        failed = [
            r["activity"]["name"]
            for r in journal.get("rollbacks", [])
            if r.get("status") != "succeeded"
        ]
        if failed:
            raise PermanentError(f"Chaos Toolkit rollbacks failed: {', '.join(failed)}")
        return {"rollbacks": len(rollbacks)}

    def _parts(self, intent: ChaosToolkit) -> tuple[list[Any], list[Any], str]:
        if intent.activity is not None:
            activity = intent.activity.model_dump(mode="json")
            return [activity], [], str(activity["name"])
        document = intent.document
        if document is None:
            raise PermanentError(
                f"the experiment {intent.experiment} was not attached to the plan",
                fix="run the drill through `drill run` (the plan resolves the experiment)",
            )
        return (
            list(document.get("method") or []),
            list(document.get("rollbacks") or []),
            str(document.get("title", intent.experiment)),
        )

    def _run(self, experiment: dict[str, Any]) -> dict[str, Any]:
        from chaoslib.experiment import run_experiment

        with self._cluster_environment(), _without_chaoslib_signal_handlers():
            journal: dict[str, Any] = run_experiment(experiment, settings={})
        return journal

    @contextmanager
    def _cluster_environment(self) -> Iterator[None]:
        settings = self.provider.settings
        wanted = {
            "KUBECONFIG": os.path.expanduser(settings.kubeconfig) if settings.kubeconfig else None,
            "KUBERNETES_CONTEXT": settings.context,
        }
        from kubernetes.config import kube_config

        with _ENVIRONMENT:
            saved = {name: os.environ.get(name) for name in wanted}
            # The client read $KUBECONFIG into its default path when it was imported;
            # chaosk8s loads the default path, so point that at the target's file too.
            default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
            for name, value in wanted.items():
                if value is not None:
                    os.environ[name] = value
            if wanted["KUBECONFIG"] is not None:
                kube_config.KUBE_CONFIG_DEFAULT_LOCATION = wanted["KUBECONFIG"]
            try:
                yield
            finally:
                kube_config.KUBE_CONFIG_DEFAULT_LOCATION = default
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value


@contextmanager
def _without_chaoslib_signal_handlers() -> Iterator[None]:
    """chaoslib installs SIGTERM/SIGUSR handlers around a run, which Python allows only in
    the main thread; the runner runs steps in worker threads, and it handles SIGTERM itself
    (undoing every fault). So chaoslib's handlers are left out while it runs here; callers
    hold ``_ENVIRONMENT``, so one experiment at a time swaps them."""
    import chaoslib.run

    if threading.current_thread() is threading.main_thread():
        yield
        return
    original = chaoslib.run.exit_signals
    chaoslib.run.exit_signals = contextlib.nullcontext
    try:
        yield
    finally:
        chaoslib.run.exit_signals = original


def _trim(journal: dict[str, Any]) -> Any:
    """The Chaos Toolkit journal for the evidence, cut to a size a journal line can carry."""
    text = json.dumps(journal, default=str)
    if len(text) <= JOURNAL_LIMIT:
        return json.loads(text)
    return {"status": journal.get("status"), "truncated": True, "head": text[:JOURNAL_LIMIT]}
