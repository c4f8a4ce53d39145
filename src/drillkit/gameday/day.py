"""Running a game-day: entry by entry, deciding at each gate whether the next drill may start.

The loop knows nothing of providers or keys: the CLI hands it a function
that runs one drill on one target and returns how it ended (a normal signed
run bundle), one that asks a person to confirm, and one that sleeps. So the
gate logic is plain and testable, and each run is exactly what
``drill run`` would have made.

Gates: ``previous`` (default) lets an entry run only when the nearest
earlier drill entry passed; ``all`` when every earlier drill entry passed;
``none`` always. ``requires`` names entries that must have passed as well.
An entry with ``confirm: true`` waits for a person; declined means skipped.
A skipped entry counts as not passed for later gates, so one failure stops
everything that depends on it, and the day's verdict is ``passed`` only when
every drill entry ran and passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from drillkit.errors import DrillError
from drillkit.gameday.plan_file import Entry, LoadedPlan

PASSED, FAILED, SKIPPED, NOT_RUN = "passed", "failed", "skipped", "not-run"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrillRun:
    """How one drill run ended, as its bundle records it."""

    run_id: str
    run_dir: Path
    verdict: str
    version: str = ""


@dataclass
class EntryOutcome:
    index: int
    name: str
    kind: str
    """``drill`` or ``pause``."""
    drill: str | None
    target: str | None
    status: str = NOT_RUN
    """passed, failed (the run's verdict was not passed), skipped (gate or declined), not-run."""
    reason: str = ""
    run: DrillRun | None = None
    started_at: str | None = None
    ended_at: str | None = None


@dataclass
class GameDayResult:
    plan: LoadedPlan
    started_at: str
    ended_at: str = ""
    outcomes: list[EntryOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def verdict(self) -> str:
        if self.interrupted:
            return "interrupted"
        drills = [o for o in self.outcomes if o.kind == "drill"]
        return PASSED if drills and all(o.status == PASSED for o in drills) else FAILED

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == PASSED else 1


RunDrill = Callable[[Entry, str], DrillRun]
Confirm = Callable[[str], bool]


def gate_refusal(entry: Entry, index: int, outcomes: list[EntryOutcome]) -> str | None:
    """Why ``entry`` may not start given the earlier outcomes, or None when it may."""
    earlier = [o for o in outcomes[:index] if o.kind == "drill"]
    if entry.gate == "previous" and earlier and earlier[-1].status != PASSED:
        last = earlier[-1]
        return f"gate: the previous drill `{last.name}` {_said(last)}"
    if entry.gate == "all":
        bad = [o for o in earlier if o.status != PASSED]
        if bad:
            return f"gate: earlier drill `{bad[0].name}` {_said(bad[0])}"
    by_name = {o.name: o for o in outcomes[:index]}
    for required in entry.requires:
        needed = by_name[required]
        if needed.kind == "drill" and needed.status != PASSED:
            return f"requires `{required}`, which {_said(needed)}"
    return None


def run_day(
    loaded: LoadedPlan,
    run_drill: RunDrill,
    *,
    confirm: Confirm,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> GameDayResult:
    """Run every entry in order; a Ctrl-C ends the day, and the result says so."""
    result = GameDayResult(loaded, _now())
    entries = loaded.plan.spec.entries
    result.outcomes = [
        EntryOutcome(
            index=i,
            name=name,
            kind="drill" if e.is_drill else "pause",
            drill=e.drill,
            target=loaded.target_of(e) if e.is_drill else None,
        )
        for i, (e, name) in enumerate(zip(entries, loaded.names, strict=True))
    ]
    try:
        for index, entry in enumerate(entries):
            _run_entry(loaded, result, index, entry, run_drill, confirm, say, sleep)
    except KeyboardInterrupt:
        result.interrupted = True
        for outcome in result.outcomes:
            if outcome.status == NOT_RUN and not outcome.reason:
                outcome.reason = "the game-day was interrupted"
    result.ended_at = _now()
    return result


def _run_entry(
    loaded: LoadedPlan,
    result: GameDayResult,
    index: int,
    entry: Entry,
    run_drill: RunDrill,
    confirm: Confirm,
    say: Callable[[str], None],
    sleep: Callable[[float], None],
) -> None:
    outcome = result.outcomes[index]
    total = len(result.outcomes)
    if entry.pause is not None:
        seconds = entry.pause.total_seconds()
        say(
            f"[{index + 1}/{total}] pause {seconds:g}s"
            + (f": {entry.message}" if entry.message else "")
        )
        outcome.started_at = _now()
        sleep(seconds)
        outcome.status, outcome.ended_at = PASSED, _now()
        return
    target = loaded.target_of(entry)
    refusal = gate_refusal(entry, index, result.outcomes)
    if refusal is not None:
        outcome.status, outcome.reason = SKIPPED, refusal
        say(f"[{index + 1}/{total}] {outcome.name} on {target}: SKIPPED ({refusal})")
        return
    if entry.confirm:
        question = f"[{index + 1}/{total}] start {entry.drill} on {target}?"
        if entry.message:
            question = f"{entry.message}\n{question}"
        if not confirm(question):
            outcome.status, outcome.reason = SKIPPED, "not confirmed by the operator"
            say(f"[{index + 1}/{total}] {outcome.name} on {target}: SKIPPED (not confirmed)")
            return
    say(f"[{index + 1}/{total}] {outcome.name}: drill {entry.drill} on {target}")
    outcome.started_at = _now()
    try:
        run = run_drill(entry, target)
    except DrillError as exc:  # refused before it ran: a guard, a version, a missing key
        outcome.status, outcome.reason = FAILED, exc.message
        say(f"[{index + 1}/{total}] {outcome.name} on {target}: NOT RUN ({exc.message})")
        return
    except Exception as exc:  # a bug must not cost the day its record: the bundle says so
        logger.exception("game-day entry %s failed", outcome.name)
        outcome.status, outcome.reason = FAILED, f"internal error: {type(exc).__name__}: {exc}"
        say(f"[{index + 1}/{total}] {outcome.name} on {target}: ERROR ({outcome.reason})")
        return
    finally:
        outcome.ended_at = _now()
    outcome.run = run
    outcome.status = PASSED if run.verdict == PASSED else FAILED
    outcome.reason = f"run {run.run_id} {run.verdict}"
    verdict = run.verdict.upper()
    say(f"[{index + 1}/{total}] {outcome.name} on {target}: {verdict} (run {run.run_id})")


def _said(outcome: EntryOutcome) -> str:
    if outcome.status == FAILED and outcome.run is not None:
        return f"ended {outcome.run.verdict}"
    if outcome.status == SKIPPED:
        return "was skipped"
    return "did not pass"


def _now() -> str:
    from drillkit.engine.clock import rfc3339

    return rfc3339(datetime.now(UTC))
