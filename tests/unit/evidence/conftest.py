"""Fixtures for evidence tests: a real run folder, a real key file, a signed bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.signing import sign_bundle
from tests.support.evidence_bundle import build_run_folder, run_facts


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """An unsigned run folder as the runner leaves it."""
    return build_run_folder(tmp_path / "reports")


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519FileSigner:
    key = generate_key_file(tmp_path / "keys" / "drill.key")
    return Ed25519FileSigner.load(key.private_path, origin="test")


@pytest.fixture
def signed(run_dir: Path, signer: Ed25519FileSigner) -> Path:
    """The run folder, signed with ``signer``."""
    sign_bundle(run_dir, signer, run_facts(run_dir))
    return run_dir
