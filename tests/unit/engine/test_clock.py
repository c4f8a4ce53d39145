"""The engine's clocks and the one timestamp format every journal event uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drillkit.engine.clock import Clock, SystemClock, rfc3339


def test_rfc3339_always_writes_six_fractional_digits_and_a_z() -> None:
    assert rfc3339(datetime(2026, 11, 23, 19, 55, 1, 123456, tzinfo=UTC)) == (
        "2026-11-23T19:55:01.123456Z"
    )
    assert rfc3339(datetime(2026, 11, 23, 19, 55, 1, tzinfo=UTC)) == "2026-11-23T19:55:01.000000Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"


def test_rfc3339_converts_other_zones_to_utc() -> None:
    new_york_winter = timezone(timedelta(hours=-5))
    moment = datetime(2026, 11, 23, 14, 55, 1, 500000, tzinfo=new_york_winter)
    assert rfc3339(moment) == "2026-11-23T19:55:01.500000Z"


def test_rfc3339_pads_early_years_to_four_digits() -> None:
    assert rfc3339(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000Z"


def test_rfc3339_refuses_a_naive_datetime_whose_zone_would_be_a_guess() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        rfc3339(datetime(2026, 11, 23, 19, 55, 1))


@given(st.lists(st.datetimes(timezones=st.just(UTC)), min_size=2, max_size=20))
def test_rfc3339_text_sorts_in_time_order(moments: list[datetime]) -> None:
    assert sorted(moments, key=rfc3339) == sorted(moments)


def test_the_system_clock_gives_aware_utc_wall_time_close_to_now() -> None:
    clock: Clock = SystemClock()
    before = datetime.now(UTC)
    wall = clock.wall()
    after = datetime.now(UTC)
    assert wall.tzinfo is not None
    assert wall.utcoffset() == timedelta(0)
    assert before <= wall <= after


def test_the_system_monotonic_clock_never_goes_backwards() -> None:
    clock = SystemClock()
    readings = [clock.monotonic() for _ in range(1000)]
    assert readings == sorted(readings)
    assert abs(clock.monotonic() - time.monotonic()) < 1.0
