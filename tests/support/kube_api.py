"""The Lease-only face of the Kubernetes API emulator, for the Lease lock's tests.

The emulator itself lives in ``tests.support.kube``; this module keeps the
names the Lease tests import (``KubeApiServer``, ``ResourceStore``,
``LEASES``, ``ApiError``) and their two fixtures. Its server serves Leases
only, so there is no namespace to create first, as with the original seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import kubernetes.client
import pytest

from tests.support.kube.catalogue import LEASES
from tests.support.kube.errors import REASONS, ApiError, JsonObject
from tests.support.kube.resources import ResourceType
from tests.support.kube.server import KubeApiServer, RecordedRequest
from tests.support.kube.store import ResourceStore

__all__ = [
    "LEASES",
    "REASONS",
    "ApiError",
    "JsonObject",
    "KubeApiServer",
    "RecordedRequest",
    "ResourceStore",
    "ResourceType",
    "api_client_for",
    "kube_api_fixture",
    "kube_client_fixture",
]


def api_client_for(server: KubeApiServer) -> kubernetes.client.ApiClient:
    """A real ``kubernetes`` client pointed at the emulator (plain HTTP, no credentials)."""
    return kubernetes.client.ApiClient(kubernetes.client.Configuration(host=server.url))


@pytest.fixture(name="kube_api")
def kube_api_fixture() -> Iterator[KubeApiServer]:
    """A running emulator serving Leases; a test module imports ``kube_api_fixture`` to use it."""
    with KubeApiServer(resources=(LEASES,)) as server:
        yield server


@pytest.fixture(name="kube_client")
def kube_client_fixture(kube_api: KubeApiServer) -> Iterator[kubernetes.client.ApiClient]:
    """A real ``ApiClient`` talking to ``kube_api``."""
    with api_client_for(kube_api) as client:
        yield client
