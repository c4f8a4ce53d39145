"""Read a YAML or JSON file into plain data while remembering where every value came from.

Errors must name ``file:line`` for the exact field, so we compose the YAML
node graph (which keeps marks) and build the Python values ourselves instead
of calling ``yaml.safe_load``. Building it ourselves is also where the
hostile cases are refused: duplicate keys, alias bombs (every value reached
through an alias counts against a budget), absurd nesting, huge integers and
custom tags. Nothing here knows what a drill is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drillkit.errors import InvalidDocument, Problem

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_VALUES = 100_000
MAX_DEPTH = 64
MAX_INT_DIGITS = 30
MAX_SAFE_INT = 2**53 - 1  # RFC 8785 (and so every digest) refuses integers beyond this

# The C composer is several times faster; fall back when libyaml is absent.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"


@dataclass
class SourceDocument:
    """Plain data from one file plus the line/column of every value in it."""

    path: Path
    display: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, where: Path_) -> tuple[int | None, int | None]:
        """The 1-based line and column of ``where``, or of its nearest known parent."""
        probe = tuple(where)
        while True:
            if probe in self.positions:
                line, column = self.positions[probe]
                return line, column
            if not probe:
                return None, None
            probe = probe[:-1]

    def problem(self, where: Path_, message: str, **details: str | None) -> Problem:
        line, column = self.position(where)
        return Problem(
            file=self.display,
            line=line,
            column=column,
            field=format_path(where),
            message=message,
            **details,
        )


def format_path(where: Path_) -> str:
    """``('spec', 'steps', 2, 'fault')`` -> ``spec.steps[2].fault``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class _Refused(Exception):
    """Raised inside the builder; turned into a Problem with the node's position."""

    def __init__(self, node: yaml.Node, where: Path_, message: str, **details: str) -> None:
        super().__init__(message)
        self.node = node
        self.where = where
        self.message = message
        self.details = details


