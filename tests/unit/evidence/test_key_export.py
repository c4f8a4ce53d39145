"""`drill keys export-public` and key URIs, run as a user runs them (a subprocess)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from drillkit.cloud_keys import is_key_uri
from drillkit.evidence.key_files import generate_key_file
from tests.support.drill_cli import run_drill


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_drill(*args, cwd=cwd)


def test_key_uris_are_told_from_paths() -> None:
    assert is_key_uri("awskms:///alias/drillkit-evidence")
    assert is_key_uri("azurekms://ops.vault.azure.net/evidence")
    assert not is_key_uri("keys/awskms.key")
    assert not is_key_uri("/home/sre/.config/drillkit/ed25519.key")


def test_export_public_writes_the_public_half_and_never_overwrites_another_key(
    tmp_path: Path,
) -> None:
    generate_key_file(tmp_path / "one.key")
    generate_key_file(tmp_path / "two.key")

    exported = drill("keys", "export-public", "one.key", "--output", "one.pem", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "one.pem").read_bytes() == (tmp_path / "one.key.pub").read_bytes()
    again = drill("keys", "export-public", "one.key", "-o", "one.pem", cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the same key again is fine

    clash = drill("keys", "export-public", "two.key", "-o", "one.pem", cwd=tmp_path)
    assert clash.returncode == 2
    assert "one.pem exists and holds another key" in clash.stderr
    assert "Traceback" not in clash.stderr
    assert (tmp_path / "one.pem").read_bytes() == (tmp_path / "one.key.pub").read_bytes()
