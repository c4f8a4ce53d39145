"""A provider for engine tests: a small world in a JSON file that faults really change.

It implements the real provider interface (no mocking of the engine): faults
write their effect into ``world.json`` and undo removes it, so a test (or
another process, after a SIGKILL) can check from outside what is still
applied. Behaviour is configured in the world file's ``config``:

- ``failApply``: fault kinds whose apply writes its effect, then fails (a half-applied fault);
- ``transient``: ``{"apply": N}`` makes the first N apply calls raise TransientError;
- ``applySeconds``: apply takes this long (cancellable);
- ``hangProbe``: probes block until cancelled (or 60 s);
- ``recoverSeconds``: after a restore, the service is healthy this many seconds later;
- ``selfHealSeconds``: after a fault, the service heals by itself this much later;
- ``failRevert``: reverts fail permanently (to test ``drill recover`` reporting);
- ``revertSeconds``: each revert takes this long (not cancellable, like a real API call);
- ``loseLastSeconds``: a fault loses the canary records written in the last N seconds,
  as asynchronous replication or a backup taken that long ago would.

``secret``, ``workload-ready``, ``backup-age`` and ``access`` probes use the real
generic handlers over the sandbox's state formats when the target has a
``sandbox`` variable (a folder laid out like the sandbox's state); without it
they always pass, like the other simulated probes.

Load it with ``DRILLKIT_PLUGINS=tests.support.test_provider`` and a target with
``provider: test`` and variable ``world`` pointing at the file.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drillkit.errors import PermanentError, TransientError
from drillkit.providers.base import Impact, ProbeResult, Provider, StepContext, Touched
from drillkit.providers.registry import PROVIDERS
from drillkit.providers.sources import AccessSource, BackupSource, SecretSource, WorkloadSource
from drillkit.sandbox.access_policy import SandboxAccessPolicy
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.workload_status import SandboxWorkloads
from drillkit.spec import faults, probes, restores

SOURCED_PROBES = ("secret", "workload-ready", "backup-age", "access")
NODES = {"node-a1": "zone-a", "node-a2": "zone-a", "node-b1": "zone-b", "node-c1": "zone-c"}
PODS = {f"orders-api-{i}": node for i, node in enumerate(NODES)}


def new_world(path: Path, **config: Any) -> Path:
    """Write a fresh, healthy world with ``config``; returns ``path``."""
    path.write_text(
        json.dumps({"config": config, "applied": {}, "healthyAt": 0.0, "down": False, "calls": []})
    )
    return path


def read_world(path: Path) -> dict[str, Any]:
    """The world as it is now; waits for a writer (``_world`` truncates, then writes)."""
    with open(path, encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        return dict(json.loads(handle.read()))


@contextmanager
def _world(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        state = json.loads(handle.read() or "{}")
        yield state
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(state))
        handle.flush()


class TestProvider(Provider):
    name = "test"
    __test__ = False  # not a pytest class

    @property
    def world(self) -> Path:
        return Path(self.target.variables["world"])

    @property
    def sandbox(self) -> SandboxLayout | None:
        folder = self.target.variables.get("sandbox")
        return SandboxLayout(Path(folder)) if folder else None

    def probe_handler(self, kind: str) -> Any:
        if kind in SOURCED_PROBES and self.sandbox is None:
            return _Probe(self)
        return super().probe_handler(kind)

    def secret_source(self, source: str) -> SecretSource | None:
        layout = self.sandbox
        return SandboxSecretStore(layout) if layout and source in ("target", "sandbox") else None

    def workload_source(self) -> WorkloadSource | None:
        return SandboxWorkloads(self.sandbox) if self.sandbox else None

    def backup_source(self) -> BackupSource | None:
        return SandboxBackupCatalog(self.sandbox) if self.sandbox else None

    def access_source(self) -> AccessSource | None:
        return SandboxAccessPolicy(self.sandbox) if self.sandbox else None

    def open(self) -> None:
        with _world(self.world) as state:
            state["calls"].append("open")

    def close(self) -> None:
        with _world(self.world) as state:
            state["calls"].append("close")

    def identity(self) -> dict[str, Any]:
        return {
            "provider": "test",
            "target": self.target_name,
            "world": str(self.world),
            "pid": os.getpid(),
        }

    def healthy(self) -> bool:
        state = read_world(self.world)
        return not state["down"] or time.time() >= state["healthyAt"] > 0


def _fault_key(intent: Any) -> tuple[str, list[Touched]]:
    if isinstance(intent, faults.ZoneOutage):
        zone = f"zone-{intent.zone}" if not intent.zone.startswith("zone-") else intent.zone
        nodes = [Touched("node", n, "cordon") for n, z in NODES.items() if z == zone]
        return f"zone-outage:{zone}", [Touched("zone", zone, "outage"), *nodes]
    if isinstance(intent, faults.PodKill):
        return f"pod-kill:{intent.namespace}", [Touched("pod", p, "delete") for p in PODS][:2]
    if isinstance(intent, faults.NodeFailure):
        node = sorted(NODES)[0]
        return f"node-failure:{node}", [Touched("node", node, intent.mode)]
    if isinstance(intent, faults.RegionOutage):
        return f"region-outage:{intent.region}", [Touched("region", intent.region, "outage")]
    if isinstance(intent, faults.NamespaceLoss):
        return f"namespace-loss:{intent.namespace}", [
            Touched("namespace", intent.namespace, "delete")
        ]
    return f"{intent.type}:x", []


class _Fault:
    def __init__(self, provider: TestProvider) -> None:
        self.provider = provider

    def impact(self, intent: Any) -> Impact:
        return Impact(tuple(_fault_key(intent)[1]))

    def prepare(self, intent: Any, ctx: StepContext) -> dict[str, Any]:
        key, touched = _fault_key(intent)
        state = read_world(self.provider.world)
        return {
            "key": key,
            "world": str(self.provider.world),
            "wasApplied": key in state["applied"],
            "touched": [t.name for t in touched],
        }

    def apply(self, intent: Any, undo: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        world = Path(undo["world"])
        with _world(world) as state:
            config = state["config"]
            transient = config.get("transient", {})
            throttled = transient.get("apply", 0) > 0
            if throttled:
                transient["apply"] -= 1
        if throttled:
            raise TransientError("503 Service Unavailable (test world)")
        with _world(world) as state:
            state["applied"][undo["key"]] = {"pid": os.getpid(), "at": time.time()}
            lose = config.get("loseLastSeconds")
            if lose is not None:
                cutoff = time.time() - float(lose)
                for run_id, records in state.get("canary", {}).items():
                    state["canary"][run_id] = [r for r in records if r[1] <= cutoff]
            state["down"] = True
            heal = config.get("selfHealSeconds")
            state["healthyAt"] = time.time() + heal if heal is not None else 0.0
            ctx.note("apply", key=undo["key"])
        if intent.type in config.get("failApply", []):
            raise PermanentError(f"403 Forbidden while applying {intent.type} (test world)")
        if config.get("applySeconds"):
            ctx.cancelled.wait(float(config["applySeconds"]))
        return {"key": undo["key"]}

    def revert(self, undo: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        delay = float(read_world(Path(undo["world"]))["config"].get("revertSeconds", 0))
        if delay:
            time.sleep(delay)
        with _world(Path(undo["world"])) as state:
            if state["config"].get("failRevert"):
                raise PermanentError("revert refused (test world)")
            state["applied"].pop(undo["key"], None)
            if not state["applied"]:
                state["down"] = False
        return {"key": undo["key"]}


class _Restore:
    def __init__(self, provider: TestProvider) -> None:
        self.provider = provider

    def impact(self, intent: Any) -> Impact:
        return Impact((Touched("restore", intent.type, "run"),))

    def run(self, intent: Any, ctx: StepContext) -> dict[str, Any]:
        with _world(self.provider.world) as state:
            state["healthyAt"] = time.time() + float(state["config"].get("recoverSeconds", 0.3))
            state["calls"].append(f"restore:{intent.type}")
        return {"restored": intent.type}


class _Probe:
    def __init__(self, provider: TestProvider) -> None:
        self.provider = provider

    def measure(self, intent: Any, ctx: StepContext) -> ProbeResult:
        config = read_world(self.provider.world)["config"]
        if config.get("hangProbe"):
            ctx.cancelled.wait(60)
        started = time.perf_counter()
        ok = self.provider.healthy() if isinstance(intent, probes.HttpProbe) else True
        latency = (time.perf_counter() - started) * 1000
        return ProbeResult(
            ok=ok, summary="200 OK" if ok else "503 from every replica", latency_ms=latency
        )


class _Canary:
    def __init__(self, provider: TestProvider) -> None:
        self.provider = provider

    def write(self, intent: Any, run_id: str, seq: int, ctx: StepContext) -> None:
        if not self.provider.healthy():
            raise PermanentError("503 from every replica: canary not written")
        with _world(self.provider.world) as state:
            state.setdefault("canary", {}).setdefault(run_id, []).append([seq, time.time()])

    def read(self, intent: Any, run_id: str, ctx: StepContext) -> list[int]:
        return [
            int(r[0]) for r in read_world(self.provider.world).get("canary", {}).get(run_id, [])
        ]

    def cleanup(self, intent: Any, run_id: str, ctx: StepContext) -> None:
        with _world(self.provider.world) as state:
            state.get("canary", {}).pop(run_id, None)


TestProvider.canaries.register("rpo-canary", _Canary)
for _kind in faults.FAULT_KINDS:
    TestProvider.faults.register(_kind, _Fault)
for _kind in restores.RESTORE_KINDS:
    TestProvider.restores.register(_kind, _Restore)
for _kind in probes.PROBE_KINDS:
    if _kind not in SOURCED_PROBES:
        TestProvider.probes.register(_kind, _Probe)

PROVIDERS.register(TestProvider)
