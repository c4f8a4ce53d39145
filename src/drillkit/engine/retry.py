"""Retry policy, decided by error type in one place.

Providers wrap platform errors where they occur: throttling, 5xx and
connection resets become ``TransientError``; everything else is permanent.
Built-in connection and timeout errors count as transient too. Retries use
jittered exponential backoff with a cap and never outlive the step's time
budget; every retry is journaled so the report can say how many there were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from drillkit.engine.journal import JournalWriter
from drillkit.errors import TransientError

T = TypeVar("T")
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 5.0
MAX_ERROR_TEXT = 500


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TransientError | ConnectionError | TimeoutError)


def call_with_retry(
    call: Callable[[], T],
    *,
    budget_seconds: float,
    on_retry: Callable[[int, BaseException, float], None],
    base_wait: float = 0.2,
) -> T:
    """Run ``call``; retry transient failures within ``budget_seconds``; re-raise the last."""

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        if error is not None:
            on_retry(state.attempt_number, error, wait)

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_random_exponential(multiplier=base_wait, max=MAX_WAIT_SECONDS),
        stop=stop_after_attempt(MAX_ATTEMPTS) | stop_after_delay(max(budget_seconds, 0.0)),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(call)


def call_with_journaled_retry(
    call: Callable[[], T],
    *,
    journal: JournalWriter,
    step: str | None,
    what: str,
    budget_seconds: float,
) -> T:
    """``call_with_retry`` that records every retry as a ``retry`` journal event."""

    def on_retry(attempt: int, error: BaseException, wait: float) -> None:
        journal.append(
            "retry",
            step,
            call=what,
            attempt=attempt,
            error=f"{type(error).__name__}: {error}"[:MAX_ERROR_TEXT],
            waitSeconds=round(wait, 3),
        )

    return call_with_retry(call, budget_seconds=max(budget_seconds, 0.0), on_retry=on_retry)
