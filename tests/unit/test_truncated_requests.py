"""A request whose client dies before sending its whole body changes nothing on the emulators.

``drill run`` killed with SIGKILL (the crash trials of the reliability suite) can
die halfway through a PUT or PATCH. Azure and the Kubernetes API server never
act on a request they did not receive whole; the ARM test server once read the
short body as "no body" and replaced a node pool with an empty one, which the
crash trials then reported as a fault left applied by ``drill recover``. The
Kubernetes emulator already refuses an empty PATCH; its test keeps it so.
"""

from __future__ import annotations

import copy
import socket
import ssl
import time
from typing import Any

from kubernetes.client import CoreV1Api

from tests.support.arm.fixtures import AksWorld
from tests.support.kube.catalogue import NODES
from tests.support.kube.fixtures import KubeCluster


def send_headers_only(sock: socket.socket, method: str, path: str, headers: str = "") -> None:
    """Announce a 500-byte JSON body and hang up before sending it (a client's headers and
    body go out in separate writes, and SIGKILL can land between them)."""
    sock.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{headers}Content-Length: 500\r\n\r\n".encode()
    )
    sock.close()


def stays(read: Any, seconds: float = 0.5) -> Any:
    """What ``read()`` gives, checked unchanged for ``seconds`` (the server handles the cut
    request on its own thread, so "nothing happened" needs a little time to be seen)."""
    first = copy.deepcopy(read())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert read() == first
        time.sleep(0.02)
    return first


def test_the_arm_server_ignores_a_put_cut_short_by_a_dead_client(aks: AksWorld) -> None:
    pool_id = f"{aks.layout.cluster_id}/agentPools/system"
    before = copy.deepcopy(aks.world.get(pool_id))
    assert before is not None and before["properties"]["vmSize"]

    token = aks.server.tokens.issue(aks.server.url)["access_token"]
    context = ssl.create_default_context(cafile=str(aks.server.ca_file))
    raw = socket.create_connection(("127.0.0.1", aks.server.port))
    send_headers_only(
        context.wrap_socket(raw, server_hostname="127.0.0.1"),
        "PUT",
        f"{pool_id}?api-version=2024-05-01",
        f"Authorization: Bearer {token}\r\n",
    )

    assert stays(lambda: aks.world.get(pool_id)) == before


def test_the_kube_emulator_ignores_a_patch_cut_short_by_a_dead_client(kube: KubeCluster) -> None:
    kube.seed(nodes_per_zone=1)
    name = kube.store.list(NODES)[0]["metadata"]["name"]
    before = copy.deepcopy(kube.store.find(NODES, "", name))

    send_headers_only(
        socket.create_connection(("127.0.0.1", kube.server.port)),
        "PATCH",
        f"/api/v1/nodes/{name}",
    )

    assert stays(lambda: kube.store.find(NODES, "", name)) == before
    # The emulator still answers whole requests.
    assert CoreV1Api(kube.client()).read_node(name).metadata.name == name
