"""The secret probe reading Secrets Manager through the eks provider, against moto.

What a probe may record is a digest, a size, the version, when the value last
changed and the replication status of each replica: never the value, which
these tests look for in everything the probe returns.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from drillkit.providers.eks import EksProvider
from drillkit.spec.probes import SecretProbe
from drillkit.spec.targets import Target
from tests.support.aws_seed import STANDBY, client, eks_target
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext

PASSWORD = "s3cret-orders-password"
VALUE = json.dumps({"username": "orders", "password": PASSWORD})


@pytest.fixture
def provider(aws: MotoServer) -> EksProvider:
    return EksProvider("staging-eks", Target.model_validate(eks_target({"context": "unused"})))


def measure(provider: EksProvider, **probe: Any) -> Any:
    handler = provider.probe_handler("secret")
    assert handler is not None
    intent = SecretProbe.model_validate(
        {"type": "secret", "source": "aws-secrets-manager", **probe}
    )
    return handler.measure(intent, ProbeContext())


def test_a_secret_is_digested_with_its_version_and_replication_and_never_recorded(
    provider: EksProvider,
) -> None:
    client("secretsmanager").create_secret(
        Name="orders/db", SecretString=VALUE, AddReplicaRegions=[{"Region": STANDBY}]
    )

    result = measure(provider, name="orders/db", key="password")

    assert result.ok, result.summary
    assert result.values["sha256"] == hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert result.values["versionId"]
    assert STANDBY in result.values["replication"]
    assert result.values["updatedAt"]
    recorded = json.dumps(result.values, default=str) + result.summary
    assert PASSWORD not in recorded and 'orders"' not in recorded


def test_the_whole_secret_is_digested_when_no_key_is_named(provider: EksProvider) -> None:
    client("secretsmanager").create_secret(Name="orders/db", SecretString=VALUE)

    result = measure(provider, name="orders/db")

    assert result.ok and result.values["sha256"] == hashlib.sha256(VALUE.encode()).hexdigest()


def test_a_missing_secret_and_a_missing_key_fail_naming_only_names(provider: EksProvider) -> None:
    client("secretsmanager").create_secret(Name="orders/db", SecretString=VALUE)

    missing = measure(provider, name="orders/nothing")
    no_key = measure(provider, name="orders/db", key="token")

    assert not missing.ok and "orders/nothing" in missing.summary
    assert not no_key.ok and "no key `token` (keys: password, username)" in no_key.summary
    assert PASSWORD not in no_key.summary


def test_an_expected_digest_that_differs_fails(provider: EksProvider) -> None:
    client("secretsmanager").create_secret(Name="orders/db", SecretString=VALUE)

    result = measure(provider, name="orders/db", key="password", expectSha256="0" * 64)

    assert not result.ok
