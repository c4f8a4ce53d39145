"""`drill report RUN [--output DIR | --format FORMAT]`, run as a user runs it: a subprocess,
its exit code and exact output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.reports import FORMATS, REPORT_FILES, write_reports
from drillkit.evidence.seal import seal_bundle
from tests.support.report_runs import FinishedRun, finished_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    return finished_run("passing", tmp_path_factory)


def drill(*args: str, cwd: Path, output: Path | None = None) -> subprocess.CompletedProcess[str]:
    raw = drill_bytes(*args, cwd=cwd, output=output)
    return subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode(), raw.stderr.decode()
    )


def drill_bytes(
    *args: str, cwd: Path, output: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    if output is not None:
        environment["DRILLKIT_OUTPUT"] = str(output)
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_report_renders_a_run_folder_into_another_folder(run: FinishedRun, tmp_path: Path) -> None:
    result = drill("report", str(run.run_dir), "--output", str(tmp_path / "out"), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(f"wrote {tmp_path / 'out' / name}\n" for name in REPORT_FILES)
    expected = write_reports(run.run_dir, tmp_path / "expected")
    for path in expected:
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


def test_report_finds_a_run_by_id_under_the_evidence_folder(
    run: FinishedRun, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence"
    copy = shutil.copytree(run.run_dir, evidence / "restore-orders" / run.run_dir.name)

    result = drill("report", run.run_dir.name, cwd=tmp_path, output=evidence)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in Path(copy).iterdir() if p.is_file()) == sorted(
        ["drill.yaml", "journal.jsonl", *REPORT_FILES]
    )


def test_report_refuses_to_change_a_signed_folder(run: FinishedRun, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(run.run_dir, tmp_path / "signed"))
    key = generate_key_file(tmp_path / "keys" / "drill.key")
    seal_bundle(folder, Ed25519FileSigner.load(key.private_path, origin="test"))
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    result = drill("report", str(folder), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        f"error: {folder} is signed: rendering into it would change files the attestation "
        f"covers\n  fix: render elsewhere: `drill report {folder} --output DIR`\n"
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_report_on_a_folder_that_is_no_run_says_what_to_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    result = drill("report", str(tmp_path / "empty"), "--output", str(tmp_path / "o"), cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == (
        f"error: {tmp_path / 'empty'} has no journal.jsonl\n"
        "  fix: pass a run folder: reports/<drill>/<run-id>/ as a run leaves it\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("format_name", ["md", "html", "json", "junit"])
def test_report_format_prints_that_one_rendering_and_writes_nothing(
    run: FinishedRun, tmp_path: Path, format_name: str
) -> None:
    folder = Path(shutil.copytree(run.run_dir, tmp_path / "signed"))
    key = generate_key_file(tmp_path / "keys" / "drill.key")
    seal_bundle(folder, Ed25519FileSigner.load(key.private_path, origin="test"))
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    expected = write_reports(run.run_dir, tmp_path / "expected")

    result = drill_bytes("report", str(folder), "--format", format_name, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    name = FORMATS[format_name]
    assert result.stdout == (tmp_path / "expected" / name).read_bytes()
    assert {p.name for p in expected} == set(REPORT_FILES)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before  # signed: as is
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expected", "keys", "signed"]


def test_report_format_and_output_together_are_refused(run: FinishedRun, tmp_path: Path) -> None:
    result = drill(
        "report", str(run.run_dir), "--format", "md", "--output", str(tmp_path / "o"), cwd=tmp_path
    )

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: give either --format (print one rendering) or --output (write all four)"
    )
    assert not (tmp_path / "o").exists()


def test_report_format_of_an_unknown_kind_is_a_usage_error(
    run: FinishedRun, tmp_path: Path
) -> None:
    result = drill("report", str(run.run_dir), "--format", "pdf", cwd=tmp_path)

    assert result.returncode == 2
    assert "'pdf' is not one of 'md', 'html', 'json', 'junit'" in result.stderr
