"""The JSON Schema of ``report.json``, published as ``schemas/report.schema.json``.

Consumers of evidence (dashboards, audit tooling) validate reports against
it without drillkit. It is generated from the report model by the same code
as the drill repository schemas (``drill schema all --write schemas``), in
serialization mode since it describes JSON drillkit writes; a test fails when
the committed copy drifts from the model.
"""

from __future__ import annotations

import json
from typing import Any

from drillkit.evidence.report_model import Report
from drillkit.spec.schema import model_schema

REPORT_KIND = "report"


def report_schema() -> dict[str, Any]:
    return model_schema(Report, REPORT_KIND, mode="serialization")


def report_schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"
