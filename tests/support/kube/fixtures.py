"""Pytest fixtures: one emulator per session, a fresh cluster per test, kubeconfig and kubectl.

``kube_server`` starts the emulator once; ``kube`` resets it to an empty
cluster (system namespaces only) for each test and hands out a
``KubeCluster``: the store for seeding and assertions, a kubeconfig with a
token user (context ``emulator``), real ``kubernetes`` clients built from
that kubeconfig, the real ``kubectl``, and controllers that are stopped when
the test ends. ``kube_cluster`` is ``kube`` with ``seed_cluster`` applied and
the controllers running. The ``kubernetes`` client is imported only when a
test asks for a client, so collecting tests stays fast.

kubectl sends no bearer token over plain HTTP; the emulator takes requests
without credentials as the kubeconfig's user, so both clients are one identity.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.kube.access import AUTHENTICATED, User
from tests.support.kube.cluster import SeededCluster, seed_cluster, write_kubeconfig
from tests.support.kube.controllers import Controllers
from tests.support.kube.server import KubeApiServer
from tests.support.kube.store import ResourceStore
from tests.support.kube.velero import VeleroSettings
from tests.support.kube.workloads import WorkloadTiming

TOKEN = "drillkit-test-token"
OPERATOR = User("drill-operator", ("system:masters", AUTHENTICATED))
CONTEXT = "emulator"


@dataclass
class KubeCluster:
    """One test's cluster on the session's emulator."""

    server: KubeApiServer
    kubeconfig: Path
    cache_dir: Path
    context: str = CONTEXT
    user: str = OPERATOR.name
    seeded: SeededCluster | None = None
    _clients: list[Any] = field(default_factory=list)
    _controllers: list[Controllers] = field(default_factory=list)

    @property
    def store(self) -> ResourceStore:
        return self.server.store

    @property
    def url(self) -> str:
        return self.server.url

    def seed(self, **options: Any) -> SeededCluster:
        """``seed_cluster`` on this cluster's store (see ``cluster.seed_cluster`` for options)."""
        self.seeded = seed_cluster(self.store, **options)
        return self.seeded

    def client(self) -> Any:
        """A real ``kubernetes.client.ApiClient`` loaded from the kubeconfig; closed after the test."""
        from kubernetes import config

        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), context=self.context
        )
        self._clients.append(api_client)
        return api_client

    def run_controllers(
        self,
        *,
        workloads: WorkloadTiming | None = None,
        velero: VeleroSettings | None = None,
        manage_workloads: bool = True,
    ) -> Controllers:
        """Start the workload and Velero controllers; they stop when the test ends."""
        running = Controllers(
            self.store,
            workloads=(workloads or WorkloadTiming()) if manage_workloads else None,
            velero=velero,
        ).start()
        self._controllers.append(running)
        return running

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``kubectl`` against this cluster; ``check`` raises on a non-zero exit."""
        command = [
            "kubectl",
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=check)

    def target_settings(self) -> dict[str, str]:
        """The ``kubernetes`` section of a target that points at this cluster."""
        return {"kubeconfig": str(self.kubeconfig), "context": self.context}

    def close(self) -> None:
        for running in self._controllers:
            running.stop()
        for api_client in self._clients:
            api_client.close()
        self._controllers.clear()
        self._clients.clear()


@pytest.fixture(scope="session")
def kube_server() -> Iterator[KubeApiServer]:
    """The session's emulator; tests get a fresh cluster on it through ``kube``."""
    server = KubeApiServer()
    server.access.default_user = OPERATOR
    server.add_token(TOKEN, OPERATOR)
    with server:
        yield server


@pytest.fixture(scope="session")
def kube_config(kube_server: KubeApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig for ``kube_server``: context ``emulator``, user ``drill-operator`` (token)."""
    folder = tmp_path_factory.mktemp("kube")
    return write_kubeconfig(
        folder / "kubeconfig", kube_server.url, token=TOKEN, user=OPERATOR.name, context=CONTEXT
    )


@pytest.fixture
def kube(kube_server: KubeApiServer, kube_config: Path) -> Iterator[KubeCluster]:
    """An empty cluster (system namespaces only) for this test, with kubeconfig and kubectl."""
    kube_server.reset()
    cluster = KubeCluster(kube_server, kube_config, kube_config.parent / "kubectl-cache")
    try:
        yield cluster
    finally:
        cluster.close()
        kube_server.reset()


@pytest.fixture
def kube_cluster(kube: KubeCluster) -> KubeCluster:
    """``kube`` seeded with ``seed_cluster()`` (nodes, orders, Velero) and controllers running."""
    kube.seed()
    kube.run_controllers()
    return kube