class _Builder:
    def __init__(self) -> None:
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.values = 0

    def build(self, node: yaml.Node, where: Path_, depth: int) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Refused(
                node,
                where,
                "document expands to too many values (alias bomb?)",
                expected=f"at most {MAX_VALUES:,} values after anchors and aliases are expanded",
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                node, where, "nesting is too deep", expected=f"at most {MAX_DEPTH} levels"
            )
        self.positions.setdefault(where, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            plain = _TAG + ("map" if isinstance(node, yaml.MappingNode) else "seq")
            if node.tag != plain:
                raise _Refused(
                    node,
                    where,
                    f"unsupported YAML tag `{node.tag}`",
                    expected="plain text, numbers, booleans, lists and mappings",
                )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*where, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, where)

    def _mapping(self, node: yaml.MappingNode, where: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        # Merge sources first: building them records their keys' positions under
        # ``where``, and the keys written here must overwrite those, not the reverse.
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.update(self._merge_source(value_node, where, depth))
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(
                    key_node,
                    where,
                    "mapping key is not a plain value",
                    expected="a text key",
                    found="a list or mapping",
                )
            key = str(key_node.value)
            if key in result:
                first_line = self.positions.get((*where, key), (0, 0))[0]
                raise _Refused(
                    key_node,
                    (*where, key),
                    f"duplicate key `{key}`",
                    expected=f"each key once (first seen on line {first_line})",
                )
            self.positions[(*where, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = self.build(value_node, (*where, key), depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, where: Path_, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            value = self.build(source, where, depth + 1)
            if not isinstance(value, dict):
                raise _Refused(
                    source, where, "merge key `<<` needs a mapping", found=type(value).__name__
                )
            for key, item in value.items():
                merged.setdefault(key, item)
        return merged

    def _scalar(self, node: yaml.ScalarNode, where: Path_) -> Any:
        tag = node.tag
        text = node.value
        if tag == _TAG + "str" or tag == _TAG + "timestamp":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return text.lower() in ("true", "yes", "on")
        if tag == _TAG + "int":
            digits = text.lstrip("+-").replace("_", "")
            if len(digits) > MAX_INT_DIGITS:
                raise _Refused(
                    node,
                    where,
                    "number is too large",
                    expected=f"at most {MAX_INT_DIGITS} digits",
                    found=f"{len(digits)} digits",
                )
            number = int(yaml.SafeLoader.construct_yaml_int(_CONSTRUCTOR, node))
            if abs(number) > MAX_SAFE_INT:
                raise _Refused(
                    node,
                    where,
                    "number is too large",
                    expected="a whole number within ±(2^53 - 1), which JSON and digests keep exact",
                    found=text,
                )
            return number
        if tag == _TAG + "float":
            value = float(yaml.SafeLoader.construct_yaml_float(_CONSTRUCTOR, node))
            if math.isnan(value) or math.isinf(value):
                raise _Refused(node, where, "number is not finite", found=text)
            return value
        raise _Refused(
            node,
            where,
            f"unsupported YAML tag `{tag}`",
            expected="plain text, numbers, booleans, lists and mappings",
        )


_CONSTRUCTOR = yaml.SafeLoader("")


def load_source(path: Path, *, display: str | None = None) -> SourceDocument:
    """Read ``path`` (YAML, or JSON by suffix) into a ``SourceDocument``.

    Raises ``InvalidDocument`` for anything that is not one well-formed document.
    """
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidDocument(
            [Problem(shown, None, None, "", "file not found")],
            fix="check the path; references resolve from the repository root",
        ) from None
    except OSError as exc:
        raise InvalidDocument(
            [Problem(shown, None, None, "", f"cannot read file: {exc.strerror}")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidDocument(
            [
                Problem(
                    shown,
                    None,
                    None,
                    "",
                    "file is too large",
                    expected=f"at most {MAX_FILE_BYTES // 1024} KiB",
                    found=f"{len(raw) // 1024} KiB",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDocument(
            [
                Problem(
                    shown,
                    None,
                    None,
                    "",
                    "file is not UTF-8 text",
                    found=f"byte {raw[exc.start]:#04x} at offset {exc.start}",
                )
            ]
        ) from None
    if path.suffix == ".json":
        return _parse_json(path, shown, text)
    return parse_yaml(text, path=path, display=shown)


def parse_yaml(text: str, *, path: Path, display: str) -> SourceDocument:
    """Parse YAML ``text`` that came from ``display`` into a ``SourceDocument``."""
    if "\x00" in text:
        raise InvalidDocument([Problem(display, None, None, "", "file contains a NUL character")])
    try:
        _refuse_deep_nesting(text, display)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        reason = exc.problem or exc.context or "malformed YAML"
        raise InvalidDocument(
            [Problem(display, line, column, "", f"not valid YAML: {reason}")]
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidDocument(
            [Problem(display, None, None, "", f"not valid YAML: {exc}")]
        ) from None
    except RecursionError:
        raise InvalidDocument(
            [
                Problem(
                    display,
                    None,
                    None,
                    "",
                    "nesting is too deep",
                    expected=f"at most {MAX_DEPTH} levels",
                )
            ]
        ) from None
    if node is None:
        raise InvalidDocument(
            [Problem(display, None, None, "", "file is empty", expected="a YAML mapping")]
        )
    builder = _Builder()
    try:
        data = builder.build(node, (), 0)
    except _Refused as exc:
        line = exc.node.start_mark.line + 1
        column = exc.node.start_mark.column + 1
        raise InvalidDocument(
            [Problem(display, line, column, format_path(exc.where), exc.message, **exc.details)]
        ) from None
    return SourceDocument(path=path, display=display, data=data, positions=builder.positions)


def _refuse_deep_nesting(text: str, display: str) -> None:
    """Refuse absurd nesting from the event stream, before composing.

    libyaml's composer recurses once per level on the C stack: tens of
    thousands of ``[`` take seconds and then crash the interpreter, so the
    depth limit must hold before ``compose`` runs, not only in the builder.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH + 1:
                mark = event.start_mark
                raise InvalidDocument(
                    [
                        Problem(
                            display,
                            mark.line + 1 if mark else None,
                            mark.column + 1 if mark else None,
                            "",
                            "nesting is too deep",
                            expected=f"at most {MAX_DEPTH} levels",
                        )
                    ]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _parse_json(path: Path, display: str, text: str) -> SourceDocument:
    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key `{key}`")
            result[key] = value
        return result

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"number is not finite: {name}")

    def checked_int(digits: str) -> int:
        number = int(digits) if len(digits) <= MAX_INT_DIGITS + 1 else MAX_SAFE_INT + 1
        if abs(number) > MAX_SAFE_INT:
            raise ValueError(f"number is too large: {digits[:MAX_INT_DIGITS]}")
        return number

    def checked_float(digits: str) -> float:
        number = float(digits)
        if math.isinf(number):
            raise ValueError(f"number is not finite: {digits[:MAX_INT_DIGITS]}")
        return number

    try:
        data = json.loads(
            text,
            object_pairs_hook=refuse_duplicates,
            parse_constant=refuse_constant,
            parse_int=checked_int,
            parse_float=checked_float,
        )
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            [Problem(display, exc.lineno, exc.colno, "", f"not valid JSON: {exc.msg}")]
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = "nesting is too deep" if isinstance(exc, RecursionError) else str(exc)
        located = _locate_in_json(text, path, display, reason)
        raise InvalidDocument(
            [located or Problem(display, None, None, "", f"not valid JSON: {reason}")]
        ) from None
    # JSON parsing keeps no marks; YAML is a superset of JSON, so compose it again
    # for positions only when that is cheap and safe.
    try:
        positions = parse_yaml(text, path=path, display=display).positions
    except InvalidDocument:
        positions = {}
    return SourceDocument(path=path, display=display, data=data, positions=positions)


def _locate_in_json(text: str, path: Path, display: str, reason: str) -> Problem | None:
    """The same complaint with a line and column, found by reading the JSON as YAML."""
    try:
        parse_yaml(text, path=path, display=display)
    except InvalidDocument as exc:
        first = exc.problems[0]
        if first.line is not None and reason.startswith(first.message):
            return first
    return None
