"""Waiting for Azure long-running operations: progress in the journal, a deadline, Ctrl-C.

Every ``begin_*`` call returns a poller. ``wait_all`` waits on several at
once (deallocating a zone's instances runs in parallel, as the portal does),
notes progress every ``PROGRESS_SECONDS`` and gives up at the step's deadline
or when the run is cancelled; the undo record was journaled before the call,
so a run that gives up still gets reverted. Giving up is permanent: the
operation may still be running in Azure, and repeating it would not help.
"""

from __future__ import annotations

import time
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.aks.azure_errors import call_azure
from drillkit.providers.base import StepContext

PROGRESS_SECONDS = 10.0
DEFAULT_DEADLINE_SECONDS = 1800.0


def wait_all(
    pollers: dict[str, Any], ctx: StepContext, *, progress_seconds: float = PROGRESS_SECONDS
) -> dict[str, Any]:
    """Wait until every poller (by what it does) finishes; their results by the same keys."""
    started = time.monotonic()
    left = ctx.remaining()
    deadline = started + (left if left > 0 else DEFAULT_DEADLINE_SECONDS)
    last_note = started
    pending = dict(pollers)
    while pending:
        for what, poller in list(pending.items()):
            if poller.done():
                del pending[what]
        if not pending:
            break
        now = time.monotonic()
        if ctx.cancelled.is_set() or now >= deadline:
            ctx.note("azure-operations-unfinished", operations=sorted(pending))
            why = "the run was stopped" if ctx.cancelled.is_set() else "the step's deadline came"
            raise PermanentError(
                f"{why} before {len(pending)} Azure operation(s) finished (after "
                f"{now - started:.0f}s): {', '.join(sorted(pending)[:5])}",
                fix="check the resources in the Azure portal; the fault's undo still runs",
            )
        if now - last_note >= progress_seconds:
            last_note = now
            ctx.note(
                "azure-operations-waiting",
                pending=sorted(pending)[:20],
                waiting=len(pending),
                seconds=round(now - started, 1),
            )
        next(iter(pending.values())).wait(0.2)
    results = {what: call_azure(what, poller.result) for what, poller in pollers.items()}
    if pollers:
        ctx.note(
            "azure-operations-done",
            operations=len(pollers),
            seconds=round(time.monotonic() - started, 2),
        )
    return results
