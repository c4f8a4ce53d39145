"""Our RFC 8785 encoder, checked against the reference implementation as an oracle."""

from __future__ import annotations

import math
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from drillkit.errors import DrillError
from drillkit.spec.digest import canonical_json, es_number, sha256_digest

SAFE = 2**53 - 1
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-SAFE, SAFE)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=["Cs"]), max_size=8), children, max_size=5
        )
    ),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=400, deadline=None)
def test_canonical_json_matches_the_reference_implementation(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.integers(0, 2**64 - 1))
@settings(max_examples=2000, deadline=None)
def test_every_finite_double_is_written_as_ecmascript_writes_it(bits: int) -> None:
    value = struct.unpack("<d", struct.pack("<Q", bits))[0]
    if math.isfinite(value):
        assert es_number(value) == rfc8785.dumps(value).decode()


@given(
    st.floats(min_value=1e-5, max_value=1e17, allow_nan=False)
    | st.floats(min_value=-1e17, max_value=-1e-5, allow_nan=False)
    | st.integers(-(2**53), 2**53).map(float)
)
@settings(max_examples=3000, deadline=None)
def test_numbers_in_the_everyday_range_take_the_fast_path_to_the_same_text(value: float) -> None:
    # Timestamps, monotonic seconds and latencies: repr's plain digits, ".0" dropped.
    assert es_number(value) == rfc8785.dumps(value).decode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100.0, "100"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (5e-324, "5e-324"),
    ],
)
def test_numbers_take_their_ecmascript_form(value: float, text: str) -> None:
    assert canonical_json(value) == text.encode()


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FFFF.
    assert canonical_json({"\uffff": 1, "\U0001f600": 2}) == '{"😀":2,"\uffff":1}'.encode()


@pytest.mark.parametrize(
    "value", [2**53, float("nan"), float("inf"), {1: "x"}, {"a": {1, 2}}, "\ud800"]
)
def test_values_without_a_canonical_form_are_refused_with_our_error(value: object) -> None:
    with pytest.raises(DrillError):
        canonical_json(value)


def test_the_digest_is_sha256_of_the_canonical_bytes() -> None:
    import hashlib

    value = {"b": 1, "a": [True, None, 1.5]}
    assert (
        sha256_digest(value)
        == "sha256:" + hashlib.sha256(b'{"a":[true,null,1.5],"b":1}').hexdigest()
    )
