"""Turn pydantic's validation errors into problems a person can fix.

Pydantic reports a location in model terms (union tags included) and a
terse message; a user needs ``file:line``, the field path as written in
their YAML, what was expected, what was found, and for a misspelt key the
key they probably meant. The location is mapped back onto the raw data
(skipping union tags), and the model at that location is found by walking
the type annotations, which gives the set of allowed keys for suggestions.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from drillkit.errors import Problem
from drillkit.spec.source import Path_, SourceDocument

_MAX_FOUND = 60


def problems_from(
    error: ValidationError, source: SourceDocument, model: type[BaseModel]
) -> list[Problem]:
    """One Problem per pydantic error, most specific first, duplicates removed."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for detail in _most_specific(error.errors()):
        problem = _problem(detail, source, model)
        key = (problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    return problems


def _most_specific(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop errors that only restate a failed union when a deeper error explains it."""
    kept = [e for e in errors if e["type"] not in ("union_tag_not_found",) or len(errors) == 1]
    return kept or errors


def _data_path(
    data: Any, loc: tuple[int | str, ...], model: type[BaseModel] | None = None
) -> Path_:
    """Map a pydantic location onto the raw data, skipping union tags.

    With ``model`` the annotations say which parts are union tags (a step's
    ``fault``, a probe's ``inline`` and ``http``); the guesses below are kept
    for locations the annotations do not reach (free-form mappings).
    """
    path: list[str | int] = []
    current = data
    annotation: Any = model
    for index, part in enumerate(loc):
        if annotation is not None and _is_tagged_union(annotation):
            annotation = _step_into(annotation, part)
            continue  # a union tag: not a key of the user's data
        if annotation is not None:
            annotation = _step_into(_without_none(annotation), part)
            if annotation is not None:
                if isinstance(current, dict) and part in current:
                    current = current[part]
                elif isinstance(current, list) and isinstance(part, int) and part < len(current):
                    current = current[part]
                else:
                    current = None
                path.append(part)
                continue
        following = loc[index + 1] if index + 1 < len(loc) else None
        if following == part and isinstance(part, str):
            continue  # a union tag named like the field that follows it
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif isinstance(part, str):
            continue  # a union tag (``inline``, ``http``) or ``[key]``: not in the user's data
        else:
            path.append(part)
            current = None
    return tuple(path)


def _is_tagged_union(annotation: Any) -> bool:
    """A union of two or more types: pydantic puts the chosen member's tag in ``loc``."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) not in (Union, types.UnionType):
        return False
    return len([m for m in get_args(annotation) if m is not type(None)]) > 1


def _without_none(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (pydantic reports no tag for an optional field)."""
    inner = _unwrap(annotation)
    if get_origin(inner) in (Union, types.UnionType):
        members = [m for m in get_args(inner) if m is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _missing_path(
    data: Any, loc: tuple[int | str, ...], model: type[BaseModel] | None = None
) -> Path_:
    """Where a missing key belongs: its parent mapping in the data, plus the key."""
    parent = _data_path(data, loc[:-1], model)
    value: Any = data
    for part in parent:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            value = None
    if not isinstance(value, dict) and parent and isinstance(parent[-1], str):
        parent = parent[:-1]  # the last part was a tag (``wait``), not a mapping
    return (*parent, loc[-1])


def _problem(detail: ErrorDetails, source: SourceDocument, model: type[BaseModel]) -> Problem:
    loc = tuple(detail["loc"])
    where = _data_path(source.data, loc, model)
    kind = detail["type"]
    ctx = detail.get("ctx", {}) or {}
    found = _show(detail.get("input"))
    if kind == "extra_forbidden":
        parent_fields = _fields_at(model, loc[:-1])
        key = str(loc[-1])
        suggestion = _closest(key, parent_fields)
        expected = (
            "one of " + ", ".join(f"`{f}`" for f in sorted(parent_fields))
            if parent_fields and len(parent_fields) <= 12
            else None
        )
        return source.problem(
            where, "unknown field", expected=expected, found=f"`{key}`", suggestion=suggestion
        )
    if kind == "missing":
        where = _missing_path(source.data, loc, model) if loc else where
        return source.problem(
            where, "required field is missing", expected=f"`{where[-1]}`" if where else None
        )
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag", ""))
        return source.problem(
            (*where, str(ctx.get("discriminator", "type")).strip("'")),
            f"unknown {ctx.get('discriminator', 'type')}".replace("'", ""),
            expected="one of " + ", ".join(f"`{t}`" for t in tags if t),
            found=f"`{tag}`",
            suggestion=_closest(tag, tags),
        )
    if kind == "union_tag_not_found":
        return source.problem(
            where,
            f"required field `{ctx.get('discriminator', 'type')}` is missing".replace("'", ""),
            found=found,
        )
    if kind == "step_kind":
        present = ", ".join(f"`{k}`" for k in _present_step_keys(detail.get("input")))
        return source.problem(where, detail["msg"], found=present or "none of them")
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '\"") for o in expected.replace(" or ", ",").split(",")]
        value = detail.get("input")
        suggestion = _closest(value, options) if isinstance(value, str) else None
        return source.problem(
            where,
            "value not allowed",
            expected=expected.replace("'", "`"),
            found=found,
            suggestion=suggestion,
        )
    if kind == "value_error":
        message = str(ctx.get("error", detail["msg"]))
        return source.problem(where, message)
    if kind == "string_pattern_mismatch":
        return source.problem(
            where,
            "text does not have the expected form",
            expected=f"text matching `{ctx.get('pattern')}`",
            found=found,
        )
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return source.problem(where, "wrong type", expected="a mapping", found=_type_name(detail))
    if kind == "list_type":
        return source.problem(where, "wrong type", expected="a list", found=_type_name(detail))
    if kind in (
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "float_type",
        "int_from_float",
    ):
        wanted = {
            "string_type": "text",
            "int_type": "a whole number",
            "int_parsing": "a whole number",
            "int_from_float": "a whole number",
            "bool_type": "true or false",
            "bool_parsing": "true or false",
            "float_type": "a number",
        }[kind]
        return source.problem(where, "wrong type", expected=wanted, found=found)
    return source.problem(where, _lower_first(detail["msg"]), found=found)


def _present_step_keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [k for k in ("fault", "restore", "probe", "wait", "checkpoint") if k in value]


def _type_name(detail: ErrorDetails) -> str:
    value = detail.get("input")
    names = {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing (null)",
    }
    return f"{names.get(type(value), type(value).__name__)} {_show(value)}".strip()


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > _MAX_FOUND:
        text = text[: _MAX_FOUND - 1] + "…"
    return f"`{text}`" if not isinstance(value, str) else text


def _closest(word: str, options: list[str] | set[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if not matches:
        lowered = {o.lower(): o for o in options}
        matches = [lowered[word.lower()]] if word.lower() in lowered else []
    return matches[0] if matches else None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The YAML keys allowed at ``loc`` (aliases), or [] when unknown."""
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    models = _models_in(current)
    if len(models) != 1:
        return []
    return [info.alias or name for name, info in models[0].model_fields.items()]


def _step_into(annotation: Any, part: int | str) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, set) and isinstance(part, int):
        return args[0] if args else None
    if origin is dict and args:
        return args[1]
    if origin in (Union, types.UnionType):
        for member in args:
            inner = _unwrap(member)
            if _tag_of(member) == part or getattr(inner, "__name__", None) == part:
                return member
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                type_field = inner.model_fields.get("type")
                if type_field is not None and part in get_args(type_field.annotation):
                    return member
        return None
    return None


def _tag_of(annotation: Any) -> str | None:
    if get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                return tag
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        found: list[type[BaseModel]] = []
        for member in get_args(annotation):
            found.extend(m for m in _models_in(member) if m not in found)
        return found
    return []
