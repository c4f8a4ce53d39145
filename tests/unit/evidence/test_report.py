"""The report model, built from real run folders: it says what the engine measured, from the
folder alone, and refuses a folder that is not what the run left."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from drillkit.engine.journal import JournalError
from drillkit.engine.measure import RunSummary, summarize
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.evidence.proofs import PROOF_IDS
from drillkit.evidence.report import Report, build_report, report_json
from drillkit.evidence.reports import REPORT_FILES, write_reports
from drillkit.evidence.run_folder import ReportError
from drillkit.spec.repository import DrillRepository
from tests.support.lab import TARGET, Lab
from tests.support.report_runs import PASSWORD, FinishedRun, finished_run
from tests.support.test_provider import TestProvider


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FinishedRun]:
    kinds = ("passing", "failing-objective", "aborted", "dry-run")
    return {kind: finished_run(kind, tmp_path_factory) for kind in kinds}


def engine_summary(run: FinishedRun) -> RunSummary:
    """The engine's own summary, with the drill loaded from the repository, not the folder."""
    drill = DrillRepository.discover(run.repository).load_named(run.drill).drill
    return summarize(run.run_dir / "journal.jsonl", drill)


def copy_of(run: FinishedRun, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run.run_dir, tmp_path / run.run_dir.name))


def proofs(report: Report) -> dict[str, str]:
    return {item.id: item.status for item in report.proofs}


@pytest.mark.parametrize("kind", ["passing", "failing-objective", "aborted", "dry-run"])
def test_the_report_states_exactly_what_the_engine_measured(
    runs: dict[str, FinishedRun], kind: str
) -> None:
    run = runs[kind]
    report = build_report(run.run_dir)
    summary = engine_summary(run)

    assert report.run.verdict == summary.verdict == run.result.summary.verdict
    rto, rpo = report.measurements.rto, report.measurements.rpo
    assert rto is not None and rpo is not None
    assert rto.seconds == summary.rto_seconds
    assert rto.phases == summary.rto_phases
    assert rto.latency_ms == summary.latency_ms
    assert rto.samples == summary.samples
    assert rto.availability == summary.availability
    assert rto.sampling_interval_seconds == summary.sampling_interval_seconds
    assert rpo.seconds == summary.rpo_seconds
    assert rpo.canary_writes_lost == summary.canary_writes_lost
    assert rpo.canary_gaps == summary.canary_gaps
    assert report.measurements.certificate_days_left == summary.certificate_days_left
    assert len(report.retries) == summary.retries
    assert [e.message for e in report.errors] == summary.errors
    assert [u.fault_id for u in report.undo] == summary.faults_applied
    ran = [s for s in report.steps if s.status != "not-run"]
    assert [(s.name, s.kind, s.status, s.seconds) for s in ran] == [
        (s.name, s.kind, s.status, s.seconds) for s in summary.steps
    ]
    declared = [o for o in report.objectives if o.declared]
    assert [(o.name, o.measured) for o in declared] == [
        (o.name, o.measured) for o in summary.objectives
    ]


def test_a_full_restore_drill_proves_every_claim_of_the_restore_list(
    runs: dict[str, FinishedRun],
) -> None:
    report = build_report(runs["passing"].run_dir)

    assert report.run.verdict == "passed"
    assert proofs(report) == dict.fromkeys(PROOF_IDS, "proven")
    observability = next(p for p in report.proofs if p.id == "observability-works")
    assert [e.source for e in observability.evidence] == ["probe step `metrics-flow` (http probe)"]
    assert {o.name: o.status for o in report.objectives} == {
        "rto": "met",
        "rpo": "met",
        "minCertificateDays": "met",
        "secretsResolved": "met",
        "routingCorrect": "met",
    }
    assert report.deviations == ()


def test_a_missed_rto_fails_its_objective_but_not_the_claims_the_run_proved(
    runs: dict[str, FinishedRun],
) -> None:
    report = build_report(runs["failing-objective"].run_dir)

    rto = next(o for o in report.objectives if o.name == "rto")
    assert (rto.target, rto.status) == ("100ms", "not-met")
    assert report.run.verdict == "failed"
    assert [d.kind for d in report.deviations] == ["objective-not-met"]
    assert report.deviations[0].text.startswith("objective rto not met: target 100ms, measured ")
    assert proofs(report)["app-boots"] == "proven"
    assert proofs(report)["data-within-rpo"] == "proven"


