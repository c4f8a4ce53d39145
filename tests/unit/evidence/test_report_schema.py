"""schemas/report.schema.json: generated from the report model, published, and true of real
report.json files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from drillkit.evidence.report import build_report, report_json
from drillkit.evidence.report_model import SCHEMA_VERSION, SCHEMA_VERSIONS, Report, SchemaVersion
from drillkit.evidence.report_schema import report_schema, report_schema_text
from drillkit.spec.schema import SCHEMA_BASE
from tests.conftest import REAL_REPOSITORY
from tests.support.drill_cli import run_drill
from tests.support.report_runs import RUN_KINDS, finished_run

COMMITTED = REAL_REPOSITORY / "schemas" / "report.schema.json"


def validator() -> Any:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_drill(*args, cwd=cwd)


def test_the_committed_report_schema_matches_the_model() -> None:
    assert COMMITTED.is_file(), "run `drill schema all --write schemas`"
    assert COMMITTED.read_text(encoding="utf-8") == report_schema_text(), (
        "schemas/report.schema.json is stale: run `drill schema all --write schemas`"
    )


def test_the_report_schema_is_draft_2020_12_closed_and_named() -> None:
    schema = report_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{SCHEMA_BASE}report.schema.json"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["schemaVersion"] == {
        "enum": ["1.0.0", "1.1.0"],
        "title": "Schemaversion",
        "type": "string",
    }


def test_every_schema_version_the_model_accepts_is_one_drillkit_knows() -> None:
    assert get_args(SchemaVersion) == SCHEMA_VERSIONS
    assert SCHEMA_VERSIONS[-1] == SCHEMA_VERSION


def test_a_1_0_0_report_without_the_signed_field_still_validates_as_signed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    document = json.loads(
        report_json(build_report(finished_run("passing", tmp_path_factory).run_dir))
    )
    document["schemaVersion"] = "1.0.0"
    del document["verification"]["signed"]

    assert [error.message for error in validator().iter_errors(document)] == []
    assert Report.model_validate(document).verification.signed is True


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_every_real_report_json_satisfies_the_published_schema(
    tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    document = json.loads(report_json(build_report(finished_run(kind, tmp_path_factory).run_dir)))

    assert [error.message for error in validator().iter_errors(document)] == []


def test_the_schema_refuses_a_field_it_does_not_define(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    document = json.loads(
        report_json(build_report(finished_run("passing", tmp_path_factory).run_dir))
    )
    document["run"]["verdict"] = "mostly-fine"
    document["notes"] = "added later"

    messages = [error.message for error in validator().iter_errors(document)]

    assert any("'notes' was unexpected" in m for m in messages)
    assert any("'mostly-fine' is not one of" in m for m in messages)


def test_drill_schema_prints_and_writes_the_report_schema(tmp_path: Path) -> None:
    printed = drill("schema", "report", cwd=tmp_path)
    written = drill("schema", "all", "--write", str(tmp_path / "out"), cwd=tmp_path)

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == COMMITTED.read_text(encoding="utf-8")
    assert written.returncode == 0, written.stderr
    assert f"wrote {tmp_path / 'out' / 'report.schema.json'}" in written.stdout
    assert (tmp_path / "out" / "report.schema.json").read_text() == printed.stdout
