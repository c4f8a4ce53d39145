"""The runner: one drill run on one target, phase by phase, undone on every exit path.

Phases: preflight -> guards -> lock -> baseline -> samplers -> steps -> verify
-> undo -> unlock -> measure -> evidence. Everything that happens is a journal
event first; the outcome is computed from the journal afterwards.

Safety rules this module keeps:
- a fault's undo record is journaled *before* the fault is applied, and the
  fault counts as applied from that moment, so a half-applied fault is undone;
- steps run in a worker thread while the main thread watches the step timeout,
  the run deadline, stop conditions and signals; whichever fires, the main
  thread goes to the undo phase (in ``finally``) and reverts every applied
  fault in reverse order, journaling each revert;
- nothing in the undo phase can be skipped by Ctrl-C (see ``interrupts``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel

from drillkit.engine.async_samplers import AsyncSampler, AsyncSamplerGroup, BoundProbe
from drillkit.engine.clock import Clock, SystemClock
from drillkit.engine.guards import enforce_guards
from drillkit.engine.interrupts import AbortSignal, InterruptGuard
from drillkit.engine.journal import JournalWriter
from drillkit.engine.measure import RunSummary, summarize
from drillkit.engine.plan import Plan, PlannedStep
from drillkit.engine.progress import Progress
from drillkit.engine.retry import MAX_ERROR_TEXT, call_with_journaled_retry
from drillkit.engine.rpo_canary import RpoCanary
from drillkit.engine.run_facts import os_user, run_facts
from drillkit.engine.run_id import new_run_id
from drillkit.engine.samplers import Sampler, SamplerSpec
from drillkit.engine.step_execution import AppliedFault, StepExecutor
from drillkit.engine.support import check_support, step_impacts
from drillkit.engine.undo import REVERT_BUDGET_SECONDS, revert_fault
from drillkit.errors import (
    DrillError,
    GuardRefused,
    ProbeFailed,
    RunAborted,
    StepFailed,
    StepTimeout,
)
from drillkit.providers.base import Provider, TargetLock
from drillkit.spec.probes import RpoCanaryProbe
from drillkit.spec.references import ProbeRef

_POLL_SECONDS = 0.02
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")


LOCK_RETRY_SECONDS = 60.0
"""How long transient failures to take (or give back) the target lock are retried."""
PREFLIGHT_RETRY_SECONDS = 60.0
"""How long transient failures of preflight's reads (identity, blast radius) are retried."""


@dataclass
class RunOptions:
    output_dir: Path
    yes: bool = False
    dry_run: bool = False
    operator: str = field(default_factory=os_user)
    undo_grace_seconds: float = 5.0
    lock_ttl_seconds: float = 3600.0
    evidence_signing: str | None = None
    """Journaled in ``run-started`` as ``evidenceSigning`` when set: the CLI records
    ``disabled (--no-sign)`` there, so the journal itself says its evidence is unsigned."""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    summary: RunSummary

    @property
    def exit_code(self) -> int:
        if self.summary.verdict == "refused":
            return 2
        return 0 if self.summary.verdict in ("passed", "dry-run") else 1


class StepContextImpl:
    """What a handler sees: the journal (for notes), the step's clock and cancellation."""

    def __init__(self, runner: Runner, step: str, deadline: float) -> None:
        self.run_id = runner.run_id
        self.step = step
        self.cancelled = threading.Event()
        self._runner = runner
        self._deadline = deadline

    @property
    def fault_started_at(self) -> datetime | None:
        return self._runner.fault_started_at

    def note(self, event: str, **data: Any) -> None:
        self._runner.journal.append("provider-call", self.step, call=event, **data)

    def remaining(self) -> float:
        return self._deadline - self._runner.clock.monotonic()


