"""Where and how the sandbox keeps its state: one folder, so ``sandbox down`` leaves nothing."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "DRILLKIT_SANDBOX_DIR"


@dataclass(frozen=True)
class SandboxLayout:
    root: Path

    @classmethod
    def default(cls) -> SandboxLayout:
        """``$DRILLKIT_SANDBOX_DIR``, else ``sandbox/`` under the user's data folder."""
        configured = os.environ.get(STATE_DIR_ENV)
        if configured:
            return cls(Path(configured).expanduser())
        import platformdirs

        return cls(Path(platformdirs.user_data_dir("drillkit")) / "sandbox")

    @property
    def secrets(self) -> Path:
        """``secrets/<namespace>/<name>.json``, private to the user."""
        return self.root / "secrets"

    @property
    def backups(self) -> Path:
        """``backups/<schedule>/<backup>/backup.json`` plus the snapshot beside it."""
        return self.root / "backups"

    @property
    def workloads(self) -> Path:
        """``workloads/<namespace>/<name>.json``: desired replicas and each replica's process."""
        return self.root / "workloads"

    @property
    def access_policy(self) -> Path:
        """``access.json``: who may do what, the sandbox's stand-in for RBAC."""
        return self.root / "access.json"


def write_json_atomically(path: Path, document: Any, *, private: bool = False) -> None:
    """Readers never see half a file: write a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=True)
            stream.write("\n")
        os.chmod(temporary, 0o600 if private else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The parsed file; ``ValueError`` names the file when it is not JSON."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None


def iso_utc(moment: datetime | None) -> str | None:
    """State files store UTC times as RFC 3339 with milliseconds and ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
