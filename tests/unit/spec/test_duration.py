"""Durations as people write them, and back again in the shortest exact form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from drillkit.spec.duration import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(minutes=90)),
        ("1m30s500ms", timedelta(seconds=90.5)),
        ("0s", timedelta(0)),
        (" 15 m ", timedelta(minutes=15)),
        ("366d", timedelta(days=366)),
    ],
)
def test_durations_parse_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("value", [90, 1.5, "90", "", "15 minutes", "-5m", "m", "5x", None, True])
def test_a_value_without_a_unit_is_refused_with_the_expected_form(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration such as `90s` or `15m`"):
        parse_duration(value)


def test_a_duration_longer_than_a_year_is_refused() -> None:
    with pytest.raises(ValueError, match="'367d' is longer than a year"):
        parse_duration("367d")


def test_a_timedelta_passes_through() -> None:
    assert parse_duration(timedelta(seconds=3)) == timedelta(seconds=3)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=1), "1d"),
        (timedelta(seconds=1.5), "1s500ms"),
    ],
)
def test_durations_are_written_in_the_shortest_exact_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_a_duration_field_serialises_to_text() -> None:
    adapter = TypeAdapter(Duration)

    assert adapter.dump_python(adapter.validate_python("90s"), mode="json") == "1m30s"


@given(st.integers(min_value=0, max_value=366 * 86_400_000))
def test_formatting_and_parsing_round_trip(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)

    assert parse_duration(format_duration(value)) == value
