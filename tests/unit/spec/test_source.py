"""Reading YAML and JSON into plain data with positions, and refusing hostile input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drillkit.errors import InvalidDocument
from drillkit.spec.source import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    SourceDocument,
    format_path,
    load_source,
    parse_yaml,
)

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def parse(text: str) -> SourceDocument:
    return parse_yaml(text, path=Path("x.yaml"), display="drills/x.yaml")


def refusal(text: str) -> str:
    with pytest.raises(InvalidDocument) as caught:
        parse(text)
    return caught.value.diagnostics()


def test_values_keep_their_one_based_line_and_column() -> None:
    document = parse("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n")

    assert document.data == {"a": {"b": 1, "c": ["x", {"d": 2}]}}
    assert document.position(("a",)) == (1, 1)
    assert document.position(("a", "b")) == (2, 3)
    assert document.position(("a", "c", 0)) == (4, 7)
    assert document.position(("a", "c", 1, "d")) == (5, 8)


def test_position_of_a_missing_field_falls_back_to_its_nearest_parent() -> None:
    document = parse("a:\n  b: 1\n")

    assert document.position(("a", "zzz", 3)) == (1, 1)


def test_problem_carries_the_file_line_column_and_field() -> None:
    document = parse("a:\n  b: 1\n")

    problem = document.problem(("a", "b"), "bad", expected="good")

    assert problem.render() == "drills/x.yaml:2:3: a.b: bad; expected good"


def test_field_paths_read_like_the_yaml() -> None:
    assert format_path(("spec", "steps", 2, "fault")) == "spec.steps[2].fault"
    assert format_path((0, "a")) == "[0].a"
    assert format_path(()) == ""


def test_duplicate_key_error_names_both_lines() -> None:
    message = refusal("name: a\nowner: me\nname: b\n")

    assert message == (
        "drills/x.yaml:3:1: name: duplicate key `name`; "
        "expected each key once (first seen on line 1)"
    )


def test_duplicate_key_in_a_nested_mapping_names_its_field_path() -> None:
    message = refusal("spec:\n  objectives:\n    rto: 5m\n    rpo: 1m\n    rto: 6m\n")

    assert message.startswith("drills/x.yaml:5:5: spec.objectives.rto: duplicate key `rto`")
    assert "first seen on line 3" in message


def test_billion_laughs_is_refused_before_it_expands() -> None:
    started = time.perf_counter()
    message = refusal(BILLION_LAUGHS)
    elapsed = time.perf_counter() - started

    assert "document expands to too many values (alias bomb?)" in message
    # Expanded, it would be a billion values and hours; refused, it takes well under a
    # second (benchmarks hold speed; this bound only proves it never expanded, under load).
    assert elapsed < 10.0


def test_aliases_within_the_budget_are_expanded() -> None:
    document = parse("base: &base {count: 1}\none: *base\ntwo: *base\n")

    assert document.data == {"base": {"count": 1}, "one": {"count": 1}, "two": {"count": 1}}


def test_a_recursive_alias_is_refused_instead_of_looping() -> None:
    message = refusal("a: &a [*a]\n")

    assert "nesting is too deep" in message


def test_merge_keys_are_expanded_and_keys_written_beside_them_win() -> None:
    document = parse("base: &b\n  x: 1\n  y: 1\nm:\n  x: 2\n  <<: *b\n")

    assert document.data["m"] == {"x": 2, "y": 1}
    assert document.position(("m", "x")) == (5, 3)
    assert document.position(("m", "y")) == (3, 3)


def test_merge_of_something_that_is_not_a_mapping_is_refused() -> None:
    assert "merge key `<<` needs a mapping; found str" in refusal("m:\n  <<: hello\n")


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 200, 200_000])
def test_deep_nesting_is_refused_quickly(levels: int) -> None:
    started = time.perf_counter()
    message = refusal("a: " + "[" * levels + "]" * levels + "\n")

    assert (
        message == "drills/x.yaml:1:68: (document): nesting is too deep; expected at most 64 levels"
    )
    assert time.perf_counter() - started < 1.0


def test_deeply_nested_block_mappings_are_refused() -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(100)) + "  " * 100 + "v: 1\n"

    assert "nesting is too deep; expected at most 64 levels" in refusal(text)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    levels = MAX_DEPTH - 1

    document = parse("a: " + "[" * levels + "1" + "]" * levels + "\n")

    value = document.data["a"]
    for _ in range(levels):
        value = value[0]
    assert value == 1


def test_hundred_digit_integer_is_refused() -> None:
    message = refusal("count: " + "1" * 100 + "\n")

    assert message == (
        "drills/x.yaml:1:8: count: number is too large; expected at most 30 digits, "
        "found 100 digits"
    )


def test_integers_beyond_the_digest_range_are_refused_at_their_line() -> None:
    message = refusal("seed: 1\ncount: 9007199254740992\n")

    assert message.startswith("drills/x.yaml:2:8: count: number is too large")


def test_the_largest_exact_integer_is_accepted() -> None:
    assert parse("n: -9007199254740991\n").data == {"n": -9007199254740991}


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1.0e+400"])
def test_nan_and_infinity_are_refused(text: str) -> None:
    assert f"drills/x.yaml:1:4: n: number is not finite; found {text}" == refusal(f"n: {text}\n")


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object:os.system {}",
        "!!python/object/apply:os.system [echo hacked]",
        "!!python/name:os.system ''",
        "!!python/tuple [1, 2]",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "!custom {a: 1}",
        "!custom [1]",
        "!custom text",
    ],
)
def test_custom_and_python_tags_are_refused(text: str) -> None:
    message = refusal(f"value: {text}\n")

    assert message.startswith("drills/x.yaml:1:8: value: unsupported YAML tag `")
    assert "expected plain text, numbers, booleans, lists and mappings" in message


def test_a_mapping_used_as_a_key_is_refused() -> None:
    assert "mapping key is not a plain value" in refusal("? [a, b]\n: 1\n")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_is_refused(text: str) -> None:
    assert refusal(text) == "drills/x.yaml: (document): file is empty; expected a YAML mapping"


def test_a_nul_character_is_refused() -> None:
    assert refusal("name: a\x00b\n") == "drills/x.yaml: (document): file contains a NUL character"


def test_two_documents_in_one_file_are_refused() -> None:
    assert "drills/x.yaml:2:1: (document): not valid YAML" in refusal("a: 1\n---\nb: 2\n")


def test_malformed_yaml_names_the_line_and_column() -> None:
    message = refusal("a: 1\nb:\n\t- c\n")

    assert message.startswith("drills/x.yaml:3:1: (document): not valid YAML: ")


def test_a_top_level_list_is_data_the_models_refuse_later() -> None:
    assert parse("- a\n- b\n").data == ["a", "b"]


def test_yaml_timestamps_stay_text_and_booleans_are_booleans() -> None:
    document = parse("when: 2026-11-27T00:00:00Z\nday: 2026-11-27\non: yes\noff: off\n")

    assert document.data == {
        "when": "2026-11-27T00:00:00Z",
        "day": "2026-11-27",
        "on": True,
        "off": False,
    }


def test_unicode_text_survives(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("owner: \u05e6\u05d5\u05d5\u05ea \U0001f525\ndescription: \u202eevil\n")

    assert load_source(path).data == {
        "owner": "\u05e6\u05d5\u05d5\u05ea \U0001f525",
        "description": "\u202eevil",
    }


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("\ufeffname: a\n".encode())

    assert load_source(path).data == {"name": "a"}


def test_non_utf8_bytes_are_refused_with_their_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"name: caf\xe9\n")

    with pytest.raises(InvalidDocument) as caught:
        load_source(path, display="drills/x.yaml")

    assert caught.value.diagnostics() == (
        "drills/x.yaml: (document): file is not UTF-8 text; found byte 0xe9 at offset 9"
    )


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(bytes(range(256)) * 16)

    with pytest.raises(InvalidDocument, match="file is not UTF-8 text"):
        load_source(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_FILE_BYTES + b"\n")

    with pytest.raises(InvalidDocument, match="file is too large; expected at most 2048 KiB"):
        load_source(path)


def test_a_missing_file_says_so_and_how_references_resolve(tmp_path: Path) -> None:
    with pytest.raises(InvalidDocument) as caught:
        load_source(tmp_path / "nope.yaml", display="probes/nope.yaml")

    assert caught.value.diagnostics() == (
        "probes/nope.yaml: (document): file not found\n"
        "  fix: check the path; references resolve from the repository root"
    )


def test_json_files_keep_positions(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "title": "t",\n  "method": [\n    {"name": "a"}\n  ]\n}\n')

    document = load_source(path)

    assert document.data == {"title": "t", "method": [{"name": "a"}]}
    assert document.position(("method", 0, "name")) == (4, 6)


def test_json_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "title": "a",\n  "method": [],\n  "title": "b"\n}\n')

    with pytest.raises(InvalidDocument) as caught:
        load_source(path, display="experiments/x.json")

    assert caught.value.diagnostics() == (
        "experiments/x.json:4:3: title: duplicate key `title`; "
        "expected each key once (first seen on line 2)"
    )


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_json_numbers_that_are_not_finite_are_refused(tmp_path: Path, number: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(f'{{"title": "t", "n": {number}}}')

    with pytest.raises(InvalidDocument, match="number is not finite"):
        load_source(path)


def test_json_hundred_digit_integer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"title": "t",\n "n": ' + "1" * 100 + "}")

    with pytest.raises(InvalidDocument) as caught:
        load_source(path, display="experiments/x.json")

    assert caught.value.diagnostics().startswith(
        "experiments/x.json:2:7: n: number is too large; expected at most 30 digits"
    )


def test_json_nested_too_deep_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[" * 100_000 + "]" * 100_000)

    started = time.perf_counter()
    with pytest.raises(InvalidDocument, match="nesting is too deep"):
        load_source(path)
    assert time.perf_counter() - started < 1.0


def test_json_syntax_errors_name_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "title": "t",\n}\n')

    with pytest.raises(InvalidDocument) as caught:
        load_source(path, display="experiments/x.json")

    assert caught.value.diagnostics().startswith(
        "experiments/x.json:3:1: (document): not valid JSON"
    )
