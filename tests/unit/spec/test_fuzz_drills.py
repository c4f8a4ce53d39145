"""Property: whatever a drill file contains, loading it succeeds or raises a DrillError.

Valid drills from the repository are mutated the ways people and tools break
YAML: keys deleted or misspelt, values of the wrong type (huge numbers, NaN,
emoji, right-to-left text, very long text), duplicated keys, anchors and
aliases, truncation mid-byte and binary noise. A ``KeyError``, ``TypeError``
or ``RecursionError`` escaping the loader would be a crash the user sees as a
traceback; a ``DrillError`` is a message they can act on.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drillkit.errors import DrillError
from drillkit.spec.repository import DrillRepository
from drillkit.spec.source import load_source, parse_yaml
from tests.conftest import REAL_REPOSITORY, REPOSITORY_FOLDERS

BASE_DRILLS: dict[str, Any] = {
    path.stem: load_source(path).data
    for path in sorted((REAL_REPOSITORY / "drills").glob("*.yaml"))
}

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

AWKWARD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "🔥💥🧯",
        "\u05e9\u05dc\u05d5\u05dd",  # Hebrew, right to left
        "\u202eeteled\u202c",  # right-to-left override
        "\u0627\u0644\u0633\u0644\u0627\u0645",  # Arabic
        "e\u0301\u0301\u0301",
        "\x85\u2028\u2029",
        "${orders_url}",
        "$${orders_url}",
        "${undefined_variable}",
        "5m",
        "1.0.0",
        "-1",
        "*",
        "probes/orders-http.yaml",
        "../../etc/passwd",
        "C:\\Windows",
        "null",
        "<<",
    ]
)
OTHER_VALUES = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=2**53, max_value=10**40),
    st.integers(max_value=-(2**53)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=5), max_size=3),
    st.text(max_size=30),
    AWKWARD_TEXT,
    st.just("x" * 100_000),
)


def all_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(all_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(all_paths(item, (*prefix, index)))
    return found


def parent_of(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def near_miss(draw: st.DrawFn, key: str) -> str:
    if not key:
        return "x"
    index = draw(st.integers(0, len(key) - 1))
    kind = draw(st.sampled_from(["drop", "swap", "double", "case", "snake", "plural", "space"]))
    if kind == "drop":
        return key[:index] + key[index + 1 :] or "x"
    if kind == "swap" and len(key) > 1:
        index = min(index, len(key) - 2)
        return key[:index] + key[index + 1] + key[index] + key[index + 2 :]
    if kind == "double":
        return key[:index] + key[index] + key[index:]
    if kind == "case":
        return key[:index] + key[index].swapcase() + key[index + 1 :]
    if kind == "snake":
        return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)
    if kind == "plural":
        return key[:-1] if key.endswith("s") else key + "s"
    return key + " "


@st.composite
def mutated_data(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(BASE_DRILLS)))
    data = copy.deepcopy(BASE_DRILLS[name])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in all_paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = parent_of(data, path)
        action = draw(st.sampled_from(["delete", "replace", "rename"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(OTHER_VALUES)
        elif isinstance(parent, dict):
            value = parent.pop(path[-1])
            parent[near_miss(draw, path[-1])] = value
    return name, data


KEY_LINE = re.compile(r"^(\s*)(- )?([\w.-]+):(.*)$")
SCALAR_LINE = re.compile(r"^(\s*(?:- )?[\w.-]+: )(\S.*)$")
SMALL_EXPANSION = (
    "x-anchors:\n"
    "  a: &a [1, 2, 3, 4]\n"
    "  b: &b [*a, *a, *a, *a]\n"
    "  c: &c [*b, *b, *b, *b]\n"
    "  d: {<<: {k: *c}, e: *c}\n"
)


def duplicate_a_key(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
    if not keyed:
        return text
    index = draw(st.sampled_from(keyed))
    copy_line = re.sub(r"^(\s*)- ", r"\1  ", lines[index])
    offset = draw(st.integers(min_value=1, max_value=3))
    lines.insert(min(index + offset, len(lines)), copy_line)
    return "".join(lines)


def insert_an_alias(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    scalars = [i for i, line in enumerate(lines) if SCALAR_LINE.match(line.rstrip("\n"))]
    if len(scalars) < 2:
        return text
    first, second = draw(st.lists(st.sampled_from(scalars), min_size=2, max_size=2, unique=True))
    lines[first] = SCALAR_LINE.sub(r"\1&fuzz \2", lines[first].rstrip("\n")) + "\n"
    lines[second] = SCALAR_LINE.sub(r"\1*fuzz", lines[second].rstrip("\n")) + "\n"
    return "".join(lines)


def add_expanding_aliases(draw: st.DrawFn, text: str) -> str:
    return SMALL_EXPANSION + text if draw(st.booleans()) else text + SMALL_EXPANSION


@st.composite
def mutated_drill_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name, data = draw(mutated_data())
    text = yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=draw(st.booleans())
    )
    text_mutation = draw(
        st.sampled_from(["none", "duplicate", "alias", "expansion", "truncate", "noise"])
    )
    if text_mutation == "duplicate":
        text = duplicate_a_key(draw, text)
    elif text_mutation == "alias":
        text = insert_an_alias(draw, text)
    elif text_mutation == "expansion":
        text = add_expanding_aliases(draw, text)
    raw = text.encode("utf-8")
    if text_mutation == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif text_mutation == "noise":
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return name, raw


@pytest.fixture(scope="module")
def fuzz_repository(tmp_path_factory: pytest.TempPathFactory) -> DrillRepository:
    import shutil

    root = tmp_path_factory.mktemp("fuzz") / "repo"
    for folder in REPOSITORY_FOLDERS:
        shutil.copytree(REAL_REPOSITORY / folder, root / folder)
    return DrillRepository(root)


def assert_a_user_facing_error(error: DrillError) -> None:
    diagnostics = error.diagnostics()
    assert isinstance(diagnostics, str)
    assert diagnostics.strip()
    assert "Traceback" not in diagnostics


def test_every_real_drill_is_a_valid_starting_point(fuzz_repository: DrillRepository) -> None:
    assert sorted(BASE_DRILLS) == fuzz_repository.drill_names()
    for path in fuzz_repository.drill_paths():
        fuzz_repository.load_drill(path)


@FUZZ_SETTINGS
@given(case=mutated_drill_file())
def test_a_mutated_drill_loads_or_raises_a_drill_error(
    fuzz_repository: DrillRepository, case: tuple[str, bytes]
) -> None:
    name, raw = case
    path = fuzz_repository.drills_dir / f"{name}.yaml"
    path.write_bytes(raw)

    try:
        drill = fuzz_repository.load_drill(path)
    except DrillError as error:
        assert_a_user_facing_error(error)
    else:
        assert drill.digest.startswith("sha256:")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200))
def test_any_text_parses_or_raises_a_drill_error(text: str) -> None:
    try:
        parse_yaml(text, path=Path("x.yaml"), display="x.yaml")
    except DrillError as error:
        assert_a_user_facing_error(error)


@settings(max_examples=200, deadline=None)
@given(
    raw=st.binary(max_size=200),
    suffix=st.sampled_from([".yaml", ".json"]),
)
def test_any_bytes_load_or_raise_a_drill_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes, suffix: str
) -> None:
    path = tmp_path_factory.getbasetemp() / f"fuzzed{suffix}"
    path.write_bytes(raw)
    try:
        load_source(path)
    except DrillError as error:
        assert_a_user_facing_error(error)
