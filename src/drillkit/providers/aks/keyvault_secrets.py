"""``secret`` probes against Azure Key Vault (source ``azure-key-vault``): digests only.

The probe's ``name`` is the secret's URL (``https://VAULT.vault.azure.net/
secrets/NAME[/VERSION]``) or ``VAULT/NAME`` for a vault in the public
cloud; ``key`` picks one field of a JSON secret. The value is digested where
it is read and dropped; the reading keeps the digest, size, last update
(rotation) time, version, and whether the secret is enabled and unexpired. A
disabled or expired secret fails the probe with that said, never with the
service's body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks.azure_errors import azure_error
from drillkit.providers.base import StepContext
from drillkit.providers.sources import SecretMissing, SecretReading

if TYPE_CHECKING:
    from drillkit.providers.aks import AksProvider

PUBLIC_VAULT_DOMAIN = "vault.azure.net"


def secret_location(name: str) -> tuple[str, str, str | None]:
    """(vault URL, secret name, version) from a secret URL or ``VAULT/NAME``."""
    if name.startswith("https://"):
        parts = urlsplit(name)
        path = [p for p in parts.path.split("/") if p]
        if len(path) in (2, 3) and path[0] == "secrets":
            return f"https://{parts.netloc}", path[1], path[2] if len(path) == 3 else None
    else:
        path = name.split("/")
        if len(path) == 2 and all(path):
            return f"https://{path[0]}.{PUBLIC_VAULT_DOMAIN}", path[1], None
    raise UserInputError(
        f"`{name}` does not name a Key Vault secret",
        fix="write `https://VAULT.vault.azure.net/secrets/NAME` or `VAULT/NAME`",
    )


class KeyVaultSecrets:
    """A ``SecretSource`` over Key Vault, with the provider's Azure credential."""

    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider

    def read_secret(
        self, name: str, key: str | None, namespace: str | None, ctx: StepContext
    ) -> SecretReading:
        from azure.keyvault.secrets import SecretClient

        vault, secret_name, version = secret_location(name)
        client = SecretClient(vault, self.provider.azure.credential)
        try:
            secret = self._get(client, vault, secret_name, version)
        finally:
            client.close()
        props = secret.properties
        now = datetime.now(UTC)
        if props.expires_on is not None and props.expires_on <= now:
            raise PermanentError(
                f"Key Vault secret {secret_name} expired at {props.expires_on.isoformat()}",
                fix="rotate the secret (set a new version with a later expiry)",
            )
        facts: dict[str, Any] = {
            "updated_at": props.updated_on,
            "details": {
                "vault": vault,
                "version": props.version,
                "enabled": bool(props.enabled),
                "expiresOn": props.expires_on.isoformat() if props.expires_on else None,
            },
        }
        value = secret.value or ""
        if key is None:
            return SecretReading.of_value(value.encode(), **facts)
        try:
            fields = json.loads(value)
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or key not in fields:
            raise SecretMissing(
                f"Key Vault secret {secret_name} has no field `{key}` (it is not a JSON object "
                "with that key)",
                fix="drop `key:` to digest the whole value, or name a field it has",
            )
        return SecretReading.of_value(str(fields[key]).encode(), **facts)

    def _get(self, client: Any, vault: str, name: str, version: str | None) -> Any:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            return client.get_secret(name, version)
        except ResourceNotFoundError:
            raise SecretMissing(
                f"Key Vault {vault} has no secret {name}",
                fix="check the probe's `name` (vault and secret)",
            ) from None
        except HttpResponseError as error:
            if error.status_code == 403 and "disabled" in str(error.message).lower():
                raise PermanentError(
                    f"Key Vault secret {name} is disabled",
                    fix="enable the secret's current version",
                ) from None
            raise azure_error(f"read Key Vault secret {name}", error) from None
