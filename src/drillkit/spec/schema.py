"""JSON Schemas for drill repository files, so editors can autocomplete and check YAML.

The committed copies under ``schemas/`` are generated from the models by
``drill schema --write schemas``; a test fails when they drift.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

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
    """The JSON Schema (draft 2020-12) of one document kind."""
    model = DOCUMENTS[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{kind}.schema.json",
        **schema,
    }


def schema_text(kind: str) -> str:
    return json.dumps(schema_for(kind), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
