"""The ``report`` check of ``drill verify``: report.json is a valid report of the signed run.

The subjects check proves report.json is the file that was signed; this one
proves the signed file says what an auditor will read it as. A key holder
can sign anything, so a report that does not parse, that a newer (or
hand-edited) drillkit wrote in a schema this one does not know, or that
describes another run (copied from another folder) must fail here rather
than be read as this run's result. The report model is the source of the
published JSON Schema (``schemas/report.schema.json``), so validating with
it is validating against the schema; the version is checked first, so an
unknown version is named as such, not as a pile of unexpected fields. The
report is tied to the run by the signed predicate's run id, drill digest and
journal head, which the report repeats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from drillkit.evidence.attestation import InvalidAttestation, RunPredicate, strict_json

REPORT = "report.json"
_SCHEMA = "schemas/report.schema.json"


class ReportProblem(Exception):
    """What is wrong with report.json: the problem, what was expected, what was found."""

    def __init__(self, problem: str, *, expected: str, found: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.expected = expected
        self.found = found


def check_report(raw: bytes, run: RunPredicate) -> str:
    """Check report.json's bytes against ``run``; returns what held, or ``ReportProblem``."""
    from pydantic import ValidationError

    from drillkit.evidence.report_model import SCHEMA_VERSIONS, Report

    try:
        document = strict_json(raw, "a report (a JSON object)")
    except InvalidAttestation as exc:
        raise ReportProblem(exc.problem, expected=exc.expected, found=exc.found) from None
    if not isinstance(document, dict):
        raise ReportProblem(
            "the report is not a JSON object", expected="a JSON object", found=_found(document)
        )
    version = document.get("schemaVersion")
    if version not in SCHEMA_VERSIONS:
        raise ReportProblem(
            "the report's schemaVersion is not one this drillkit knows",
            expected=f"one of {', '.join(SCHEMA_VERSIONS)}",
            found=_found(version),
        )
    try:
        report = Report.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ReportProblem(
            "the report does not match the report schema",
            expected=f"a report valid against {_SCHEMA} (schemaVersion {version})",
            found=f"{_location(first['loc'])}: {first['msg']}{more}"[:300],
        ) from None
    if report.run.run_id != run.run_id:
        raise ReportProblem(
            "the report is about another run",
            expected=f"run id {run.run_id}",
            found=f"run id {_short(report.run.run_id)}",
        )
    if report.drill.digest != run.digest:
        raise ReportProblem(
            "the report is about another drill definition",
            expected=f"drill digest {run.digest}",
            found=f"drill digest {_short(report.drill.digest)}",
        )
    head = report.sources.journal_head
    if head != run.journal_head:
        raise ReportProblem(
            "the report was computed from another journal",
            expected=f"journal head {run.journal_head}",
            found=f"journal head {_short(head)}",
        )
    return f"schema {version}, run {run.run_id}, drill digest and journal head as signed"


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _found(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict | list):
        return "a JSON object" if isinstance(value, dict) else "a list"
    return _short(json.dumps(value, ensure_ascii=True))


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
