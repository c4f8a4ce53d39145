"""report.md, rendered from real run folders: what an auditor reads in a ticket or a wiki."""

from __future__ import annotations

import re

import pytest

from drillkit.evidence.render_markdown import md, render_markdown
from drillkit.evidence.report import build_report
from tests.support.report_runs import HOSTILE, FinishedRun, finished_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FinishedRun]:
    return {k: finished_run(k, tmp_path_factory) for k in ("passing", "aborted", "hostile")}


def markdown(run: FinishedRun) -> str:
    return render_markdown(build_report(run.run_dir))


def proof_rows(text: str) -> dict[str, str]:
    section = text.split("## Restore proof", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+) \| \*\*([^*]+)\*\* \|", section, flags=re.MULTILINE)
    return {claim: status for claim, status in rows}


def test_the_proof_list_marks_every_claim_of_a_full_restore_drill_proven(
    runs: dict[str, FinishedRun],
) -> None:
    assert proof_rows(markdown(runs["passing"])) == {
        "Manifests applied cleanly": "proven",
        "Controllers reconciled": "proven",
        "Secrets resolve": "proven",
        "Certificates valid": "proven",
        "Data restored within RPO": "proven",
        "App boots and answers": "proven",
        "Traffic routed": "proven",
        "Observability works": "proven",
        "Humans can access": "proven",
        "Post-restore validation passed": "proven",
    }


def test_an_aborted_run_proves_only_what_ran_before_the_abort(
    runs: dict[str, FinishedRun],
) -> None:
    rows = proof_rows(markdown(runs["aborted"]))

    assert rows["Data restored within RPO"] == "proven"
    assert rows["Manifests applied cleanly"] == "not covered by this drill"
    assert set(rows.values()) == {"proven", "not covered by this drill"}
    assert len(rows) == 10


def test_the_summary_answers_what_when_where_and_by_whom(runs: dict[str, FinishedRun]) -> None:
    run = runs["passing"]
    report = build_report(run.run_dir)
    text = markdown(run)

    assert text.startswith("# Drill report: restore-orders 1.0.0 on staging-lab: PASSED\n")
    assert f"| **Drill digest** | `{report.drill.digest}` |" in text
    assert "| **Runbooks** | restore-orders 2.1.0 |" in text
    assert "| **Scope** | namespaces orders; services orders-api, orders-worker |" in text
    assert "| **Scheduled (UTC)** | not recorded |" in text
    assert f"| **Started (UTC)** | {report.run.started_at[:10]} " in text
    assert "| **Operator** | sre-on-call on " in text
    assert "| AWS caller (STS) | not recorded |" in text
    rto = report.measurements.rto
    assert rto is not None and rto.seconds is not None
    assert f"- **RTO**: {rto.seconds:.2f}s, measured by http probe" in text


def test_how_to_verify_names_drill_verify_and_the_no_tool_check(
    runs: dict[str, FinishedRun],
) -> None:
    run = runs["passing"]
    text = markdown(run)
    verify = text.split("## How to verify", 1)[1]

    assert (
        f"```\ndrill verify reports/restore-orders/{run.run_dir.name} --key <signer public key>\n```"
        in verify
    )
    assert "DSSE envelope" in verify and "in-toto Statement v1" in verify
    assert "| sha256sum -c -" in verify


def test_hostile_drill_text_is_shown_never_interpreted(runs: dict[str, FinishedRun]) -> None:
    text = markdown(runs["hostile"])

    assert "<script>" not in text and "<img" not in text
    assert md(HOSTILE) in text
    assert '&lt;script&gt;alert("owned")&lt;/script&gt;' in text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("*bold* _it_ `code` [link](x)", "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x)"),
        ("line one\nline two", "line one line two"),
        ("<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),
    ],
)
def test_markdown_escaping_keeps_text_literal_and_on_one_line(text: str, escaped: str) -> None:
    assert md(text) == escaped
