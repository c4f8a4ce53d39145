"""JSON Schemas for drill repository files, so editors can autocomplete and check YAML.

The committed copies under ``schemas/`` are generated from the models by
``drill schema all --write schemas``; a test fails when they drift. Field
descriptions come from the attribute docstrings in the model modules. They
are read here, with ``ast``, and not by pydantic at class creation, which
would cost every ``drill validate`` a tenth of a second.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import sys
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from drillkit.spec.drill import Drill, ProbeDocument, Runbook
from drillkit.spec.targets import TargetRegistry

SCHEMA_BASE = "https://drillkit.io/schemas/v1/"
DOCUMENTS: dict[str, type[BaseModel]] = {
    "drill": Drill,
    "probe": ProbeDocument,
    "runbook": Runbook,
    "targets": TargetRegistry,
}


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one document kind, with field descriptions."""
    return model_schema(DOCUMENTS[kind], kind)


def model_schema(
    model: type[BaseModel], kind: str, mode: Literal["validation", "serialization"] = "validation"
) -> dict[str, Any]:
    """The JSON Schema of any camelCase model, published as ``<kind>.schema.json``.

    Files drillkit writes (the evidence report) use ``mode="serialization"``:
    their schema describes the JSON as written, not as read.
    """
    schema = model.model_json_schema(by_alias=True, mode=mode)
    docs = _attribute_docs(model)
    for name, definition in [(model.__name__, schema), *schema.get("$defs", {}).items()]:
        for alias, prop in definition.get("properties", {}).items():
            text = docs.get((name, alias))
            if text and "description" not in prop:
                prop["description"] = text
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{kind}.schema.json",
        **schema,
    }


def schema_text(kind: str) -> str:
    return json.dumps(schema_for(kind), indent=2, ensure_ascii=False) + "\n"


def _attribute_docs(root: type[BaseModel]) -> dict[tuple[str, str], str]:
    """(class name, YAML key) -> the docstring written under that attribute."""
    docs: dict[tuple[str, str], str] = {}
    modules = {sys.modules[m.__module__] for m in _all_models(root)}
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            body = node.body
            for current, following in itertools.pairwise(body):
                if (
                    isinstance(current, ast.AnnAssign)
                    and isinstance(current.target, ast.Name)
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                ):
                    key = to_camel(current.target.id)
                    docs[(node.name, key)] = inspect.cleandoc(following.value.value)
    return docs


def _all_models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [root]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return seen


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(arg))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        found.extend(_models_in(origin))
    return found
