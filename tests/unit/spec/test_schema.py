"""The committed JSON Schemas match the models, and the repository's files satisfy them."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from drillkit.spec.schema import DOCUMENTS, SCHEMA_BASE, schema_for, schema_text
from drillkit.spec.source import load_source
from tests.conftest import REAL_REPOSITORY

SCHEMAS = REAL_REPOSITORY / "schemas"
FILES_BY_KIND = {
    "drill": sorted((REAL_REPOSITORY / "drills").glob("*.yaml")),
    "probe": sorted((REAL_REPOSITORY / "probes").glob("*.yaml")),
    "runbook": sorted((REAL_REPOSITORY / "runbooks").glob("*.yaml")),
    "targets": sorted(REAL_REPOSITORY.glob("targets*.yaml")),
}


def validator(kind: str) -> Any:
    pytest.importorskip("jsonschema")
    return _validator(kind)


@functools.cache
def _validator(kind: str) -> Any:
    import jsonschema

    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_the_committed_schema_matches_the_models(kind: str) -> None:
    committed = SCHEMAS / f"{kind}.schema.json"

    assert committed.is_file(), "run `drill schema all --write schemas`"
    assert committed.read_text(encoding="utf-8") == schema_text(kind), (
        f"{committed.name} is stale: run `drill schema all --write schemas`"
    )


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_each_schema_names_its_draft_and_id(kind: str) -> None:
    schema = schema_for(kind)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{SCHEMA_BASE}{kind}.schema.json"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("kind", "path"),
    [(kind, path) for kind, paths in FILES_BY_KIND.items() for path in paths],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_every_repository_file_satisfies_its_schema(kind: str, path: Path) -> None:
    errors = [error.message for error in validator(kind).iter_errors(load_source(path).data)]

    assert errors == []


def test_the_drill_schema_also_refuses_a_misspelt_objective() -> None:
    data = load_source(REAL_REPOSITORY / "drills" / "restore-orders.yaml").data
    data["spec"]["objectives"]["rot"] = data["spec"]["objectives"].pop("rto")

    errors = [error.message for error in validator("drill").iter_errors(data)]

    assert any("'rot' was unexpected" in message for message in errors)


def test_the_drill_schema_refuses_a_duration_without_a_unit() -> None:
    data = load_source(REAL_REPOSITORY / "drills" / "restore-orders.yaml").data
    data["spec"]["objectives"]["rto"] = "300"

    assert list(validator("drill").iter_errors(data))
