"""Gates decide, entry by entry, what a game-day runs; a skip closes the gates behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillkit.errors import GuardRefused
from drillkit.gameday.day import DrillRun, run_day
from drillkit.gameday.plan_file import Entry, InvalidGameDay, load_plan

VERDICTS = {"a": "passed", "b": "failed", "c": "passed", "d": "passed", "e": "passed"}


def plan(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "day.yaml"
    path.write_text(
        "apiVersion: drillkit.io/v1\nkind: GameDay\nmetadata: {name: day}\n"
        "spec:\n  entries:\n" + entries
    )
    return path


def run_by_name(entry: Entry, target: str) -> DrillRun:
    if entry.drill == "refused":
        raise GuardRefused("refused: the target is in a freeze window")
    if entry.drill == "broken":
        raise RuntimeError("provider bug")
    return DrillRun(f"run-{entry.drill}", Path("/nonexistent"), VERDICTS[str(entry.drill)])


def statuses(path: Path, confirm: bool = True) -> list[tuple[str, str, str]]:
    result = run_day(
        load_plan(path),
        run_by_name,
        confirm=lambda q: confirm,
        say=lambda s: None,
        sleep=lambda s: None,
    )
    return [(o.name, o.status, o.reason) for o in result.outcomes]


def test_gate_all_requires_and_none_each_decide_on_the_earlier_outcomes(tmp_path: Path) -> None:
    path = plan(
        tmp_path,
        "    - drill: a\n"
        "    - drill: b\n"
        "    - {drill: c, gate: none}\n"
        "    - {drill: d, gate: all}\n"
        "    - {drill: e, gate: none, requires: [a]}\n"
        "    - {drill: c, name: c-again, gate: none, requires: [b]}\n",
    )
    assert statuses(path) == [
        ("a", "passed", "run run-a passed"),
        ("b", "failed", "run run-b failed"),
        ("c", "passed", "run run-c passed"),
        ("d", "skipped", "gate: earlier drill `b` ended failed"),
        ("e", "passed", "run run-e passed"),
        ("c-again", "skipped", "requires `b`, which ended failed"),
    ]


def test_a_declined_confirmation_skips_the_entry_and_closes_the_next_gate(tmp_path: Path) -> None:
    path = plan(tmp_path, "    - {drill: a, confirm: true}\n    - drill: c\n")
    assert statuses(path, confirm=False) == [
        ("a", "skipped", "not confirmed by the operator"),
        ("c", "skipped", "gate: the previous drill `a` was skipped"),
    ]


def test_a_run_refused_by_a_guard_is_a_failed_entry_with_the_reason(tmp_path: Path) -> None:
    path = plan(tmp_path, "    - drill: refused\n    - drill: a\n")
    assert statuses(path)[0] == ("refused", "failed", "refused: the target is in a freeze window")
    assert statuses(path)[1][1] == "skipped"


def test_an_internal_error_in_one_run_is_recorded_and_the_day_goes_on_to_its_gates(
    tmp_path: Path,
) -> None:
    path = plan(tmp_path, "    - drill: broken\n    - {drill: a, gate: none}\n")
    assert statuses(path) == [
        ("broken", "failed", "internal error: RuntimeError: provider bug"),
        ("a", "passed", "run run-a passed"),
    ]


def test_requires_must_name_an_earlier_entry_and_names_must_be_unique(tmp_path: Path) -> None:
    path = plan(tmp_path, "    - {drill: a, requires: [c]}\n    - drill: c\n    - drill: c\n")
    with pytest.raises(InvalidGameDay) as caught:
        load_plan(path)
    assert caught.value.message.splitlines() == [
        f"{path}:6:29: spec.entries[0].requires[0]: `c` is not an earlier entry; "
        "expected the name of an entry above this one, found c",
        f"{path}:8:7: spec.entries[2].drill: entry name `c` is used by entry 1 too; "
        "expected a unique name per entry (set `name:` on one of them)",
    ]
