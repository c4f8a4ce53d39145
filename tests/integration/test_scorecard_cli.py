"""`drill history`, `drill scorecard` and `drill metrics` over a folder of real signed bundles.

The folder holds a healthy drill, one whose newest run failed, one whose last
pass is older than its tier allows, and one whose evidence was tampered with;
the scorecard must say which is which and exit 1, as a release gate would need.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from tests.support.drill_cli import run_drill
from tests.support.history_bundles import RunSpec, make_bundle

NOW = "2026-11-24T00:00:00.000000Z"
SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{drill="[^"\\\n]*",target="[^"\\\n]*"\} '
    r"-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$"
)


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_drill(
        *args, cwd=cwd, COLUMNS="200", DRILLKIT_NOW=NOW, XDG_DATA_HOME=str(cwd / "data-home")
    )


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """Bundles for four drills on sandbox; the signing key is tmp_path/keys/team.key(.pub)."""
    key = generate_key_file(tmp_path / "keys" / "team.key")
    signer = Ed25519FileSigner.load(key.private_path, origin="test")
    folder = tmp_path / "reports"
    for spec in (
        RunSpec(
            "pod-kill-orders", "01JA0000000000000000000001", "2026-11-01T10:00:00.000000Z", rto=9.0
        ),
        RunSpec(
            "pod-kill-orders", "01JA0000000000000000000002", "2026-11-20T10:00:00.000000Z", rto=11.0
        ),
        RunSpec(
            "restore-orders",
            "01JA0000000000000000000003",
            "2026-11-10T10:00:00.000000Z",
            rto=20.0,
            rpo=3.0,
            rpo_objective="5m",
        ),
        RunSpec(
            "restore-orders",
            "01JA0000000000000000000004",
            "2026-11-22T10:00:00.000000Z",
            verdict="failed",
            rto=45.0,
            rpo=2.0,
            rpo_objective="5m",
        ),
        RunSpec(
            "zone-outage-orders",
            "01JA0000000000000000000005",
            "2026-05-01T10:00:00.000000Z",
            tier=1,
        ),
        RunSpec(
            "readiness-orders",
            "01JA0000000000000000000006",
            "2026-11-15T10:00:00.000000Z",
            tier=2,
            rto=None,
            rto_objective=None,
        ),
    ):
        make_bundle(folder, spec, signer)
    tampered = folder / "readiness-orders" / "01JA0000000000000000000006" / "drill.yaml"
    tampered.write_text(tampered.read_text() + "# edited after signing\n")
    return folder


def test_scorecard_names_failing_overdue_and_unverified_lines_and_exits_1(
    reports: Path, tmp_path: Path
) -> None:
    result = drill(
        "scorecard", "--reports", str(reports), "--key", "keys/team.key.pub", cwd=tmp_path
    )

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "drill",
        "target",
        "tier",
        "status",
        "last",
        "pass",
        "age/policy",
        "objectives",
        "evidence",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:] if not line.startswith(" ")}
    assert rows["pod-kill-orders"][1:8] == [
        "sandbox",
        "1",
        "healthy",
        "2026-11-20",
        "3d/90d",
        "met",
        "verified",
    ]
    assert rows["restore-orders"][1:8] == [
        "sandbox",
        "1",
        "failing",
        "2026-11-10",
        "13d/90d",
        "met",
        "verified",
    ]
    assert rows["zone-outage-orders"][1:8] == [
        "sandbox",
        "1",
        "overdue",
        "2026-05-01",
        "206d/90d",
        "met",
        "verified",
    ]
    assert rows["readiness-orders"][3] == "unverified"
    assert rows["readiness-orders"][7] == "failed"
    assert "    newest run 01JA0000000000000000000004 failed" in lines
    assert "    last pass 206d ago, policy every 90d" in lines
    assert any(line.startswith("    evidence failed: subjects: ") for line in lines)
    assert lines[-1] == (
        "Scorecard: NOT READY (1 failing, 1 healthy, 1 overdue, 1 unverified; "
        "policy: built-in defaults)"
    )


def test_scorecard_of_healthy_drills_exits_0_and_json_says_why(
    reports: Path, tmp_path: Path
) -> None:
    result = drill(
        "scorecard",
        "--reports",
        str(reports),
        "--key",
        "keys",
        "--drill",
        "pod-kill-orders",
        "--format",
        "json",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    card = json.loads(result.stdout)
    assert card["ok"] is True
    assert card["evidenceChecked"] is True
    [line] = card["lines"]
    assert line["status"] == "healthy"
    assert line["lastPass"]["runId"] == "01JA0000000000000000000002"
    assert line["lastPassAgeDays"] == pytest.approx(3.583, abs=0.001)
    assert line["maxAgeDays"] == 90
    assert line["evidence"]["state"] == "verified"
    assert line["runs"] == 2


def test_a_policy_file_changes_the_allowed_age_and_a_bad_one_names_file_and_field(
    reports: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: drillkit.io/v1\nkind: ReadinessPolicy\nspec:\n"
        "  maxAge:\n    - {tier: 1, every: 366d}\n"
    )
    relaxed = drill(
        "scorecard",
        "--reports",
        str(reports),
        "--policy",
        str(policy),
        "--drill",
        "zone-outage-orders",
        cwd=tmp_path,
    )
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "206d/366d" in relaxed.stdout
    assert "note: evidence not checked; pass --key to verify signatures" in relaxed.stderr

    policy.write_text(
        "apiVersion: drillkit.io/v1\nkind: ReadinessPolicy\nspec:\n"
        "  maxAge:\n    - {tier: 1, evry: 90d}\n"
    )
    refused = drill("scorecard", "--reports", str(reports), "--policy", str(policy), cwd=tmp_path)
    assert refused.returncode == 2
    assert f"error: {policy}:5:17: spec.maxAge[0].evry: unknown field" in refused.stderr
    assert "Did you mean `every`?" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_scorecard_html_holds_a_trend_chart_per_line_and_no_script(
    reports: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scorecard.html"
    result = drill(
        "scorecard",
        "--reports",
        str(reports),
        "--format",
        "html",
        "--output",
        str(out),
        cwd=tmp_path,
    )

    assert result.returncode == 1
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert page.count('aria-label="RTO trend"') == 3  # readiness-orders measures no RTO
    assert page.count('aria-label="RPO trend"') == 1
    assert "Content-Security-Policy" in page


def test_history_lists_runs_oldest_first_and_the_index_is_rebuilt_when_lost(
    reports: Path, tmp_path: Path
) -> None:
    first = drill("history", "restore-orders", "--reports", str(reports), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = first.stdout.splitlines()
    assert rows[1].split()[:6] == [
        "2026-11-10",
        "10:00:00",
        "restore-orders",
        "1.0.0",
        "sandbox",
        "passed",
    ]
    assert rows[1].split()[6:8] == ["20s/30s", "3s/300s"]
    assert rows[2].split()[5] == "failed"
    assert "restore-orders on sandbox: 1/2 passed" in first.stdout
    assert rows[1].endswith("  not checked")

    checked = drill(
        "history", "--reports", str(reports), "--key", "keys/team.key.pub", cwd=tmp_path
    )
    verdicts = {line.split()[2]: line.split()[-1] for line in checked.stdout.splitlines()[1:7]}
    assert verdicts == {
        "zone-outage-orders": "verified",
        "pod-kill-orders": "verified",
        "restore-orders": "verified",
        "readiness-orders": "failed",
    }

    index = reports / ".index.sqlite"
    index.write_bytes(b"not a database at all")
    again = drill("history", "restore-orders", "--reports", str(reports), cwd=tmp_path)
    assert again.stdout == first.stdout

    index.unlink()
    (reports / "restore-orders" / "01JA0000000000000000000004" / "report.json").write_text("{}")
    after = drill("history", "--reports", str(reports), "--format", "json", cwd=tmp_path)
    runs = json.loads(after.stdout)
    assert [r["run_id"] for r in runs if r["drill"] == "restore-orders"] == [
        "01JA0000000000000000000003"
    ]
    assert "warning: skipped " in after.stderr
    assert "01JA0000000000000000000004/report.json: not a drillkit report" in after.stderr
    assert index.exists()


def test_metrics_are_prometheus_text_and_written_atomically_for_the_textfile_collector(
    reports: Path, tmp_path: Path
) -> None:
    out = tmp_path / "textfile" / "drillkit.prom"
    result = drill("metrics", "--reports", str(reports), "--output", str(out), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert list(out.parent.iterdir()) == [out]
    for line in text.splitlines():
        assert line.startswith(("# HELP drillkit_", "# TYPE drillkit_")) or SAMPLE.match(line), line
    assert 'drillkit_last_run_passed{drill="restore-orders",target="sandbox"} 0' in text
    assert (
        'drillkit_last_success_timestamp_seconds{drill="restore-orders",target="sandbox"} '
        "1794304800"
    ) in text
    assert 'drillkit_last_rto_seconds{drill="restore-orders",target="sandbox"} 45' in text
    assert 'drillkit_rpo_objective_seconds{drill="restore-orders",target="sandbox"} 300' in text
    assert 'drillkit_last_rto_seconds{drill="readiness-orders"' not in text
    assert 'drillkit_runs{drill="pod-kill-orders",target="sandbox"} 2' in text
    types = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types)) == 9


def test_inside_a_repository_a_drill_without_runs_is_never_run_and_fails_the_gate(
    tmp_path: Path,
) -> None:
    import shutil

    root = Path(__file__).resolve().parents[2]
    repo = tmp_path / "repo"
    shutil.copytree(root / "drills", repo / "drills")
    for folder in ("probes", "runbooks", "experiments"):
        shutil.copytree(root / folder, repo / folder)
    (repo / "policy.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: ReadinessPolicy\nspec:\n  targets: [sandbox]\n"
    )

    result = drill("scorecard", "--drill", "restore-orders", "--format", "json", cwd=repo)

    assert result.returncode == 1, result.stderr
    card = json.loads(result.stdout)
    assert card["policy"].endswith("policy.yaml")
    assert [
        (line["drill"], line["target"], line["status"], line["reasons"]) for line in card["lines"]
    ] == [("restore-orders", "sandbox", "never-run", ["no run on this target"])]