def test_an_aborted_run_lists_its_unrun_steps_and_proves_no_restore_claim(
    runs: dict[str, FinishedRun],
) -> None:
    report = build_report(runs["aborted"].run_dir)

    statuses = {s.name: s.status for s in report.steps}
    assert report.run.verdict == "aborted"
    assert statuses["backup-is-fresh"] == "passed"
    assert statuses["lose-namespace"] == "failed"
    assert statuses["restore-from-backup"] == statuses["on-call-can-act"] == "not-run"
    assert "did not finish within 0.3s" in report.steps[2].detail
    claims = proofs(report)
    assert claims["manifests-applied"] == "not-covered"
    assert claims["post-restore-validation"] == "not-covered"
    assert claims["app-boots"] == "not-covered"  # the service came back by undo, not restore
    assert claims["certificates-valid"] == "not-covered"  # its probe never ran
    assert [(u.fault_id, u.status) for u in report.undo] == [
        ("lose-namespace/namespace-loss", "reverted")
    ]
    kinds = [d.kind for d in report.deviations]
    assert "step-failed" in kinds and "steps-not-run" in kinds


def test_a_dry_run_tests_no_objective_and_proves_nothing(runs: dict[str, FinishedRun]) -> None:
    report = build_report(runs["dry-run"].run_dir)

    assert report.run.verdict == "dry-run" and report.run.dry_run
    assert {o.status for o in report.objectives if o.declared} == {"not-measured"}
    assert set(proofs(report).values()) == {"not-covered"}
    assert {s.status for s in report.steps} == {"not-run"}
    assert report.deviations == ()
    assert report.chart is None


def test_a_run_refused_by_a_guard_says_which_guard_and_tested_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    lab = Lab.create(tmp_path / "lab")
    lab.add_drill(
        "zone",
        "- name: lose-zone-a\n  fault: {type: zone-outage, zone: a}\n",
        extra_spec="safety: {blastRadius: {maxZones: 0}}\n",
    )
    repo = DrillRepository.discover(lab.root)
    plan = make_plan(repo.load_named("zone"), TARGET, repo.target(TARGET))
    options = RunOptions(output_dir=lab.root / "reports")
    result = Runner(plan, TestProvider(TARGET, plan.target), options, SilentProgress()).run()

    report = build_report(result.run_dir)

    assert report.run.verdict == "refused"
    assert [(o.name, o.status) for o in report.objectives if o.declared] == [
        ("rto", "not-measured")
    ]
    assert [d.kind for d in report.deviations] == ["guard-refused"]
    assert report.deviations[0].text.startswith("guard blast-radius refused: ")
    assert report.errors[0].error == "GuardRefused"
    assert report.undo == ()


def test_the_report_names_the_runbook_scope_and_tool_versions(
    runs: dict[str, FinishedRun],
) -> None:
    report = build_report(runs["passing"].run_dir)

    assert [(r.name, r.version) for r in report.drill.runbooks] == [("restore-orders", "2.1.0")]
    assert (
        report.steps[3].action == "runbook restore-orders 2.1.0: backup-restore, wait-for-recovery"
    )
    assert [a.outcome for a in report.steps[3].restore_actions] == ["passed", "passed"]
    assert report.target.namespaces == ("orders",)
    assert report.target.services == ("orders-api", "orders-worker")
    assert report.target.zones == ("zone-a", "zone-b", "zone-c")
    assert report.tools.dependencies["pydantic"] == __import__("pydantic").VERSION
    assert report.tools.python is not None and report.tools.python.startswith("CPython 3.")
    assert (
        report.sources.journal_sha256
        == hashlib.sha256((runs["passing"].run_dir / "journal.jsonl").read_bytes()).hexdigest()
    )


