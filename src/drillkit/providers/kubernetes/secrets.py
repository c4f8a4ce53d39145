"""The ``secret`` probe's Kubernetes source: Secret keys, and External Secrets' Ready condition.

Values are decoded and digested here and dropped at once; only the digest,
size, key names and times leave this module. The rotation time of a plain
Secret is the newest ``managedFields`` time (when its data was last written),
falling back to its creation time.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import SecretMissing, SecretReading


class KubernetesSecrets:
    def __init__(self, provider: Any, *, external: bool) -> None:
        self.provider = provider
        self.external = external

    def read_secret(
        self, name: str, key: str | None, namespace: str | None, ctx: StepContext
    ) -> SecretReading:
        from kubernetes import client

        if namespace is None:
            raise PermanentError(
                f"secret `{name}`: a Kubernetes secret needs a namespace",
                fix="add `namespace:` to the secret probe",
            )
        ready: bool | None = None
        details: dict[str, Any] = {}
        if self.external:
            ready, details = self._external_status(name, namespace)
        secret = self.provider.api(
            f"read secret {namespace}/{name}",
            lambda: client.CoreV1Api(self.provider.api_client).read_namespaced_secret(
                name, namespace
            ),
            tolerate=(404,),
        )
        if secret is None:
            raise SecretMissing(f"secret `{namespace}/{name}` does not exist")
        values = {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
        updated = _last_write(secret)
        details = {
            **details,
            "keys": sorted(values),
            "resourceVersion": secret.metadata.resource_version,
        }
        if key is None:
            return SecretReading.of_items(values, updated_at=updated, ready=ready, details=details)
        if key not in values:
            raise SecretMissing(
                f"secret `{namespace}/{name}` has no key `{key}` "
                f"(keys: {', '.join(sorted(values)) or 'none'})"
            )
        return SecretReading.of_value(values[key], updated_at=updated, ready=ready, details=details)

    def _external_status(self, name: str, namespace: str) -> tuple[bool, dict[str, Any]]:
        from kubernetes import client

        custom = client.CustomObjectsApi(self.provider.api_client)
        document = self.provider.api(
            f"read ExternalSecret {namespace}/{name}",
            lambda: custom.get_namespaced_custom_object(
                "external-secrets.io", "v1beta1", namespace, "externalsecrets", name
            ),
            tolerate=(404,),
        )
        if document is None:
            raise SecretMissing(f"ExternalSecret `{namespace}/{name}` does not exist")
        conditions = (document.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        details = {"externalSecretReady": ready.get("status") if ready else None}
        if ready and ready.get("reason"):
            details["externalSecretReason"] = ready.get("reason")
        return bool(ready and ready.get("status") == "True"), details


def _last_write(secret: Any) -> datetime | None:
    times = [f.time for f in (secret.metadata.managed_fields or []) if f.time is not None]
    moment: datetime | None = max(times) if times else secret.metadata.creation_timestamp
    return moment
