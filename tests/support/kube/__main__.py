"""Serve the emulator from a process of its own: ``python -m tests.support.kube [options]``.

For scale checks, where the client under test must be measured alone (its
time and peak memory): the emulator seeds a cluster (``--scale`` for
thousands of nodes and 100,000 pods, else ``seed_cluster``), writes a
kubeconfig, prints one line ``ready URL`` on stdout, and serves until stdin
closes or it is terminated. ``EmulatorProcess`` in ``scale`` runs it for a test.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from pathlib import Path

from tests.support.kube.access import AUTHENTICATED, User
from tests.support.kube.cluster import seed_cluster, write_kubeconfig
from tests.support.kube.scale import seed_scale
from tests.support.kube.server import KubeApiServer


def _until_stdin_closes(done: threading.Event) -> None:
    sys.stdin.read()
    done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.kube")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--scale", action="store_true", help="seed a large cluster")
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--token", default="drillkit-test-token")
    options = parser.parse_args(argv)
    user = User("drill-operator", ("system:masters", AUTHENTICATED))
    server = KubeApiServer(record=False)
    server.access.default_user = user
    server.add_token(options.token, user)
    if options.scale:
        seed_scale(server.store, nodes=options.nodes, pods=options.pods)
    else:
        seed_cluster(server.store)
    gc.collect()
    gc.freeze()  # the seeded objects live forever: keep the collector from walking them
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        write_kubeconfig(options.kubeconfig, server.url, token=options.token, user=user.name)
        print(f"ready {server.url}", flush=True)
        threading.Thread(target=_until_stdin_closes, args=(done,), daemon=True).start()
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
