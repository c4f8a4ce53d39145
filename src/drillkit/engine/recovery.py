"""``drill recover``: undo what a crashed run left applied, from its journal alone.

A run killed with SIGKILL (or a machine that died) leaves a journal whose
``fault-undo-planned`` events have no ``fault-reverted`` after them. Recovery
repairs a torn last line (journaling what it removed), rebuilds the provider
from the target definition recorded at run start (so a later edit of
targets.yaml cannot redirect the undo), and reverts the pending faults newest
first, appending to the same hash chain. Reverts are idempotent, so running
recovery twice, or on a run that already finished, is harmless.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drillkit.engine.journal import (
    JournalError,
    JournalEvent,
    JournalWriter,
    read_intact_prefix,
    read_journal,
)
from drillkit.engine.measure import pending_faults
from drillkit.engine.progress import Progress
from drillkit.engine.undo import REVERT_BUDGET_SECONDS, revert_fault
from drillkit.errors import DrillError, UserInputError
from drillkit.providers.base import LockHeld
from drillkit.providers.registry import ProviderRegistry
from drillkit.spec.targets import Target

JOURNAL = "journal.jsonl"


@dataclass
class RecoveryResult:
    run_dir: Path
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    repaired_bytes: int = 0
    lock_released: bool = False
    """The crashed run still held the target's lock and recovery gave it back."""
    damage: str | None = None
    """What is wrong with a journal damaged in its middle; recovery then read the intact
    events before the damage and recorded itself in ``RECOVERY_JOURNAL``."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.damage else 0


class _RecoveryContext:
    def __init__(self, writer: JournalWriter, run_id: str, step: str) -> None:
        self.run_id = run_id
        self.step = step
        self.cancelled = threading.Event()
        self.fault_started_at: datetime | None = None
        self._writer = writer

    def note(self, event: str, **data: Any) -> None:
        self._writer.append("provider-call", self.step, call=event, recovery=True, **data)

    def remaining(self) -> float:
        return REVERT_BUDGET_SECONDS


def find_run(output_dir: Path, run_id: str) -> Path:
    """The folder of run ``run_id`` under ``output_dir/<drill>/``."""
    matches = [p.parent for p in output_dir.glob(f"*/{run_id}/{JOURNAL}")]
    if not matches:
        raise UserInputError(
            f"no run `{run_id}` under {output_dir}",
            fix="pass the run folder itself, or --output where its evidence is",
        )
    return matches[0]


def newest_unfinished(output_dir: Path, target: str) -> Path:
    """The newest run on ``target`` that did not end cleanly or left faults applied."""
    candidates = sorted(
        output_dir.glob(f"*/*/{JOURNAL}"), key=lambda p: p.parent.name, reverse=True
    )
    for journal in candidates:
        try:
            events = read_journal(journal).events
        except DrillError:
            continue
        if not events or events[0].data.get("target") != target:
            continue
        ended = any(e.type == "run-ended" for e in events)
        if not ended or pending_faults(events):
            return journal.parent
    raise UserInputError(
        f"no unfinished run on target `{target}` under {output_dir}",
        fix="nothing to recover; `drill recover RUN_ID` names a run directly",
    )


RECOVERY_LOCK_SECONDS = 300.0
"""How long the lock recovery takes back may be held, should recovery itself die."""
RECOVERY_JOURNAL = "recovery.jsonl"
"""Where ``drill recover`` journals itself when the run's own journal is damaged."""


def recover(run_dir: Path, registry: ProviderRegistry, progress: Progress) -> RecoveryResult:
    """Undo every fault the run in ``run_dir`` still has applied."""
    path = run_dir / JOURNAL
    if not path.exists():
        raise UserInputError(f"{run_dir} has no {JOURNAL}", fix="pass a run folder")
    result = RecoveryResult(run_dir)
    try:
        intact = read_journal(path).events
    except JournalError:
        intact = None  # a torn tail: resume below repairs it, and says so in the journal
    if intact is not None and not pending_faults(intact) and not holds_lock(intact):
        # Nothing to undo: leave the journal (and a signed bundle over it) untouched.
        progress.message("nothing to undo: every fault of this run is already reverted")
        return result
    try:
        writer, torn = JournalWriter.resume(path)
    except JournalError as damage:
        return _recover_damaged(run_dir, damage, registry, progress, result)
    try:
        if torn:
            result.repaired_bytes = len(torn)
            writer.append(
                "journal-repaired",
                None,
                removedBytes=len(torn),
                removedSha256=hashlib.sha256(torn).hexdigest(),
            )
            progress.warning(
                f"{JOURNAL}: removed a torn last line ({len(torn)} bytes) left by the crash"
            )
        events = read_journal(path).events
        _undo_pending(events, path, writer, registry, progress, result, {})
    finally:
        writer.close()
    return result


