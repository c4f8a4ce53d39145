"""How `drill run` signs its evidence, run as a user runs it: which key, passphrases, --no-sign.

Every run here is a real `drill` process against the test provider; keys are
real key files, passphrases really typed at a real pseudo-terminal, and the
bundles really checked with `drill verify`.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from drillkit.evidence.bundle import ATTESTATION, SIGNER_PUBLIC_KEY
from drillkit.evidence.key_files import generate_key_file
from tests.support.lab import TARGET, Lab

QUICK = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
- name: settle
  wait: 100ms
"""
PASSPHRASE = "correct horse battery staple"
PASSPHRASE_ENV = "DRILLKIT_SIGNING_KEY_PASSPHRASE"
FILES = "report.html, report.md, report.json, junit.xml"


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab.create(
        tmp_path / "lab", recoverSeconds=0.1, extra_target="signingKey: keys/lab.key\n"
    )
    lab.add_drill("quick", QUICK)
    lab.add_drill("hold", QUICK.replace("100ms", "30s"))
    return lab


def environment(lab: Lab, **values: str | None) -> dict[str, str]:
    """The lab's environment without the session's signing key, then ``values`` (None unsets)."""
    env = {k: v for k, v in lab.env().items() if k != "DRILLKIT_SIGNING_KEY"}
    env["XDG_DATA_HOME"] = str(lab.root / "data-home")
    env["TERM"] = "dumb"
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def drill(
    lab: Lab, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`drill ARGS` in the lab with no terminal attached (stdin is /dev/null)."""
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=lab.root,
        env=env if env is not None else environment(lab),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def in_terminal(
    lab: Lab, *args: str, answers: list[tuple[str, str]], env: dict[str, str]
) -> tuple[int, str]:
    """`drill ARGS` on a pseudo-terminal: type each answer once its prompt is on screen.

    The process gets its own session, so it cannot reach the terminal pytest
    runs in; everything it writes is returned, as a person would see it.
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", *args],
        cwd=lab.root,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    screen, seen, pending = b"", 0, list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the process closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if pending and (at := screen.find(pending[0][0].encode(), seen)) >= 0:
                seen = at + len(pending[0][0])
                os.write(controller, pending.pop(0)[1].encode() + b"\n")
        else:
            process.kill()
            pytest.fail(
                f"drill did not finish; the screen shows:\n{screen.decode(errors='replace')}"
            )
        return process.wait(timeout=10), screen.decode(errors="replace").replace("\r\n", "\n")
    finally:
        os.close(controller)


def only_run(lab: Lab) -> Path:
    runs = lab.runs("quick")
    assert len(runs) == 1, runs
    return runs[0]


# --- which key ---------------------------------------------------------------------------------


def test_a_run_signs_with_the_targets_signing_key_relative_to_the_repository(lab: Lab) -> None:
    key = generate_key_file(lab.root / "keys" / "lab.key")

    result = drill(lab, "run", "quick", "-t", TARGET)

    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run(lab)
    assert (run_dir / SIGNER_PUBLIC_KEY).read_bytes() == key.public_path.read_bytes()
    assert result.stdout.splitlines()[-2] == (
        f"Verify:   drill verify reports/quick/{run_dir.name} --key {key.public_path}"
    )
    assert not (lab.root / "data-home").exists()  # the per-user default key was not made
    verified = drill(lab, "verify", str(run_dir), "--key", "keys/lab.key.pub")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_environment_key_wins_over_the_targets_signing_key(lab: Lab) -> None:
    generate_key_file(lab.root / "keys" / "lab.key")
    mine = generate_key_file(lab.root / "keys" / "mine.key")

    result = drill(
        lab,
        "run",
        "quick",
        "-t",
        TARGET,
        env=environment(lab, DRILLKIT_SIGNING_KEY="keys/mine.key"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (only_run(lab) / SIGNER_PUBLIC_KEY).read_bytes() == mine.public_path.read_bytes()


def test_a_targets_signing_key_that_does_not_exist_stops_the_run_before_it_starts(
    lab: Lab,
) -> None:
    result = drill(lab, "run", "quick", "-t", TARGET)

    assert result.returncode == 2
    missing = lab.root / "keys" / "lab.key"
    assert result.stderr.splitlines()[0] == (
        f"error: no signing key at {missing} (signingKey of target {TARGET})"
    )
    assert lab.runs("quick") == []
    assert lab.world["calls"] == []


# --- passphrases -------------------------------------------------------------------------------


def test_keys_generate_with_a_passphrase_from_the_environment_and_keys_show(lab: Lab) -> None:
    env = environment(lab, **{PASSPHRASE_ENV: PASSPHRASE})

    made = drill(lab, "keys", "generate", "keys/lab.key", "--passphrase", env=env)
    shown = drill(lab, "keys", "show", "keys/lab.key")

    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == (
        "wrote private key keys/lab.key (mode 0600, encrypted with a passphrase; keep it private)"
    )
    pem = (lab.root / "keys" / "lab.key").read_text()
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key_id = made.stdout.splitlines()[2].removeprefix("key id ")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "key         keys/lab.key (ed25519 private key, encrypted with a passphrase, mode 0600)",
        f"key id      {key_id}",
        "public key  keys/lab.key.pub",
        "verify with: drill verify DIR --key keys/lab.key.pub",
    ]
    for output in (made.stdout + made.stderr, shown.stdout + shown.stderr):
        assert PASSPHRASE not in output
        assert pem.splitlines()[1] not in output


def test_keys_show_of_a_public_key_and_of_a_plain_private_key(lab: Lab) -> None:
    key = generate_key_file(lab.root / "keys" / "plain.key")

    public = drill(lab, "keys", "show", "keys/plain.key.pub")
    private = drill(lab, "keys", "show", "keys/plain.key")

    assert public.stdout.splitlines()[:2] == [
        "key         keys/plain.key.pub (ed25519 public key)",
        f"key id      {key.key_id}",
    ]
    assert private.stdout.splitlines()[0] == (
        "key         keys/plain.key (ed25519 private key, not encrypted, mode 0600)"
    )
    assert key.private_path.read_text().splitlines()[1] not in private.stdout + private.stderr
    assert drill(lab, "keys", "show", "keys/nope.key").stderr.splitlines()[0] == (
        "error: keys/nope.key: no such key file"
    )


def test_keys_generate_with_a_passphrase_and_no_terminal_fails_naming_the_variable(
    lab: Lab,
) -> None:
    result = drill(lab, "keys", "generate", "keys/lab.key", "--passphrase")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: --passphrase needs a terminal to type the passphrase at, or {PASSPHRASE_ENV}",
        f"  fix: run it in a terminal, or set {PASSPHRASE_ENV} (for example from a secret "
        "store) for scripts",
    ]
    assert not (lab.root / "keys").exists()


def test_keys_generate_asks_for_the_passphrase_twice_without_echoing_it(lab: Lab) -> None:
    code, screen = in_terminal(
        lab,
        "keys",
        "generate",
        "keys/lab.key",
        "--passphrase",
        answers=[
            ("Passphrase for the new key: ", PASSPHRASE),
            ("Repeat the passphrase: ", PASSPHRASE),
        ],
        env=environment(lab),
    )

    assert code == 0, screen
    assert "wrote private key keys/lab.key (mode 0600, encrypted with a passphrase" in screen
    assert PASSPHRASE not in screen
    signed = in_terminal(
        lab,
        "run",
        "quick",
        "-t",
        TARGET,
        answers=[(f"Passphrase for {lab.root / 'keys' / 'lab.key'}: ", PASSPHRASE)],
        env=environment(lab),
    )
    assert signed[0] == 0, signed[1]
    assert PASSPHRASE not in signed[1]
    assert drill(lab, "verify", str(only_run(lab)), "--key", "keys/lab.key.pub").returncode == 0


def test_a_run_with_an_encrypted_key_and_no_passphrase_fails_before_it_starts(lab: Lab) -> None:
    generate_key_file(lab.root / "keys" / "lab.key", passphrase=PASSPHRASE)

    result = drill(lab, "run", "quick", "-t", TARGET)

    assert result.returncode == 2
    key = lab.root / "keys" / "lab.key"
    assert result.stderr.splitlines() == [
        f"error: {key} (signingKey of target {TARGET}) is encrypted with a passphrase, and "
        f"{PASSPHRASE_ENV} is not set (no terminal to ask at)",
        f"  fix: set {PASSPHRASE_ENV} to the key's passphrase (for unattended runs, from a "
        "secret store), or run from a terminal to be asked for it",
    ]
    assert lab.runs("quick") == []
    assert lab.world["calls"] == []


def test_a_run_with_the_wrong_passphrase_is_a_clear_error_without_a_traceback(lab: Lab) -> None:
    generate_key_file(lab.root / "keys" / "lab.key", passphrase=PASSPHRASE)

    result = drill(
        lab, "run", "quick", "-t", TARGET, env=environment(lab, **{PASSPHRASE_ENV: "wrong"})
    )

    assert result.returncode == 2
    key = lab.root / "keys" / "lab.key"
    assert result.stderr.splitlines()[0] == (
        f"error: the passphrase does not decrypt {key} (signingKey of target {TARGET})"
    )
    assert "Traceback" not in result.stderr
    assert lab.runs("quick") == []


def test_a_run_with_the_passphrase_in_the_environment_signs_with_the_encrypted_key(
    lab: Lab,
) -> None:
    generate_key_file(lab.root / "keys" / "lab.key", passphrase=PASSPHRASE)

    result = drill(
        lab, "run", "quick", "-t", TARGET, env=environment(lab, **{PASSPHRASE_ENV: PASSPHRASE})
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert PASSPHRASE not in result.stdout + result.stderr
    verified = drill(lab, "verify", str(only_run(lab)), "--key", "keys/lab.key.pub")
    assert verified.returncode == 0, verified.stdout + verified.stderr


# --- --no-sign ---------------------------------------------------------------------------------


def test_a_no_sign_run_writes_reports_that_say_so_and_verify_refuses_it(lab: Lab) -> None:
    # No key exists anywhere: --no-sign must not even look for one.
    result = drill(lab, "run", "quick", "-t", TARGET, "--no-sign")

    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run(lab)
    shown = f"reports/quick/{run_dir.name}"
    assert result.stdout.splitlines()[-2:] == [
        f"Evidence: {shown}/ ({FILES}) (NOT signed: --no-sign)",
        "Verdict: PASSED",
    ]
    assert "Verify:" not in result.stdout
    assert result.stderr.splitlines()[0] == (
        "warning: --no-sign: the evidence of this run will NOT be signed; "
        "`drill verify` will refuse it"
    )
    assert not (run_dir / ATTESTATION).exists()
    assert not (run_dir / SIGNER_PUBLIC_KEY).exists()
    assert not (lab.root / "data-home").exists()

    started = read_journal(run_dir / "journal.jsonl").events[0]
    assert started.data["evidenceSigning"] == "disabled (--no-sign)"
    report = json.loads((run_dir / "report.json").read_bytes())
    assert report["verification"]["signed"] is False
    assert report["verification"]["steps"][0]["title"] == "Not signed"
    markdown = (run_dir / "report.md").read_text().splitlines()
    assert markdown[2] == (
        "> **Warning.** NOT SIGNED: this run was made with `drill run --no-sign`: its evidence "
        "is NOT signed and cannot be verified; nothing proves these files are the ones the run "
        "wrote, or who ran it."
    )
    assert "| **Evidence** | **NOT SIGNED** (`drill run --no-sign`): cannot be verified |" in (
        markdown
    )
    html = (run_dir / "report.html").read_text()
    assert '<p class="unsigned" id="unsigned" role="alert">NOT SIGNED: this run was made' in html
    assert html.index('id="unsigned"') < html.index('class="figures"')
    assert '<property name="evidence.signed" value="false"' in (run_dir / "junit.xml").read_text()

    generate_key_file(lab.root / "keys" / "lab.key")
    verified = drill(lab, "verify", str(run_dir), "--key", "keys/lab.key.pub")
    assert verified.returncode == 1
    assert verified.stderr.splitlines()[0] == (
        "error: verification failed at envelope: attestation.intoto.json: the run was made "
        "with --no-sign: its evidence is not signed and cannot be verified"
    )


def test_no_sign_and_a_signing_key_together_are_refused(lab: Lab) -> None:
    result = drill(lab, "run", "quick", "-t", TARGET, "--no-sign", "--signing-key", "k.key")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: give either --signing-key or --no-sign, not both",
        "  fix: drop --no-sign to sign with the key, or --signing-key for unsigned evidence",
    ]
    assert lab.runs("quick") == []


# --- recovery keeps the run's choice -------------------------------------------------------------


def killed_after_the_fault(lab: Lab, *args: str) -> Path:
    """Start `drill run hold ARGS`, kill -9 it once its fault is applied; its run folder."""
    process = subprocess.Popen(
        [sys.executable, "-m", "drillkit", "run", "hold", "-t", TARGET, *args],
        cwd=lab.root,
        env=environment(lab),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        runs = lab.runs("hold")
        if runs and (runs[0] / "journal.jsonl").exists():
            events = read_journal(runs[0] / "journal.jsonl", verify=False).events
            if any(e.type == "fault-applied" for e in events):
                break
        time.sleep(0.05)
    process.kill()
    _, stderr = process.communicate(timeout=10)
    assert lab.world["applied"], f"the fault was never applied: {stderr.decode()}"
    return lab.runs("hold")[0]


def test_recovering_a_no_sign_run_renders_its_reports_and_still_signs_nothing(lab: Lab) -> None:
    run_dir = killed_after_the_fault(lab, "--no-sign")

    result = drill(lab, "recover", run_dir.name)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"Evidence: reports/hold/{run_dir.name}/ ({FILES}) (NOT signed: --no-sign)"
    )
    assert not (run_dir / ATTESTATION).exists()
    assert json.loads((run_dir / "report.json").read_bytes())["verification"]["signed"] is False


def test_recovering_a_run_signs_it_with_the_targets_signing_key(lab: Lab) -> None:
    key = generate_key_file(lab.root / "keys" / "lab.key")
    run_dir = killed_after_the_fault(lab)

    result = drill(lab, "recover", run_dir.name)

    assert result.returncode == 0, result.stdout + result.stderr
    verified = drill(lab, "verify", str(run_dir), "--key", str(key.public_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
