"""junit.xml from real run folders, parsed back as a CI system would read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from drillkit.evidence.render_junit import render_junit
from drillkit.evidence.report import Report, build_report
from tests.support.report_runs import FinishedRun, finished_run

KINDS = ("passing", "failing-objective", "aborted", "dry-run", "hostile")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    runs: dict[str, FinishedRun] = {k: finished_run(k, tmp_path_factory) for k in KINDS}
    return {kind: build_report(run.run_dir) for kind, run in runs.items()}


def suite_of(report: Report) -> ET.Element:
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def outcomes(suite: ET.Element) -> dict[str, str]:
    found = {}
    for case in suite.findall("testcase"):
        kind = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        found[case.get("name", "")] = kind
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_one_testcase_per_applicable_objective_and_per_step_with_matching_counts(
    reports: dict[str, Report], kind: str
) -> None:
    report = reports[kind]
    suite = suite_of(report)
    cases = suite.findall("testcase")
    applicable = [o for o in report.objectives if o.status != "not-set"]

    assert suite.get("name") == "restore-orders"
    assert suite.get("id") == report.run.run_id
    assert len(cases) == len(applicable) + len(report.steps) == int(suite.get("tests", "-1"))
    for tag, counter in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        assert int(suite.get(counter, "-1")) == sum(1 for c in cases if c.find(tag) is not None)
    steps = [c for c in cases if c.get("classname", "").startswith("restore-orders.steps.")]
    assert [c.get("name") for c in steps] == [f"{s.index:02d} {s.name}" for s in report.steps]


def test_a_passing_run_is_all_green(reports: dict[str, Report]) -> None:
    assert set(outcomes(suite_of(reports["passing"])).values()) == {"passed"}


def test_a_missed_objective_is_a_failure_with_its_figures(reports: dict[str, Report]) -> None:
    suite = suite_of(reports["failing-objective"])
    case = next(c for c in suite.findall("testcase") if c.get("name") == "rto: 100ms")
    failure = case.find("failure")

    assert failure is not None
    assert failure.get("type") == "ObjectiveNotMet"
    assert (failure.get("message") or "").startswith("target 100ms, measured ")
    assert suite.get("failures") == "1"


def test_an_aborted_run_fails_its_step_and_skips_the_steps_it_never_reached(
    reports: dict[str, Report],
) -> None:
    found = outcomes(suite_of(reports["aborted"]))

    assert found["01 backup-is-fresh"] == "passed"
    assert found["03 lose-namespace"] == "failure"
    assert [name for name, kind in found.items() if kind == "skipped" and name[:2].isdigit()] == [
        "04 restore-from-backup",
        "05 service-answers",
        "06 workloads-ready",
        "07 secrets-resolve",
        "08 certificate-valid",
        "09 traffic-routed",
        "10 metrics-flow",
        "11 on-call-can-act",
    ]


def test_a_dry_run_skips_everything(reports: dict[str, Report]) -> None:
    suite = suite_of(reports["dry-run"])

    assert set(outcomes(suite).values()) == {"skipped"}
    assert suite.get("skipped") == suite.get("tests")


def test_text_xml_cannot_hold_is_replaced_so_the_file_still_parses(
    reports: dict[str, Report],
) -> None:
    report = reports["hostile"]
    drill = report.drill.model_copy(update={"name": "bell\x07\x00and-escape\x1b"})
    broken = report.model_copy(update={"drill": drill})

    suite = suite_of(broken)

    assert suite.get("name") == "bell\ufffd\ufffdand-escape\ufffd"


def test_properties_carry_the_drill_identity_and_key_figures(reports: dict[str, Report]) -> None:
    report = reports["passing"]
    properties = {p.get("name"): p.get("value") for p in suite_of(report).iter("property")}

    assert properties["drill.digest"] == report.drill.digest
    assert properties["run.verdict"] == "passed"
    assert properties["target"] == "staging-lab"
    rto = report.measurements.rto
    assert rto is not None and rto.seconds is not None
    assert properties["rto"] == f"{rto.seconds:.2f}s"
