"""A fault handler driven as the engine drives it, for provider tests.

``apply_journaled`` prepares, round-trips the undo record through JSON (what
the journal keeps) and applies; ``revert_from_record`` reverts with a fresh
provider and only that record, as ``drill recover`` does in a new process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from drillkit.providers.base import Provider
from tests.support.probe_context import ProbeContext


def apply_journaled(provider: Provider, intent: Any) -> tuple[dict[str, Any], ProbeContext]:
    handler = provider.fault_handler(intent.type)
    assert handler is not None, f"{provider.name} has no handler for {intent.type}"
    ctx = ProbeContext()
    undo: dict[str, Any] = json.loads(json.dumps(handler.prepare(intent, ctx)))
    handler.apply(intent, undo, ctx)
    return undo, ctx


def revert_from_record(
    new_provider: Callable[[], Provider], kind: str, undo: dict[str, Any]
) -> dict[str, Any]:
    fresh = new_provider()
    try:
        handler = fresh.fault_handler(kind)
        assert handler is not None, f"{fresh.name} has no handler for {kind}"
        result: dict[str, Any] = handler.revert(undo, ProbeContext())
        return result
    finally:
        fresh.close()
