"""A StepContext for calling probe and canary handlers directly in tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ProbeContext:
    """Plenty of time left; remembers the notes a handler journals."""

    run_id: str = "run-1"
    step: str = "probe"
    cancelled: threading.Event = field(default_factory=threading.Event)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fault_started_at: datetime | None = None
    """Set it to play a step after the run's first fault."""

    def note(self, event: str, **data: Any) -> None:
        self.notes.append((event, data))

    def remaining(self) -> float:
        return 60.0
