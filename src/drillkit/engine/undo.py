"""Reverting one applied fault, the same way at the end of a run and in ``drill recover``.

A revert is journaled before it starts (``fault-reverting``) and after it ends
(``fault-reverted`` or ``fault-revert-failed``); transient platform errors are
retried. The runner and the recovery path differ only in where the undo
record comes from (memory or the journal) and in what they tell the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drillkit.engine.journal import JournalWriter
from drillkit.engine.retry import MAX_ERROR_TEXT, call_with_journaled_retry
from drillkit.errors import DrillError
from drillkit.providers.base import JsonDict, Provider, StepContext

REVERT_BUDGET_SECONDS = 300.0


@dataclass(frozen=True)
class RevertOutcome:
    reverted: bool
    error: str = ""


def revert_fault(
    provider: Provider,
    *,
    fault_id: str,
    kind: str,
    step: str | None,
    undo: JsonDict,
    context: StepContext,
    journal: JournalWriter,
    **tags: Any,
) -> RevertOutcome:
    """Revert one fault from its undo record; never raises for a platform failure."""
    handler = provider.fault_handler(kind)
    if handler is None:
        error = f"provider {provider.name} has no handler for {kind}"
        journal.append("fault-revert-failed", step, faultId=fault_id, error=error, **tags)
        return RevertOutcome(False, error)
    journal.append("fault-reverting", step, faultId=fault_id, **tags)
    try:
        result = call_with_journaled_retry(
            lambda: handler.revert(undo, context),
            journal=journal,
            step=step,
            what="revert",
            budget_seconds=REVERT_BUDGET_SECONDS,
        )
    except Exception as exc:  # whatever the cause, the journal must say the undo failed
        error = exc.message if isinstance(exc, DrillError) else f"{type(exc).__name__}: {exc}"
        journal.append(
            "fault-revert-failed", step, faultId=fault_id, error=error[:MAX_ERROR_TEXT], **tags
        )
        return RevertOutcome(False, error)
    journal.append("fault-reverted", step, faultId=fault_id, result=result or {}, **tags)
    return RevertOutcome(True)
