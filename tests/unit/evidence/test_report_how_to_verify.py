"""The report's no-tool verification commands, run for real in a shell on a really signed folder:
an auditor without drillkit can check every digest and the signature with jq, base64,
sha256sum and openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from drillkit.evidence.how_to_verify import DIGESTS_COMMAND, ED25519_COMMAND, PAE_COMMAND
from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.report import build_report
from drillkit.evidence.seal import seal_bundle
from tests.support.report_runs import FinishedRun, finished_run

TOOLS = ("jq", "base64", "sha256sum", "openssl")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: `bash scripts/test` installs them")
    return finished_run("passing", tmp_path_factory)


@pytest.fixture
def signed(run: FinishedRun, tmp_path: Path) -> tuple[Path, Path]:
    """A sealed copy of the run folder and the signer's public key, kept outside it."""
    folder = Path(shutil.copytree(run.run_dir, tmp_path / "bundle"))
    key = generate_key_file(tmp_path / "keys" / "drill.key")
    seal_bundle(folder, Ed25519FileSigner.load(key.private_path, origin="test"))
    return folder, key.public_path


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_report_tells_the_auditor_these_exact_commands(run: FinishedRun) -> None:
    commands = [s.command for s in build_report(run.run_dir).verification.steps if s.command]

    assert commands[0] == DIGESTS_COMMAND
    assert commands[1].splitlines()[:2] == [PAE_COMMAND, ED25519_COMMAND]


def test_every_file_checks_out_with_sha256sum(signed: tuple[Path, Path]) -> None:
    folder, _ = signed

    result = shell(DIGESTS_COMMAND, folder)

    assert result.returncode == 0, result.stderr
    listed = sorted(line.removesuffix(": OK") for line in result.stdout.splitlines())
    assert "report.html" in listed and "journal.jsonl" in listed and "samples/rto.jsonl" in listed


def test_a_changed_file_fails_the_sha256sum_check(signed: tuple[Path, Path]) -> None:
    folder, _ = signed
    with (folder / "report.md").open("a") as handle:
        handle.write("edited after signing\n")

    result = shell(DIGESTS_COMMAND, folder)

    assert result.returncode != 0
    assert "report.md: FAILED" in result.stdout


def test_the_signature_checks_out_with_openssl(signed: tuple[Path, Path], tmp_path: Path) -> None:
    folder, public_key = signed
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    shutil.copy(public_key, work / "SIGNER.pub.pem")

    result = shell(f"{PAE_COMMAND} && {ED25519_COMMAND}", work)

    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_a_changed_statement_fails_the_openssl_check(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, public_key = signed
    work = tmp_path / "work"
    shutil.copytree(folder, work)
    shutil.copy(public_key, work / "SIGNER.pub.pem")
    forged = (
        f"{PAE_COMMAND} && sed -i 's/restore-orders/restore-orderz/' pae.bin && {ED25519_COMMAND}"
    )

    result = shell(forged, work)

    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout + result.stderr
