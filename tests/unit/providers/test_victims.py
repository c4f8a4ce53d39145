"""Which pods a pod-kill takes: count, percent, all, and a recorded seed that replays."""

from __future__ import annotations

from drillkit.providers.victims import choose_victims
from drillkit.spec.faults import PodKill

NAMES = [f"orders-api-{i}" for i in range(10)]


def intent(**fields: object) -> PodKill:
    return PodKill.model_validate(
        {"type": "pod-kill", "namespace": "orders", "selector": {"app": "orders-api"}, **fields}
    )


def test_count_percent_and_all() -> None:
    assert len(choose_victims(NAMES, intent(count=3))[0]) == 3
    assert len(choose_victims(NAMES, intent(percent=25))[0]) == 2
    assert len(choose_victims(NAMES[:1], intent(percent=10))[0]) == 1  # at least one
    assert choose_victims(NAMES, intent(random=False)) == (sorted(NAMES), None)
    assert choose_victims([], intent(count=2))[0] == []


def test_a_recorded_seed_replays_the_same_choice() -> None:
    first, seed = choose_victims(NAMES, intent(count=3))
    assert seed is not None

    again, same = choose_victims(list(reversed(NAMES)), intent(count=3, seed=seed))

    assert (again, same) == (first, seed)
