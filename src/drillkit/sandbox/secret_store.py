"""The sandbox's secret store: what the orders service reads at start, and what probes digest.

One private JSON file per secret (``secrets/<namespace>/<name>.json``, mode
0600 in a 0700 folder) holding base64 values, a version counter and the time
the value last changed. The store answers probes with ``SecretReading``
(digest, size, rotation time) through ``read_secret``; only the sandbox's own
service calls ``value``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import SecretMissing, SecretReading
from drillkit.sandbox.layout import (
    SandboxLayout,
    iso_utc,
    read_json,
    write_json_atomically,
)
from drillkit.timeparse import parse_utc

DEFAULT_NAMESPACE = "default"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class SandboxSecretStore:
    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout

    # --- Writing (the sandbox itself, and tests) ------------------------------------------------

    def put(
        self,
        name: str,
        data: dict[str, bytes],
        *,
        namespace: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Create or update a secret; ``updatedAt`` moves only when a value really changes."""
        path = self._path(name, namespace)
        moment = iso_utc(now or datetime.now(UTC))
        encoded = {key: base64.b64encode(value).decode("ascii") for key, value in data.items()}
        previous = self._document(path) if path.exists() else None
        if previous is not None and previous.get("data") == encoded:
            return
        document = {
            "name": name,
            "namespace": namespace or DEFAULT_NAMESPACE,
            "data": encoded,
            "createdAt": previous.get("createdAt", moment) if previous else moment,
            "updatedAt": moment,
            "version": int(previous.get("version", 0)) + 1 if previous else 1,
        }
        # Only the top folder's mode keeps other users out; set it even if it already existed.
        self.layout.secrets.mkdir(parents=True, exist_ok=True)
        self.layout.secrets.chmod(0o700)
        write_json_atomically(path, document, private=True)

    def delete(self, name: str, *, namespace: str | None = None) -> None:
        self._path(name, namespace).unlink(missing_ok=True)

    # --- Reading ------------------------------------------------------------------------------

    def value(self, name: str, key: str, *, namespace: str | None = None) -> bytes:
        """The plain value: for the sandbox's service only, never for probes or reports."""
        values = self._decoded(self._load(name, namespace), name, namespace)
        if key not in values:
            raise SecretMissing(f"sandbox secret {_where(name, namespace)} has no key `{key}`")
        return values[key]

    def read_secret(
        self, name: str, key: str | None, namespace: str | None, ctx: StepContext
    ) -> SecretReading:
        document = self._load(name, namespace)
        values = self._decoded(document, name, namespace)
        facts: dict[str, Any] = {
            "updated_at": parse_utc(document.get("updatedAt")),
            "details": {"version": document.get("version"), "keys": sorted(values)},
        }
        if key is None:
            return SecretReading.of_items(values, **facts)
        if key not in values:
            raise SecretMissing(
                f"sandbox secret {_where(name, namespace)} has no key `{key}` "
                f"(keys: {', '.join(sorted(values)) or 'none'})",
                fix="fix the probe's `key`, or add the key to the sandbox secret",
            )
        return SecretReading.of_value(values[key], **facts)

    # --- Files --------------------------------------------------------------------------------

    def _path(self, name: str, namespace: str | None) -> Path:
        for part, what in ((name, "name"), (namespace or DEFAULT_NAMESPACE, "namespace")):
            if not _NAME.match(part):
                raise PermanentError(
                    f"`{part}` is not a valid sandbox secret {what}",
                    fix="use lower-case letters, digits, `-` and `.`",
                )
        return self.layout.secrets / (namespace or DEFAULT_NAMESPACE) / f"{name}.json"

    def _load(self, name: str, namespace: str | None) -> dict[str, Any]:
        path = self._path(name, namespace)
        if not path.exists():
            raise SecretMissing(
                f"sandbox secret {_where(name, namespace)} does not exist",
                fix="check the probe's `name` and `namespace`, or start the sandbox "
                "(`drill sandbox up`), which creates its secrets",
            )
        return self._document(path)

    @staticmethod
    def _document(path: Path) -> dict[str, Any]:
        try:
            document = read_json(path)
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot read sandbox secret file: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
            raise PermanentError(f"sandbox secret file {path} has no `data` object")
        return document

    @staticmethod
    def _decoded(document: dict[str, Any], name: str, namespace: str | None) -> dict[str, bytes]:
        try:
            return {
                str(key): base64.b64decode(str(value), validate=True)
                for key, value in document["data"].items()
            }
        except (binascii.Error, ValueError):
            raise PermanentError(
                f"sandbox secret {_where(name, namespace)} holds a value that is not base64"
            ) from None


def _where(name: str, namespace: str | None) -> str:
    return f"`{namespace or DEFAULT_NAMESPACE}/{name}`"
