"""One moto server per test session, over real HTTP, with its state reset for every test.

Tests that touch AWS ask for ``aws``: it yields the server's endpoint after a
reset, with the environment real boto3 clients read pointed at it
(``AWS_ENDPOINT_URL``, fake static credentials, a default region), so the
code under test builds its clients exactly as it would against AWS. Where
moto does not model AWS (see DESIGN.md: node groups create no instances,
health checks never evaluate), tests seed the state through moto's API and
say what real AWS would do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

REGION = "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    url: str

    def reset(self) -> None:
        """Forget every resource (moto's own API), as a fresh AWS account would be."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        port = server._server.server_port  # type: ignore[union-attr]
        yield MotoServer(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A clean account behind ``moto_server``; boto3 clients made now reach it."""
    moto_server.reset()
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return moto_server
