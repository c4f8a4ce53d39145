"""`drill verify` and `drill keys` as an auditor and an SRE run them: exit codes and exact output."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from drillkit.evidence.bundle import ATTESTATION
from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.signing import sign_bundle
from tests.support.evidence_bundle import DRILL_DIGEST, build_run_folder, run_facts

FINGERPRINT = r"sha256:[0-9a-f]{64}"


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    environment["COLUMNS"] = "200"
    environment["XDG_DATA_HOME"] = str(cwd / "data-home")
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A signed run folder under tmp_path/reports; its key is tmp_path/keys/drill.key(.pub)."""
    key = generate_key_file(tmp_path / "keys" / "drill.key")
    run_dir = build_run_folder(tmp_path / "reports")
    sign_bundle(
        run_dir, Ed25519FileSigner.load(key.private_path, origin="test"), run_facts(run_dir)
    )
    return run_dir


def relative(run_dir: Path) -> str:
    return str(run_dir.relative_to(run_dir.parents[2]))


def test_a_good_bundle_verifies_with_a_checklist_and_exit_0(bundle: Path, tmp_path: Path) -> None:
    result = drill("verify", relative(bundle), "--key", "keys/drill.key.pub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"bundle  {relative(bundle)}"
    assert re.fullmatch(rf"key     {FINGERPRINT} \(ed25519\) from --key", lines[1])
    assert lines[2:6] == [
        "ok      envelope      attestation.intoto.json is a DSSE envelope with 1 signature",
        "ok      payload-type  application/vnd.in-toto+json",
        lines[4],
        "ok      statement     in-toto Statement v1, predicate https://drillkit.dev/evidence/run/v1",
    ]
    assert re.fullmatch(
        rf"ok      signature     valid ed25519 signature by key {FINGERPRINT}", lines[4]
    )
    assert lines[6:8] == [
        "ok      subjects      9 files, every sha256 matches",
        "ok      completeness  no file besides the signed ones",
    ]
    assert re.fullmatch(
        r"ok      journal       7 events, chain intact, head [0-9a-f]{16} as signed", lines[8]
    )
    assert lines[9:] == [
        f"ok      definition    drill.yaml is restore-orders 1.0.0 {DRILL_DIGEST}",
        f"ok      report        report.json: schema 1.1.0, run {bundle.name}, drill digest and "
        "journal head as signed",
        f"verified: restore-orders 1.0.0, run {bundle.name} on sandbox, verdict passed",
    ]


def test_a_changed_file_fails_with_exit_1_naming_the_file_and_both_digests(
    bundle: Path, tmp_path: Path
) -> None:
    (bundle / "report.md").write_text("# restore-orders 1.0.0: passed (edited)\n")
    result = drill("verify", relative(bundle), "--key", "keys/drill.key.pub", cwd=tmp_path)
    assert result.returncode == 1
    assert "FAILED  subjects      report.md: the content changed after signing" in result.stdout
    for check in ("completeness", "journal", "definition", "report"):
        assert f"skipped {check:<14}not checked: an earlier check failed" in result.stdout
    stderr = result.stderr.splitlines()
    assert stderr[0] == (
        "error: verification failed at subjects: report.md: the content changed after signing"
    )
    assert re.fullmatch(r"  expected: sha256 [0-9a-f]{64}", stderr[1])
    assert re.fullmatch(r"  found:    sha256 [0-9a-f]{64}", stderr[2])
    assert "verified:" not in result.stdout


def test_an_added_file_fails_at_completeness(bundle: Path, tmp_path: Path) -> None:
    (bundle / "notes.txt").write_text("added later")
    result = drill("verify", relative(bundle), "--key", "keys/drill.key.pub", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "error: verification failed at completeness: notes.txt: the file is not covered by "
        "the attestation (added after signing)"
    )


def test_the_wrong_key_fails_at_the_signature(bundle: Path, tmp_path: Path) -> None:
    other = generate_key_file(tmp_path / "keys" / "other.key")
    result = drill("verify", relative(bundle), "--key", str(other.public_path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "error: verification failed at signature: attestation.intoto.json: "
        "no signature verifies with the public key"
    )


def test_a_truncated_envelope_fails_cleanly_without_a_traceback(
    bundle: Path, tmp_path: Path
) -> None:
    path = bundle / ATTESTATION
    path.write_bytes(path.read_bytes()[:200])
    result = drill("verify", relative(bundle), "--key", "keys/drill.key.pub", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines()[:2] == [
        "error: verification failed at envelope: attestation.intoto.json: not valid JSON",
        "  expected: a DSSE envelope (a JSON object)",
    ]
    assert result.stderr.splitlines()[2].endswith("(truncated)")


def test_without_a_key_verify_refuses_with_exit_2_and_the_fix(bundle: Path, tmp_path: Path) -> None:
    result = drill("verify", relative(bundle), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: refusing to verify without the signer's public key",
        "  fix: pass --key with the signer's public key (the .pub file of the key that signed "
        "the run); --trust-bundle-key checks integrity only, not origin",
    ]


def test_trusting_the_bundle_key_verifies_but_warns_it_proves_no_origin(
    bundle: Path, tmp_path: Path
) -> None:
    result = drill("verify", relative(bundle), "--trust-bundle-key", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"^key     {FINGERPRINT} \(ed25519\) stored in the bundle$", result.stdout, re.M
    )
    assert result.stderr.splitlines() == [
        "warning: verified with the public key stored in the bundle (signer.pub.pem): this "
        "proves the files were not changed after signing, not who signed them; pass --key "
        "with the signer's public key, obtained separately, to prove origin"
    ]


def test_a_private_key_passed_as_key_is_refused_with_exit_2_and_not_printed(
    bundle: Path, tmp_path: Path
) -> None:
    result = drill("verify", relative(bundle), "--key", "keys/drill.key", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: keys/drill.key holds a private key; verification needs the public key",
        "  fix: pass the public key (the .pub file `drill keys generate` wrote beside the private "
        "key)",
    ]
    secret = (tmp_path / "keys" / "drill.key").read_text().splitlines()[1]
    assert secret not in result.stdout + result.stderr


def test_a_folder_that_does_not_exist_is_exit_2(tmp_path: Path) -> None:
    result = drill("verify", "reports/nope", "--key", "k.pub", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_json_output_for_machines_on_success_and_on_failure(bundle: Path, tmp_path: Path) -> None:
    ok = drill(
        "verify", relative(bundle), "--key", "keys/drill.key.pub", "--format", "json", cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert document["verified"] is True
    assert [c["name"] for c in document["checks"]] == [
        "envelope",
        "payload-type",
        "signature",
        "statement",
        "subjects",
        "completeness",
        "journal",
        "definition",
        "report",
    ]
    assert document["run"]["runId"] == bundle.name

    (bundle / "samples" / "rto.jsonl").unlink()
    failed = drill(
        "verify", relative(bundle), "--key", "keys/drill.key.pub", "--format", "json", cwd=tmp_path
    )
    assert failed.returncode == 1
    assert failed.stderr == ""
    first = json.loads(failed.stdout)["firstFailure"]
    assert (first["name"], first["file"], first["found"]) == (
        "subjects",
        "samples/rto.jsonl",
        "no such file",
    )


def test_keys_generate_writes_a_private_key_with_mode_0600_and_its_public_key(
    tmp_path: Path,
) -> None:
    result = drill("keys", "generate", "keys/team.key", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    private, public = tmp_path / "keys" / "team.key", tmp_path / "keys" / "team.key.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    lines = result.stdout.splitlines()
    assert lines[0] == "wrote private key keys/team.key (mode 0600; keep it private)"
    assert lines[1] == "wrote public key  keys/team.key.pub"
    assert re.fullmatch(rf"key id {FINGERPRINT}", lines[2])
    assert lines[3] == "verify evidence with: drill verify DIR --key keys/team.key.pub"
    assert private.read_text().splitlines()[1] not in result.stdout


def test_keys_generate_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    assert drill("keys", "generate", "team.key", cwd=tmp_path).returncode == 0
    before = (tmp_path / "team.key").read_bytes()
    again = drill("keys", "generate", "team.key", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        "error: team.key already exists; refusing to overwrite a key",
        "  fix: choose another path, or pass --force to replace it (evidence signed with the "
        "old key then needs the old public key)",
    ]
    assert (tmp_path / "team.key").read_bytes() == before
    forced = drill("keys", "generate", "team.key", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "team.key").read_bytes() != before


def test_the_older_keygen_still_works_but_is_no_longer_listed(tmp_path: Path) -> None:
    result = drill("keygen", "keys/team.key", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "wrote private key keys/team.key (mode 0600; keep it private)"
    )
    assert (tmp_path / "keys" / "team.key.pub").is_file()
    assert not re.search(r"^\s+keygen\s", drill("--help", cwd=tmp_path).stdout, re.M)


def test_a_key_made_by_keys_generate_signs_a_bundle_that_verify_accepts(tmp_path: Path) -> None:
    assert drill("keys", "generate", "keys/team.key", cwd=tmp_path).returncode == 0
    run_dir = build_run_folder(tmp_path / "reports")
    signer = Ed25519FileSigner.load(tmp_path / "keys" / "team.key", origin="test")
    sign_bundle(run_dir, signer, run_facts(run_dir))
    result = drill("verify", relative(run_dir), "--key", "keys/team.key.pub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_help_lists_verify_and_keys(tmp_path: Path) -> None:
    result = drill("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("verify", "keys"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    verify_help = drill("verify", "--help", cwd=tmp_path)
    assert "Exit codes: 0 verified, 1 verification failed, 2 bad input" in verify_help.stdout
    keys_help = drill("keys", "--help", cwd=tmp_path)
    for command in ("generate", "show"):
        assert re.search(rf"^\s+{command}\s", keys_help.stdout, re.M), command


def test_the_first_run_without_a_key_creates_the_default_key_once_under_the_data_folder(
    tmp_path: Path,
) -> None:
    code = (
        "from drillkit.evidence.key_choice import resolve_signer\n"
        "signer = resolve_signer(None)\n"
        "print(signer.notice or 'no notice')\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
    environment["XDG_DATA_HOME"] = str(tmp_path / "data")
    first, second = (
        subprocess.run(
            [sys.executable, "-c", code],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)
    )
    key = tmp_path / "data" / "drillkit" / "signing" / "ed25519.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert first.stdout.startswith(f"created a signing key for this user's evidence: {key} ")
    assert f"auditors verify with its public key {key}.pub (key id sha256:" in first.stdout
    assert second.stdout == "no notice\n"
