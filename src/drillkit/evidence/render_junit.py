"""``junit.xml``: the run as JUnit test results, so CI systems show drills like tests.

One ``testsuite`` named after the drill; one ``testcase`` per objective that
applies (declared, or implied by the drill's probes) and one per step.
Unmet objectives and failed steps are ``failure``s, steps that ended in an
error are ``error``s, and what was not tested (steps not run, objectives not
measured, everything in a dry run) is ``skipped``, so a green CI board
never counts an untested promise as kept. The XML is written by ElementTree
(every value escaped), and characters XML 1.0 cannot hold are replaced, since
drill text is user input.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from drillkit.evidence import report_text as words
from drillkit.evidence.report_model import ObjectiveResult, Report, StepResult

_COUNTERS = {"failure": "failures", "error": "errors", "skipped": "skipped"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(report: Report) -> bytes:
    suite = ET.Element("testsuite")
    cases = [_objective_case(report, o) for o in report.objectives if o.status != "not-set"]
    cases += [_step_case(report, s) for s in report.steps]
    counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    for case in cases:
        for child, counter in _COUNTERS.items():
            if case.find(child) is not None:
                counts[counter] += 1
    _set(
        suite,
        name=report.drill.name,
        id=report.run.run_id,
        timestamp=report.run.started_at.removesuffix("Z"),
        hostname=report.operator.host or "",
        time=f"{report.run.duration_seconds or 0.0:.3f}",
        **{key: str(value) for key, value in counts.items()},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(report):
        _set(ET.SubElement(properties, "property"), name=name, value=value)
    suite.extend(cases)
    output = ET.SubElement(suite, "system-out")
    output.text = _clean(f"{words.headline(report)}: {report.run.verdict_reason}")
    root = ET.Element("testsuites")
    _set(root, name=f"drill {report.drill.name}", **{k: str(v) for k, v in counts.items()})
    root.append(suite)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def _properties(report: Report) -> list[tuple[str, str]]:
    return [
        ("drill.version", report.drill.version),
        ("drill.digest", report.drill.digest),
        ("run.id", report.run.run_id),
        ("run.verdict", report.run.verdict),
        ("target", report.target.name),
        ("provider", report.target.provider),
        ("operator", words.operator_line(report)),
        ("rto", words.rto_figure(report)),
        ("rpo", words.rpo_figure(report)),
        *([("evidence.signed", "false")] if not report.verification.signed else []),
    ]


def _objective_case(report: Report, objective: ObjectiveResult) -> ET.Element:
    case = ET.Element("testcase")
    _set(
        case,
        classname=f"{report.drill.name}.objectives",
        name=f"{objective.name}: {objective.target}",
        time="0",
    )
    message = f"target {objective.target}, measured {objective.measured}"
    if objective.status == "not-met":
        _set(ET.SubElement(case, "failure"), message=message, type="ObjectiveNotMet")
    elif objective.status == "not-measured":
        skipped = "not tested in a dry run" if report.run.dry_run else message
        _set(ET.SubElement(case, "skipped"), message=skipped)
    return case


def _step_case(report: Report, step: StepResult) -> ET.Element:
    case = ET.Element("testcase")
    _set(
        case,
        classname=f"{report.drill.name}.steps.{step.kind}",
        name=f"{step.index:02d} {step.name}",
        time=f"{step.seconds or 0.0:.3f}",
    )
    detail = step.detail or step.summary or step.status
    if step.status in ("failed", "aborted", "interrupted"):
        failure = ET.SubElement(case, "failure")
        _set(failure, message=detail, type=f"Step{step.status.capitalize()}")
        failure.text = _clean(f"{step.action}\n{detail}")
    elif step.status == "error":
        _set(ET.SubElement(case, "error"), message=detail, type="StepError")
    elif step.status == "not-run":
        reason = "dry run: no step runs" if report.run.dry_run else "the run ended before it"
        _set(ET.SubElement(case, "skipped"), message=reason)
    if step.summary:
        output = ET.SubElement(case, "system-out")
        output.text = _clean(f"{step.action}\n{step.summary}")
    return case


def _set(element: ET.Element, **attributes: str) -> None:
    for key, value in attributes.items():
        element.set(key, _clean(value))


def _clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (NUL, most C0 controls)."""
    return _NOT_XML.sub("\ufffd", text)
