"""Fixtures shared by every test: a private copy of the drill repository.

Tests never touch the committed ``drills/``, ``probes/``, ``runbooks/`` and
``experiments/``: each one gets its own copy in ``tmp_path`` and edits that.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from drillkit.spec.repository import DrillRepository

REAL_REPOSITORY = Path(__file__).resolve().parents[1]
REPOSITORY_FOLDERS = ("drills", "probes", "runbooks", "experiments")

WriteFile = Callable[[str, str | bytes], Path]


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    """A copy of the real drill repository's content, safe to edit."""
    root = tmp_path / "repo"
    for folder in REPOSITORY_FOLDERS:
        shutil.copytree(REAL_REPOSITORY / folder, root / folder)
    return root


@pytest.fixture
def repository(repo_root: Path) -> DrillRepository:
    return DrillRepository(repo_root)


@pytest.fixture
def write(repo_root: Path) -> WriteFile:
    """Write text (or raw bytes) to a path relative to the repository root."""

    def write_file(relative: str, content: str | bytes) -> Path:
        path = repo_root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write_file
