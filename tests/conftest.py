"""Fixtures shared by every test: a private copy of the drill repository, a real PostgreSQL.

Tests never touch the committed ``drills/``, ``probes/``, ``runbooks/`` and
``experiments/``: each one gets its own copy in ``tmp_path`` and edits that.
The PostgreSQL server is started once per session, only when a test asks for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drillkit.spec.repository import DrillRepository
from tests.reliability import figures as reliability_figures
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
    """A throwaway sandbox folder, signing key and lock folder for the whole session.

    Set in the environment (subprocesses inherit it, see
    ``tests.support.session``), so no test starts the user's own sandbox,
    creates their default signing key or takes a lock in their state folder,
    and parallel workers never share a target lock; every sandbox started is
    stopped here.
    """
    from drillkit.evidence.key_files import generate_key_file
    from drillkit.sandbox.control import SandboxControl
    from drillkit.sandbox.layout import SandboxLayout
    from tests.support.session import LOCK_DIR, SANDBOX_DIR, SIGNING_KEY

    root = tmp_path_factory.mktemp("session")
    generate_key_file(root / "signing" / "ed25519.key")
    values = {
        SANDBOX_DIR: str(root / "sandbox"),
        SIGNING_KEY: str(root / "signing" / "ed25519.key"),
        LOCK_DIR: str(root / "locks"),
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


# -- parallel runs: which modules share a worker (tests/support/groups.py) --------------------


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from tests.support.groups import make_scheduler

    return make_scheduler(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.support.groups import unlisted_sandbox_modules

    unlisted = unlisted_sandbox_modules(items)
    if unlisted:
        raise pytest.UsageError(
            f"{', '.join(sorted(unlisted))} start the sandbox but are not in "
            "tests/support/groups.py SANDBOX_MODULES: add them there"
        )


# -- the reliability suite's figures, printed once at the end of the run -----------------------


def pytest_configure(config: pytest.Config) -> None:
    """The controlling process makes a folder where each worker leaves its tallies."""
    if not hasattr(config, "workerinput") and reliability_figures.FIGURES_DIR_ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="drillkit-figures-")
        os.environ[reliability_figures.FIGURES_DIR_ENV] = folder


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker is not None:
        reliability_figures.save(worker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per kind of reliability trial, then the totals in the plain ``N passed, N
    failed`` form that CI logs and people read."""
    found = reliability_figures.gathered()
    if not found:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures")
    trials = passed = survived = left = 0
    for name, figures in sorted(found.items()):
        write(
            f"{name:<28} {figures.trials:>6} trials  {figures.passed:>6} passed  "
            f"{figures.trials - figures.passed:>4} failed  faults survived "
            f"{figures.faults_survived:>3}  faults left applied {figures.faults_left_applied}"
        )
        for note in figures.notes:
            write(f"    {note}")
        trials += figures.trials
        passed += figures.passed
        survived += figures.faults_survived
        left += figures.faults_left_applied
    write(f"reliability: {trials} trials, {survived} faults survived, faults left applied = {left}")
    write(f"{passed} passed, {trials - passed} failed")