def _undo_pending(
    events: list[JournalEvent],
    path: Path,
    writer: JournalWriter,
    registry: ProviderRegistry,
    progress: Progress,
    result: RecoveryResult,
    facts: dict[str, Any],
) -> None:
    """Revert, newest first, every fault ``events`` planned and did not revert."""
    started = _run_started(events, path)
    pending = pending_faults(events)
    writer.append(
        "recovery-started", None, pending=[e.data.get("faultId") for e in pending], **facts
    )
    if not pending:
        progress.message("nothing to undo: every fault of this run is already reverted")
    target = Target.model_validate(started.data["targetDefinition"])
    provider_cls = registry.get(str(started.data["provider"]))
    provider = provider_cls(str(started.data["target"]), target)
    run_id = str(started.data["runId"])
    if not pending and not holds_lock(events):
        writer.append("recovery-ended", None, reverted=[], failed=[])
        return
    provider.open()
    try:
        lock = _take_back_lock(provider, run_id, writer, progress)
        for event in reversed(pending):
            _revert(event, provider, writer, run_id, result, progress)
        if lock is not None:
            _give_back_lock(lock, writer, progress, result)
    finally:
        provider.close()
    writer.append("recovery-ended", None, reverted=result.reverted, failed=result.failed)


def holds_lock(events: list[JournalEvent]) -> bool:
    """True when the run took the target's lock and its journal never says it gave it back."""
    taken = any(e.type == "lock-acquired" for e in events)
    return taken and not any(e.type == "lock-released" for e in events)


def _take_back_lock(
    provider: Any, run_id: str, writer: JournalWriter, progress: Progress
) -> Any | None:
    """The crashed run's lock, taken again under its run id (a lock that names this run is
    its own to take), so no new run starts while recovery undoes; None when another run
    holds the target now, which recovery reports and leaves alone."""
    try:
        lock = provider.acquire_lock(run_id, {"recovery": True}, RECOVERY_LOCK_SECONDS)
    except LockHeld as held:
        writer.append("warning", None, message=f"the target lock is not this run's: {held}")
        progress.warning(f"{held.message}; undoing anyway, the lock stays with its holder")
        return None
    except DrillError as exc:
        writer.append("warning", None, message=f"taking back the target lock failed: {exc}")
        progress.warning(f"taking back the target lock failed: {exc.message}")
        return None
    writer.append("lock-acquired", None, **{**lock.describe(), "recovery": True})
    return lock


def _give_back_lock(
    lock: Any, writer: JournalWriter, progress: Progress, result: RecoveryResult
) -> None:
    try:
        lock.release()
    except DrillError as exc:
        writer.append("warning", None, message=f"releasing the target lock failed: {exc}")
        progress.warning(f"releasing the target lock failed ({exc.message}); it expires by itself")
        return
    writer.append("lock-released", None, recovery=True)
    result.lock_released = True
    progress.message("the target lock is free again")


def _recover_damaged(
    run_dir: Path,
    damage: JournalError,
    registry: ProviderRegistry,
    progress: Progress,
    result: RecoveryResult,
) -> RecoveryResult:
    """Undo what the intact part of a damaged journal says is applied; touch the journal not.

    A journal damaged in its middle (an edit, a bad disk block) cannot be
    continued: its chain is broken. Leaving the target broken as well would
    make a bad record worse, so the faults planned in the events before the
    damage are reverted (reverting is safe to repeat, so a fault whose
    ``fault-reverted`` came after the damage costs nothing), and this
    recovery is written to a journal of its own beside the damaged one, which
    stays exactly as found for whoever investigates.
    """
    path = run_dir / JOURNAL
    events, problem = read_intact_prefix(path)
    result.damage = damage.message
    progress.warning(
        f"{damage.message}; undoing what the {len(events)} intact event(s) before the damage "
        f"record, and writing this recovery to {RECOVERY_JOURNAL}"
    )
    if not events:
        raise JournalError(
            f"{path}: {damage.message}, and no intact event precedes it: the run's target "
            "and undo records cannot be read",
            fix="undo the drill's faults by hand from the plan (`drill plan`) and the "
            "platform's own state",
        )
    facts = {
        "damagedJournal": {
            "problem": damage.message,
            "intactEvents": len(events),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "detail": problem.message if problem is not None else None,
        }
    }
    recovery_journal = run_dir / RECOVERY_JOURNAL
    earlier: list[JournalEvent] = []
    if recovery_journal.exists():  # an earlier recovery: what it reverted is done
        earlier = read_journal(recovery_journal).events
        writer, _ = JournalWriter.resume(recovery_journal)
    else:
        writer = JournalWriter(recovery_journal)
    try:
        _undo_pending(events + earlier, path, writer, registry, progress, result, facts)
    finally:
        writer.close()
    return result


def _run_started(events: list[JournalEvent], path: Path) -> JournalEvent:
    if not events or events[0].type != "run-started":
        raise DrillError(
            f"{path}: the journal does not start with run-started",
            fix="this is not a drill run journal, or it was cut before it began",
        )
    return events[0]


def _revert(
    event: JournalEvent,
    provider: Any,
    writer: JournalWriter,
    run_id: str,
    result: RecoveryResult,
    progress: Progress,
) -> None:
    fault_id = str(event.data.get("faultId"))
    context = _RecoveryContext(writer, run_id, event.step or "")
    outcome = revert_fault(
        provider,
        fault_id=fault_id,
        kind=str(event.data.get("kind")),
        step=event.step,
        undo=event.data["undo"],
        context=context,
        journal=writer,
        recovery=True,
    )
    if outcome.reverted:
        result.reverted.append(fault_id)
        progress.message(f"undone: {fault_id}")
    else:
        result.failed.append(fault_id)
        progress.warning(f"could not undo {fault_id}: {outcome.error}")