def test_identities_are_what_the_provider_journaled_or_not_recorded(
    runs: dict[str, FinishedRun],
) -> None:
    plain = build_report(runs["passing"].run_dir).operator
    cloud = build_report(runs["failing-objective"].run_dir)

    assert plain.os_user == "sre-on-call"
    assert (plain.aws_caller_arn, plain.azure_object_id, plain.kubernetes_user) == (None,) * 3
    assert cloud.operator.aws_caller_arn == (
        "arn:aws:sts::111122223333:assumed-role/drill-runner/sre-on-call"
    )
    assert cloud.operator.kubernetes_user == "drill-runner@orders-prod"
    assert cloud.operator.azure_object_id is None
    assert cloud.operator.identity["aws.account"] == "111122223333"
    assert cloud.target.cluster == "arn:aws:eks:eu-west-1:111122223333:cluster/orders-prod"
    assert cloud.target.regions == ("eu-west-1",)


def test_rendering_a_folder_twice_gives_the_same_bytes(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    run = runs["passing"]

    first = [path.read_bytes() for path in write_reports(run.run_dir, tmp_path / "first")]
    second = [path.read_bytes() for path in write_reports(run.run_dir, tmp_path / "second")]

    assert first == second
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == sorted(REPORT_FILES)
    assert first[0] == report_json(build_report(run.run_dir))


def test_the_report_needs_nothing_but_the_run_folder(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    run = runs["passing"]
    moved = copy_of(run, tmp_path)

    assert report_json(build_report(moved)) == report_json(build_report(run.run_dir))


def test_report_json_is_rfc8785_canonical_and_schema_versioned(
    runs: dict[str, FinishedRun],
) -> None:
    import rfc8785

    data = report_json(build_report(runs["passing"].run_dir))
    document = json.loads(data)

    assert document["schemaVersion"] == "1.1.0"
    assert document["verification"]["signed"] is True
    assert rfc8785.dumps(document) == data


def test_a_secret_value_reaches_no_report_file_only_its_digest(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    files = write_reports(runs["passing"].run_dir, tmp_path)

    for path in files:
        assert PASSWORD not in path.read_bytes(), path.name
    digest = hashlib.sha256(PASSWORD).hexdigest()
    assert digest.encode() in files[0].read_bytes()


def test_an_edited_journal_is_refused_naming_the_event(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    folder = copy_of(runs["passing"], tmp_path)
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    index = next(
        i for i, line in enumerate(lines) if b'"type":"sample"' in line and b'"ok":false' in line
    )
    lines[index] = lines[index].replace(b'"ok":false', b'"ok":true ')
    journal.write_bytes(b"".join(lines))

    with pytest.raises(JournalError, match=f"event {index} hash does not match its content"):
        build_report(folder)


def test_a_definition_other_than_the_one_that_ran_is_refused(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    folder = copy_of(runs["passing"], tmp_path)
    definition = folder / "drill.yaml"
    definition.write_text(definition.read_text().replace("rto: 30s", "rto: 1h"))

    with pytest.raises(ReportError, match=r"its content has digest sha256:\w+, not the sha256:"):
        build_report(folder)


def test_a_killed_run_is_an_error_whatever_its_steps_did(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    folder = copy_of(runs["passing"], tmp_path)
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if b'"type":"phase"' in line and b"verify" in line)
    journal.write_bytes(b"".join(lines[:cut]) + lines[cut][:40])  # kill -9 mid-write

    report = build_report(folder)

    assert report.run.verdict == "error" and not report.run.finished
    assert report.run.ended_at is None
    kinds = [d.kind for d in report.deviations]
    assert kinds[:2] == ["unfinished", "torn-journal"]
    assert "samples-mismatch" in kinds  # samples/ holds what the whole run wrote


def test_a_sample_file_that_disagrees_with_the_journal_is_a_deviation(
    runs: dict[str, FinishedRun], tmp_path: Path
) -> None:
    folder = copy_of(runs["passing"], tmp_path)
    samples = folder / "samples" / "rto.jsonl"
    rows = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(rows[1:]))

    report = build_report(folder)

    assert [(d.kind, d.text) for d in report.deviations] == [
        (
            "samples-mismatch",
            f"samples/rto.jsonl holds {len(rows) - 1} rows, but the journal holds "
            f"{len(rows)} samples",
        )
    ]
