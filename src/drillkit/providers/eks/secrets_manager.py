"""The ``secret`` probe's AWS source: a Secrets Manager secret, digested, never kept.

``source: aws-secrets-manager`` names a secret by name or ARN in the target's
region. The value is read, digested and dropped at once (a JSON secret's
``key`` is one field of it); only the digest, size, version id, last
rotation or change time and the replication status of each replica region
(the DR copy) leave this module.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import SecretMissing, SecretReading

if TYPE_CHECKING:
    from drillkit.providers.eks import EksProvider

MISSING = ("ResourceNotFoundException",)


class SecretsManagerSecrets:
    def __init__(self, provider: EksProvider) -> None:
        self.provider = provider

    def read_secret(
        self, name: str, key: str | None, namespace: str | None, ctx: StepContext
    ) -> SecretReading:
        client = self.provider.client("secretsmanager")
        described = self.provider.call(
            f"describe secret {name}",
            lambda: client.describe_secret(SecretId=name),
            tolerate=MISSING,
        )
        if described is None:
            raise SecretMissing(
                f"secret `{name}` does not exist in Secrets Manager in {self.provider.region}"
            )
        answer = self.provider.call(
            f"read secret {name}", lambda: client.get_secret_value(SecretId=name), tolerate=MISSING
        )
        if answer is None:
            raise SecretMissing(f"secret `{name}` has no current value")
        details = _details(described, answer)
        updated = described.get("LastRotatedDate") or described.get("LastChangedDate")
        value = _value(name, answer, key)
        return SecretReading.of_value(value, updated_at=updated, details=details)


def _value(name: str, answer: Any, key: str | None) -> bytes:
    if key is None:
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"]).encode()
        return bytes(answer.get("SecretBinary") or b"")
    try:
        fields = json.loads(answer.get("SecretString") or "")
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise PermanentError(
            f"secret `{name}` is not a JSON object, so it has no key `{key}`",
            fix="drop `key:` from the probe to digest the whole secret",
        )
    if key not in fields:
        raise SecretMissing(
            f"secret `{name}` has no key `{key}` (keys: {', '.join(sorted(fields)) or 'none'})"
        )
    item = fields[key]
    return (item if isinstance(item, str) else json.dumps(item, sort_keys=True)).encode()


def _details(described: Any, answer: Any) -> dict[str, Any]:
    replicas = {
        r["Region"]: {"status": r.get("Status"), "message": r.get("StatusMessage")}
        for r in described.get("ReplicationStatus") or []
    }
    return {
        "arn": described.get("ARN"),
        "versionId": answer.get("VersionId"),
        "rotationEnabled": bool(described.get("RotationEnabled")),
        "replication": replicas,
    }
