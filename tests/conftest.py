"""Fixtures shared by every test: a private copy of the drill repository, a real PostgreSQL.

Tests never touch the committed ``drills/``, ``probes/``, ``runbooks/`` and
``experiments/``: each one gets its own copy in ``tmp_path`` and edits that.
The PostgreSQL server is started once per session, only when a test asks for it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drillkit.spec.repository import DrillRepository
from tests.support.arm.fixtures import aks, arm_environment, arm_server  # noqa: F401
from tests.support.kube.fixtures import kube, kube_cluster, kube_config, kube_server  # noqa: F401
from tests.support.moto_server import aws, moto_server  # noqa: F401
from tests.support.postgres import PostgresServer, PostgresUnavailable

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server with password login, stopped and removed at session end.

    A missing PostgreSQL fails the tests that need it, never skips them: a skip
    would hide a missing install step (``scripts/test`` installs it).
    """
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def session_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway sandbox folder and signing key for the whole session.

    Set in the environment (subprocesses inherit it, see
    ``tests.support.session``), so no test starts the user's own sandbox or
    creates their default signing key; every sandbox started is stopped here.
    """
    import os

    from drillkit.evidence.key_files import generate_key_file
    from drillkit.sandbox.control import SandboxControl
    from drillkit.sandbox.layout import SandboxLayout
    from tests.support.session import SANDBOX_DIR, SIGNING_KEY

    root = tmp_path_factory.mktemp("session")
    generate_key_file(root / "signing" / "ed25519.key")
    values = {
        SANDBOX_DIR: str(root / "sandbox"),
        SIGNING_KEY: str(root / "signing" / "ed25519.key"),
    }
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield root
    SandboxControl(SandboxLayout(root / "sandbox")).down()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
