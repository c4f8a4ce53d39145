"""An exclusive per-target lock on the local machine: ``flock`` on a file, holder in JSON.

Used for targets with no lock of their own (the sandbox, plugin providers).
The kernel drops a ``flock`` when its process dies, so a crashed run never
leaves the target locked; the holder file says who holds it, so a refused
second run can name the holder (user, host, pid, run id, since when).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit.providers.base import LockHeld

LOCK_DIR_VARIABLE = "DRILLKIT_LOCK_DIR"


def lock_dir() -> Path:
    explicit = os.environ.get(LOCK_DIR_VARIABLE)
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_state_dir("drillkit")) / "locks"


@dataclass
class FileLock:
    path: Path
    fd: int
    holder: dict[str, Any]

    @classmethod
    def acquire(
        cls, target: str, run_id: str, holder: dict[str, Any], ttl_seconds: float
    ) -> FileLock:
        folder = lock_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{target}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = _read_holder(fd)
            os.close(fd)
            raise LockHeld(
                f"target `{target}` is locked by another drill run ({describe_holder(current)})",
                fix="wait for that run to finish; a crashed run's lock is released by the kernel "
                "when its process ends",
            ) from None
        record = {
            "runId": run_id,
            **holder,
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "ttlSeconds": ttl_seconds,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record, sort_keys=True).encode(), 0)
        return cls(path=path, fd=fd, holder=record)

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = -1

    def describe(self) -> dict[str, Any]:
        return {"kind": "file", "path": str(self.path), **self.holder}


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        value = json.loads(raw.decode() or "{}")
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def describe_holder(holder: dict[str, Any]) -> str:
    """``runId X of drill D, user U on host H (pid P) since T`` from whatever is known."""
    if not holder:
        return "holder unknown"
    text = f"runId {holder.get('runId', '?')}"
    if holder.get("drill"):
        text += f" of drill {holder['drill']}"
    if holder.get("user"):
        text += f", user {holder['user']}"
    if holder.get("host"):
        text += f" on host {holder['host']}"
    if holder.get("pid"):
        text += f" (pid {holder['pid']})"
    if holder.get("since"):
        text += f" since {holder['since']}"
    return text
