"""Which sandbox replicas run where, and killing them the way a lost machine would.

Faults choose victims from the workload record the supervisor publishes, and
check each pid still runs that replica (by its command line) before sending a
signal, so a recycled pid is never hit.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.processes import alive
from drillkit.sandbox.topology import NAMESPACE, WORKLOAD
from drillkit.sandbox.workload_status import Replica, SandboxWorkloads


def running_replicas(layout: SandboxLayout) -> list[Replica]:
    workload = SandboxWorkloads(layout).load(NAMESPACE, WORKLOAD)
    if workload is None:
        return []
    return [r for r in workload.replicas if r.pid is not None and alive(r.pid)]


def labels(replica: Replica) -> dict[str, str]:
    return {
        "app": WORKLOAD,
        "topology.kubernetes.io/region": replica.region,
        "topology.kubernetes.io/zone": replica.zone,
        "kubernetes.io/hostname": replica.node,
    }


def kill(replicas: list[Replica], grace_seconds: float = 0.0) -> list[str]:
    """Stop each replica (SIGTERM + grace, or SIGKILL at once); returns the names stopped."""
    stopped = []
    for replica in replicas:
        if replica.pid is None or not _runs(replica):
            continue
        os.kill(replica.pid, signal.SIGTERM if grace_seconds > 0 else signal.SIGKILL)
        stopped.append(replica)
    if grace_seconds > 0:
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and any(_runs(r) for r in stopped):
            time.sleep(0.05)
        for replica in stopped:
            if replica.pid is not None and _runs(replica):
                os.kill(replica.pid, signal.SIGKILL)
    return [r.name for r in stopped]


def _runs(replica: Replica) -> bool:
    if replica.pid is None or not alive(replica.pid):
        return False
    try:
        argv = Path(f"/proc/{replica.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return replica.name.encode() in argv
