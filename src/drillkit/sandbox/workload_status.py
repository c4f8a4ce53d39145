"""Sandbox workloads: desired replicas and the processes that really serve them.

The sandbox supervisor records each workload in
``workloads/<namespace>/<name>.json``: labels, desired replicas and, per
replica, its process id, node, zone, region and whether its own readiness
check passed. A replica counts as ready only if that check passed *and* its
process is alive right now, so a ``kill -9`` shows up at once, before any
supervisor notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import WorkloadStatus
from drillkit.sandbox.layout import SandboxLayout, read_json, write_json_atomically
from drillkit.sandbox.processes import alive

KIND = "sandbox-service"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class Replica:
    name: str
    pid: int | None
    node: str
    zone: str
    region: str
    ready: bool
    """The replica's own readiness check passed when the supervisor last looked."""


@dataclass(frozen=True)
class Workload:
    name: str
    namespace: str
    desired: int
    labels: dict[str, str] = field(default_factory=dict)
    replicas: tuple[Replica, ...] = ()


class SandboxWorkloads:
    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout

    def save(self, workload: Workload) -> None:
        """Record a workload (the supervisor calls this whenever a replica changes)."""
        write_json_atomically(
            self._path(workload.namespace, workload.name),
            {
                "name": workload.name,
                "namespace": workload.namespace,
                "kind": KIND,
                "desired": workload.desired,
                "labels": workload.labels,
                "replicas": [vars(replica) for replica in workload.replicas],
            },
        )

    def load(self, namespace: str, name: str) -> Workload | None:
        path = self._path(namespace, name)
        return _parse(path) if path.exists() else None

    def workloads(
        self, namespace: str, names: list[str], selector: dict[str, str], ctx: StepContext
    ) -> list[WorkloadStatus]:
        folder = self.layout.workloads / namespace
        found = [_parse(path) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []
        chosen = [
            workload
            for workload in found
            if (not names and not selector)
            or workload.name in names
            or (selector and all(workload.labels.get(k) == v for k, v in selector.items()))
        ]
        return [_status(workload) for workload in chosen]

    def _path(self, namespace: str, name: str) -> Path:
        for part in (namespace, name):
            if not _NAME.match(part):
                raise PermanentError(f"`{part}` is not a valid sandbox workload name or namespace")
        return self.layout.workloads / namespace / f"{name}.json"


def _status(workload: Workload) -> WorkloadStatus:
    dead = [r.name for r in workload.replicas if r.ready and not process_alive(r.pid)]
    ready = sum(1 for r in workload.replicas if r.ready and process_alive(r.pid))
    detail = f"process gone: {', '.join(dead)}" if dead else ""
    return WorkloadStatus(workload.name, KIND, workload.desired, ready, detail)


def process_alive(pid: int | None) -> bool:
    """True when ``pid`` runs and is not a zombie waiting to be reaped."""
    return pid is not None and pid > 0 and alive(pid)


def _parse(path: Path) -> Workload:
    try:
        document: Any = read_json(path)
        return Workload(
            name=str(document["name"]),
            namespace=str(document["namespace"]),
            desired=int(document["desired"]),
            labels={str(k): str(v) for k, v in (document.get("labels") or {}).items()},
            replicas=tuple(
                Replica(
                    name=str(r["name"]),
                    pid=int(r["pid"]) if r.get("pid") is not None else None,
                    node=str(r.get("node", "")),
                    zone=str(r.get("zone", "")),
                    region=str(r.get("region", "")),
                    ready=bool(r.get("ready")),
                )
                for r in document.get("replicas") or ()
            ),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"cannot read sandbox workload record {path}: {exc}") from None
