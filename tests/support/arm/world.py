"""The state the ARM test server keeps: resources by id, scale-set power, operations, a vault.

Resources are plain JSON documents keyed by their lower-cased resource id
(ARM ids are case-insensitive), so a test seeds and inspects exactly what the
SDK reads and writes. Fields whose names start with ``_`` are the server's
own (a scale-set instance's power state) and never leave it. ``aks_seed``
fills it with an AKS cluster.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

JsonObject = dict[str, Any]


@dataclass
class Operation:
    """One long-running operation: ``InProgress`` for ``polls`` status reads, then done."""

    id: str
    polls: int
    complete: Callable[[], None]
    status: str = "InProgress"
    resource_id: str | None = None

    def poll(self) -> str:
        if self.status == "InProgress":
            self.polls -= 1
            if self.polls <= 0:
                self.complete()
                self.status = "Succeeded"
        return self.status


@dataclass
class VaultKey:
    name: str
    version: str
    private_key: ec.EllipticCurvePrivateKey
    enabled: bool = True


@dataclass
class VaultSecret:
    name: str
    version: str
    value: str
    enabled: bool = True
    expires: int | None = None
    updated: int = field(default_factory=lambda: int(time.time()))
    content_type: str | None = None


@dataclass
class VaultCertificate:
    name: str
    version: str
    der: bytes
    enabled: bool = True
    not_before: int = 0
    expires: int = 0


@dataclass
class World:
    """Everything the server knows; every access holds ``lock``."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    resources: dict[str, JsonObject] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    keys: dict[str, VaultKey] = field(default_factory=dict)
    secrets: dict[str, VaultSecret] = field(default_factory=dict)
    certificates: dict[str, VaultCertificate] = field(default_factory=dict)
    """The current version of each certificate, by name."""
    operation_polls: int = 2
    """Status reads an operation stays ``InProgress`` for."""

    def put(self, resource: JsonObject) -> JsonObject:
        with self.lock:
            self.resources[resource["id"].lower()] = resource
            return resource

    def get(self, resource_id: str) -> JsonObject | None:
        with self.lock:
            return self.resources.get(resource_id.lower().rstrip("/"))

    def delete(self, resource_id: str) -> bool:
        with self.lock:
            return self.resources.pop(resource_id.lower().rstrip("/"), None) is not None

    def children(self, collection: str) -> list[JsonObject]:
        """Resources directly under ``collection`` (``.../virtualMachineScaleSets``)."""
        prefix = collection.lower().rstrip("/") + "/"
        with self.lock:
            return [
                r
                for key, r in sorted(self.resources.items())
                if key.startswith(prefix) and "/" not in key[len(prefix) :]
            ]

    def start_operation(self, complete: Callable[[], None], resource_id: str | None = None) -> str:
        operation = Operation(
            uuid.uuid4().hex, self.operation_polls, complete, resource_id=resource_id
        )
        with self.lock:
            self.operations[operation.id] = operation
        return operation.id

    def instances(self) -> list[JsonObject]:
        """Every scale-set instance, in id order."""
        with self.lock:
            return [
                r
                for r in self.resources.values()
                if r.get("type", "").endswith("/virtualMachines") and "_power" in r
            ]

    def power(self, resource_id: str) -> str:
        found = self.get(resource_id)
        assert found is not None, resource_id
        return str(found["_power"])

    def snapshot(self) -> dict[str, JsonObject]:
        with self.lock:
            return copy.deepcopy(self.resources)


def public(resource: JsonObject) -> JsonObject:
    """The document as the API shows it: without the server's own ``_`` fields."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def add_key(world: World, name: str) -> VaultKey:
    key = VaultKey(name, uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()))
    with world.lock:
        world.keys[name] = key
    return key


def add_secret(world: World, name: str, value: str, **facts: Any) -> VaultSecret:
    secret = VaultSecret(name, uuid.uuid4().hex, value, **facts)
    with world.lock:
        world.secrets[name] = secret
    return secret


def add_certificate(
    world: World, name: str, pem: bytes, *, enabled: bool = True
) -> VaultCertificate:
    """Import a certificate (PEM) into the vault as the current version of ``name``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(pem)
    certificate = VaultCertificate(
        name,
        uuid.uuid4().hex,
        cert.public_bytes(serialization.Encoding.DER),
        enabled=enabled,
        not_before=int(cert.not_valid_before_utc.timestamp()),
        expires=int(cert.not_valid_after_utc.timestamp()),
    )
    with world.lock:
        world.certificates[name] = certificate
    return certificate
