"""Choosing which pods a ``pod-kill`` takes: the same rule on every provider.

``count`` or ``percent`` (at least one when any match) of the matching names,
all of them when neither is given; at random when the fault says so, with the
seed recorded so the choice can be replayed and audited.
"""

from __future__ import annotations

import random

from drillkit.spec.faults import PodKill


def choose_victims(names: list[str], intent: PodKill) -> tuple[list[str], int | None]:
    """The names to kill (sorted) and the seed used (None when not random)."""
    pool = sorted(names)
    if intent.count is not None:
        wanted = min(intent.count, len(pool))
    elif intent.percent is not None:
        wanted = max(1, len(pool) * intent.percent // 100) if pool else 0
    else:
        wanted = len(pool)
    seed = None
    if intent.random:
        seed = intent.seed if intent.seed is not None else random.SystemRandom().randrange(2**31)
        random.Random(seed).shuffle(pool)
    return sorted(pool[:wanted]), seed
