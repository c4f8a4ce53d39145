"""The Azure side of an AKS target: one credential and the management clients, built lazily.

Credentials come from ``DefaultAzureCredential`` (environment, workload
identity, managed identity, Azure CLI login), asked for tokens of the
target's Resource Manager endpoint, so a sovereign cloud is one setting
(``resourceManager``). Clients are built with ``polling_interval=0``: the
service's ``Retry-After`` says how long to wait between polls, and without
this an answer of ``Retry-After: 0`` is read as unset (30 seconds).
"""

from __future__ import annotations

import base64
import json
from functools import cached_property
from typing import Any

from drillkit.providers.aks.azure_errors import call_azure
from drillkit.spec.targets import AzureSettings


class AzureClients:
    """The credential and one client per service, for one target."""

    def __init__(self, settings: AzureSettings) -> None:
        self.settings = settings
        self.endpoint = settings.resource_manager.rstrip("/")

    @cached_property
    def credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _options(self) -> dict[str, Any]:
        return {
            "base_url": self.endpoint,
            "credential_scopes": [f"{self.endpoint}/.default"],
            "polling_interval": 0,
        }

    @cached_property
    def containers(self) -> Any:
        from azure.mgmt.containerservice import ContainerServiceClient

        return ContainerServiceClient(
            self.credential, self.settings.subscription_id, **self._options()
        )

    @cached_property
    def compute(self) -> Any:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(
            self.credential, self.settings.subscription_id, **self._options()
        )

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(
            self.credential, self.settings.subscription_id, **self._options()
        )

    @cached_property
    def traffic(self) -> Any:
        from azure.mgmt.trafficmanager import TrafficManagerManagementClient

        return TrafficManagerManagementClient(
            self.credential, self.settings.subscription_id, **self._options()
        )

    def caller(self) -> dict[str, Any]:
        """Who drillkit acts as: the token's object id and tenant (claims read, never logged)."""
        token = call_azure(
            "get a token for Azure Resource Manager",
            lambda: self.credential.get_token(f"{self.endpoint}/.default"),
        )
        claims = _claims(token.token if token is not None else "")
        return {
            "objectId": claims.get("oid"),
            "tenantId": claims.get("tid"),
            "appId": claims.get("appid") or claims.get("azp"),
        }

    def close(self) -> None:
        for name in ("containers", "compute", "network", "traffic"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
        credential = self.__dict__.pop("credential", None)
        if credential is not None:
            credential.close()


def _claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: for reporting who the token says we are."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