class Runner:
    """Runs one plan with one provider instance. Construct, then call ``run`` once."""

    def __init__(
        self,
        plan: Plan,
        provider: Provider,
        options: RunOptions,
        progress: Progress,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.plan = plan
        self.provider = provider
        self.options = options
        self.progress = progress
        self.clock = clock or SystemClock()
        self.abort = AbortSignal()
        self.run_id = new_run_id(self.clock.wall())
        self.run_dir = options.output_dir / plan.drill.name / self.run_id
        self.journal: JournalWriter
        self.applied: list[AppliedFault] = []
        self._applied_lock = threading.Lock()
        self._samplers: list[Sampler] = []
        self._sampler_group: AsyncSamplerGroup | None = None
        self._canary: RpoCanary | None = None
        self._lock: TargetLock | None = None
        self._straggler: concurrent.futures.Future[Any] | None = None
        self._fault_started: float | None = None
        self.fault_started_at: datetime | None = None
        """Wall clock of ``_fault_started``, for handlers comparing with platform timestamps."""
        self._streak = 0
        self._recovered = threading.Event()
        self._deadline = 0.0
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="drill-step")

    # ------------------------------------------------------------------ public
    def run(self) -> RunResult:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DrillError(
                f"cannot create the run folder {self.run_dir}: {exc.strerror}",
                fix="pass --output DIR with a writable folder (nothing was changed)",
            ) from None
        self.journal = JournalWriter(self.run_dir / "journal.jsonl", clock=self.clock)
        self._steps = StepExecutor(
            self.plan,
            self.provider,
            self.journal,
            self.clock,
            self.progress,
            yes=self.options.yes,
            on_fault_planned=self._fault_planned,
        )
        self._write_definition()
        started = self.clock.monotonic()
        self._deadline = started + self.plan.drill.drill.spec.safety.max_duration.total_seconds()
        facts = run_facts(
            self.plan,
            run_id=self.run_id,
            provider=self.provider.name,
            operator=self.options.operator,
            dry_run=self.options.dry_run,
            evidence_signing=self.options.evidence_signing,
        )
        self.journal.append("run-started", None, **facts)
        error: BaseException | None = None
        with InterruptGuard(self.abort, self._pending_undo, self.progress.warning):
            try:
                self._phases()
            except DrillError as exc:
                error = exc
                self.journal.tolerate_failures()  # a full disk must not stop the undo
                self._journal_error(exc)
            except Exception as exc:  # an internal error still ends in undo and a verdict
                error = exc
                self.journal.tolerate_failures()
                self._journal_error(exc)
            finally:
                self.journal.tolerate_failures()
                if self._canary is not None:
                    self._canary.stop()  # before undo, so undo cannot pass for recovery
                self._undo_everything()
                if self._canary is not None:
                    self._canary.finish()
                self._stop_samplers()
                self._release_lock()
                self._close_provider()
                self._worker.shutdown(wait=False)
        summary = self._measure()
        self.journal.append("run-ended", None, verdict=summary.verdict, summary=summary.to_json())
        self.journal.close()
        self._write_samples()
        self.progress.close()
        if self.journal.failure is not None:
            self._report_lost_journal(self.journal.failure)
        if error is not None and not isinstance(error, DrillError | KeyboardInterrupt):
            raise error
        return RunResult(self.run_id, self.run_dir, summary)

    def _report_lost_journal(self, failure: DrillError) -> NoReturn:
        """The journal failed mid-run: say what was still done, and that the record is short."""
        left = [f.fault_id for f in self.applied if not f.reverted]
        done = (
            f"undo failed for {', '.join(left)}; run `drill recover {self.run_id}` once the "
            "journal can be written"
            if left
            else "every applied fault was undone"
        )
        raise DrillError(
            f"{failure.message}; {done}, but {self.journal.dropped} event(s) after the failure "
            "are missing from the journal, so this run's evidence is incomplete",
            fix=failure.fix
            if left
            else "free disk space or choose another folder with "
            "--output DIR; `drill recover` would only repeat the undo, harmlessly",
        )

    # ------------------------------------------------------------------ phases
    def _phase(self, name: str) -> None:
        self.journal.append("phase", None, phase=name)
        self.progress.phase(name)

    def _phases(self) -> None:
        self._phase("preflight")
        # Preflight only reads the platform, so a busy control plane (429, 503, a reset) is
        # retried here as in the steps: one throttled read must not cost the drill before
        # anything was changed.
        self._preflight_read("open the provider", self.provider.open)
        check_support(self.plan, self.provider)
        identity = self._preflight_read("read the identity", self.provider.identity)
        self.journal.append("identity", None, **identity)
        impacts = self._preflight_read(
            "read what each step touches", lambda: step_impacts(self.plan, self.provider)
        )
        for item in impacts:
            for impact in item.impacts:
                self.journal.append(
                    "impact",
                    item.step.name,
                    touched=[
                        {"kind": t.kind, "name": t.name, "action": t.action} for t in impact.touched
                    ],
                    notes=list(impact.notes),
                )

        self._phase("guards")
        enforce_guards(
            self.plan, impacts, self.journal, yes=self.options.yes, confirm=self.progress.confirm
        )

        self._phase("lock")
        holder = {
            "user": self.options.operator,
            "host": socket.gethostname(),
            "drill": self.plan.drill.name,
        }
        # A busy control plane (429, 503, a reset) must not cost the drill: the lock is
        # retried like any platform call. A lock another run holds is not transient.
        self._lock = call_with_journaled_retry(
            lambda: self.provider.acquire_lock(self.run_id, holder, self.options.lock_ttl_seconds),
            journal=self.journal,
            step=None,
            what="acquire the target lock",
            budget_seconds=LOCK_RETRY_SECONDS,
        )
        self.journal.append("lock-acquired", None, **self._lock.describe())

        self._phase("baseline")
        self._baseline()
        if self.options.dry_run:
            self.journal.append("dry-run-complete", None)
            return

        self._phase("samplers")
        self._start_samplers()
        self._start_canary()

        self._phase("steps")
        total = len(self.plan.steps)
        for step in self.plan.steps:
            if self.abort.triggered:
                raise RunAborted(self.abort.reason or "aborted")
            self._run_step(step, total)

        self._phase("verify")
        self._verify()
        if self._canary is not None:
            self._canary.stop()
            self._canary.finish()

    def _preflight_read(self, what: str, call: Callable[[], T]) -> T:
        return call_with_journaled_retry(
            call,
            journal=self.journal,
            step=None,
            what=what,
            budget_seconds=PREFLIGHT_RETRY_SECONDS,
        )

    def _baseline(self) -> None:
        """The service must be healthy before anything is broken, or the drill proves nothing."""
        for spec in self._sampler_specs():
            result = spec.measure()
            self.journal.append(
                "baseline",
                None,
                sampler=spec.name,
                ok=result.ok,
                summary=result.summary[:MAX_ERROR_TEXT],
            )
            if not result.ok:
                raise GuardRefused(
                    f"refused: {spec.name} probe fails before any fault: {result.summary}",
                    fix="the service must be healthy before a drill; fix it or the probe first",
                )

    # ------------------------------------------------------------------ samplers
    def _sampler_specs(self) -> list[SamplerSpec]:
        drill = self.plan.drill
        measure = drill.drill.spec.measure
        specs = []
        if measure.rto is not None:
            specs.append(
                SamplerSpec(
                    "rto",
                    self._prober(drill.probe(measure.rto.probe), "rto"),
                    measure.rto.interval.total_seconds(),
                )
            )
        for condition in drill.drill.spec.safety.stop_conditions:
            specs.append(
                SamplerSpec(
                    f"stop:{condition.name}",
                    self._prober(drill.probe(condition.probe), f"stop:{condition.name}"),
                    condition.interval.total_seconds(),
                    condition.failing_for.total_seconds(),
                )
            )
        return specs

    def _bind(self, intent: ModelT, where: str) -> ModelT:
        from drillkit.spec.binding import bind

        return bind(
            intent,
            self.plan.target.variables,
            target=self.plan.target_name,
            where=f"{self.plan.drill.source.display}: {where}",
        )

    def _prober(self, intent: BaseModel, where: str) -> BoundProbe:
        bound = self._bind(intent, where)
        handler = self.provider.probe_handler(str(getattr(bound, "type", "")))
        assert handler is not None  # check_support ran in preflight
        return BoundProbe(handler, bound, StepContextImpl(self, where, self._deadline))

    def _start_samplers(self) -> None:
        """Probes that can measure on an event loop share one thread; the others get their own."""
        group = AsyncSamplerGroup(self.journal, self.clock, self.abort, self._on_sample)
        for spec in self._sampler_specs():
            probe = spec.measure
            if isinstance(probe, BoundProbe) and probe.asynchronous:
                group.add(spec, probe)
            else:
                sampler = Sampler(spec, self.journal, self.clock, self.abort, self._on_sample)
                self._samplers.append(sampler)
                sampler.start()
            self.journal.append(
                "sampler-started", None, sampler=spec.name, intervalSeconds=spec.interval
            )
        if group.samplers:
            self._sampler_group = group
            group.start()

    def _start_canary(self) -> None:
        """Start the RPO canary; its first acknowledged write comes before any fault."""
        measure = self.plan.drill.drill.spec.measure.rpo
        if measure is None:
            return
        canary = measure.canary
        spec = self.plan.drill.probes[canary.ref].spec if isinstance(canary, ProbeRef) else canary
        assert isinstance(spec, RpoCanaryProbe)
        intent = self._bind(spec, "spec.measure.rpo")
        handler = self.provider.canary_handler(intent.type)
        assert handler is not None  # check_support ran in preflight
        self._canary = RpoCanary(
            intent,
            handler,
            self.run_id,
            StepContextImpl(self, "rpo-canary", self._deadline),
            self.journal,
            self.clock,
            measure.warmup.total_seconds(),
        )
        self._canary.start(self.abort)

    def _on_sample(self, sampler: str, ok: bool) -> None:
        self.progress.sample(sampler, ok, self._fault_started)
        if sampler != "rto" or self._fault_started is None:
            return
        measure = self.plan.drill.drill.spec.measure.rto
        assert measure is not None
        self._streak = self._streak + 1 if ok else 0
        if self._streak >= measure.stable_for:
            self._recovered.set()

    def _stop_samplers(self) -> None:
        group, self._sampler_group = self._sampler_group, None
        stopped: list[Sampler | AsyncSampler] = list(self._samplers)
        if group is not None:
            group.stop()  # cancels its samples in flight, so it is quick
            stopped += group.samplers
        for sampler in stopped:
            if isinstance(sampler, Sampler):
                sampler.stop()
            self.journal.append(
                "sampler-stopped",
                None,
                sampler=sampler.spec.name,
                samples=sampler.samples,
                missed=sampler.missed,
            )
        self._samplers.clear()

    # ------------------------------------------------------------------ steps
    def _run_step(self, step: PlannedStep, total: int) -> None:
        summary = "; ".join(a.summary for a in step.actions)
        self.progress.step_started(step.index, total, step.name, step.kind, summary)
        spec_step = self.plan.drill.drill.spec.steps[step.index - 1]
        budget = self._deadline - self.clock.monotonic()
        if spec_step.timeout is not None:
            budget = min(budget, spec_step.timeout.total_seconds())
        started = self.clock.monotonic()
        self.journal.append(
            "step-started",
            step.name,
            index=step.index,
            kind=step.kind,
            timeoutSeconds=round(budget, 3),
        )
        context = StepContextImpl(self, step.name, started + budget)
        status, detail = "passed", ""
        try:
            self._supervise(step, context, budget)
        except ProbeFailed as exc:
            status, detail = "failed", exc.message
        except (StepFailed, RunAborted) as exc:
            status, detail = ("aborted" if isinstance(exc, RunAborted) else "failed"), exc.message
            raise
        except DrillError as exc:
            status, detail = "failed", exc.message
            raise
        except Exception as exc:
            status, detail = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            seconds = self.clock.monotonic() - started
            self.journal.append(
                "step-ended",
                step.name,
                status=status,
                seconds=round(seconds, 6),
                detail=detail[:MAX_ERROR_TEXT],
            )
            self.progress.step_ended(step.name, status, seconds, detail)

    def _supervise(self, step: PlannedStep, context: StepContextImpl, budget: float) -> None:
        """Run the step in a worker; the main thread watches timeout, deadline, abort."""
        # One worker thread for the whole run: steps run one at a time, and after a
        # step is abandoned (timeout, abort) no further step is submitted.
        future = self._worker.submit(self._steps.execute, step, context)
        limit = self.clock.monotonic() + budget
        while True:
            try:
                future.result(timeout=_POLL_SECONDS)
                return
            except concurrent.futures.TimeoutError:
                pass
            if self.abort.triggered:
                context.cancelled.set()
                self._straggler = future
                raise RunAborted(self.abort.reason or "aborted")
            if self.clock.monotonic() >= limit:
                context.cancelled.set()
                self._straggler = future
                self.abort.trigger(f"step {step.name} timed out")
                raise StepTimeout(
                    f"step {step.name} did not finish within {budget:.1f}s",
                    step=step.name,
                    fix="raise the step's `timeout` (or spec.safety.maxDuration), "
                    "or find out why it hangs",
                )

    def _fault_planned(self, fault: AppliedFault, mono: float) -> None:
        """A fault's undo is journaled: from now on it counts as applied (and starts the RTO)."""
        with self._applied_lock:
            self.applied.append(fault)
        if self._fault_started is None:
            self._fault_started = mono
            self.fault_started_at = self.clock.wall()

    # ------------------------------------------------------------------ verify
    def _verify(self) -> None:
        """Wait until the RTO probe shows recovery (stable samples), bounded by the deadline."""
        if self.plan.drill.drill.spec.measure.rto is None or self._fault_started is None:
            return
        while not self._recovered.is_set():
            if self.abort.triggered:
                raise RunAborted(self.abort.reason or "aborted")
            if self.clock.monotonic() >= self._deadline:
                self.abort.trigger("the service did not recover before spec.safety.maxDuration")
                raise RunAborted("the service did not recover before spec.safety.maxDuration")
            self._recovered.wait(_POLL_SECONDS * 5)
        self.journal.append("recovered", None, streak=self._streak)

    # ------------------------------------------------------------------ undo
    def _pending_undo(self) -> list[str]:
        with self._applied_lock:
            return [f"{f.fault_id}" for f in self.applied if not f.reverted]

    def _undo_everything(self) -> None:
        with self._applied_lock:
            pending = [f for f in reversed(self.applied) if not f.reverted]
        if not pending:
            return
        self._phase("undo")
        if self._straggler is not None and not self._straggler.done():
            self.progress.message("waiting for the interrupted step to stop before undoing")
            # Its failure is already journaled; the undo must go on whatever it was.
            with contextlib.suppress(Exception):
                self._straggler.result(timeout=self.options.undo_grace_seconds)
        for fault in pending:
            self._revert(fault)

    def _revert(self, fault: AppliedFault) -> None:
        context = StepContextImpl(self, fault.step, self.clock.monotonic() + REVERT_BUDGET_SECONDS)
        outcome = revert_fault(
            self.provider,
            fault_id=fault.fault_id,
            kind=fault.kind,
            step=fault.step,
            undo=fault.undo,
            context=context,
            journal=self.journal,
        )
        if not outcome.reverted:
            self.progress.warning(
                f"undo of {fault.fault_id} failed: {outcome.error}; run "
                f"`drill recover {self.run_id}` once the cause is fixed"
            )
            return
        fault.reverted = True
        self.progress.message(f"undone: {fault.fault_id}")

    def _release_lock(self) -> None:
        """Release the target lock; a failure is journaled, never allowed to skip the rest."""
        if self._lock is None:
            return
        lock, self._lock = self._lock, None
        try:
            call_with_journaled_retry(
                lock.release,
                journal=self.journal,
                step=None,
                what="release the target lock",
                budget_seconds=LOCK_RETRY_SECONDS,
            )
        except Exception as exc:
            message = exc.message if isinstance(exc, DrillError) else f"{type(exc).__name__}: {exc}"
            self.journal.append("warning", None, message=f"releasing the lock failed: {message}")
            self.progress.warning(
                f"releasing the target lock failed ({message}); it expires by itself"
            )
            return
        self.journal.append("lock-released", None)

    def _close_provider(self) -> None:
        try:
            self.provider.close()
        except Exception as exc:
            self.journal.append("warning", None, message=f"closing the provider failed: {exc}")

    # ------------------------------------------------------------------ measure
    def _measure(self) -> RunSummary:
        self._phase("measure")
        return summarize(self.journal.path, self.plan.drill.drill, extra_event=None)

    def _journal_error(self, exc: BaseException) -> None:
        if isinstance(exc, DrillError):
            self.journal.append(
                "run-error",
                getattr(exc, "step", None),
                error=type(exc).__name__,
                message=exc.message[:MAX_ERROR_TEXT],
                fix=exc.fix,
            )
            self.progress.warning(exc.message)
        else:
            self.journal.append(
                "run-error",
                None,
                error=type(exc).__name__,
                message=str(exc)[:MAX_ERROR_TEXT],
                fix=None,
            )

    def _write_samples(self) -> None:
        """Raw samples per sampler in ``samples/``, derived from the journal (evidence files)."""
        from drillkit.engine.samples import write_samples

        try:
            write_samples(self.journal.path, self.run_dir / "samples")
        except OSError as exc:
            self.progress.warning(f"could not write raw samples: {exc.strerror}")

    def _write_definition(self) -> None:
        import yaml

        text = yaml.safe_dump(self.plan.drill.resolved, sort_keys=False, allow_unicode=True)
        header = f"# {self.plan.drill.name} {self.plan.drill.version} {self.plan.drill.digest}\n"
        (self.run_dir / "drill.yaml").write_text(header + text, encoding="utf-8")
