"""The secret probe over the sandbox secret store: proves resolution, records only digests."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drillkit.errors import PermanentError
from drillkit.providers.base import ProbeResult
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.spec.probes import SecretProbe
from tests.support.probe_context import ProbeContext
from tests.support.sandbox_provider import sandbox_provider
from tests.support.test_provider import TestProvider

VALUE = b"s3cr3t-Passw0rd-do-not-log"


@pytest.fixture
def lab(tmp_path: Path) -> tuple[TestProvider, SandboxSecretStore]:
    provider, layout = sandbox_provider(tmp_path)
    return provider, SandboxSecretStore(layout)


def measure(provider: TestProvider, **fields: object) -> ProbeResult:
    intent = SecretProbe.model_validate({"type": "secret", **fields})
    handler = provider.probe_handler("secret")
    assert handler is not None
    result: ProbeResult = handler.measure(intent, ProbeContext())
    return result


def test_a_resolving_secret_passes_with_its_digest_and_never_its_value(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, store = lab
    store.put("orders-db", {"password": VALUE, "user": b"orders"}, namespace="orders")

    result = measure(provider, name="orders-db", key="password", namespace="orders")

    assert result.ok, result.summary
    assert result.values["sha256"] == hashlib.sha256(VALUE).hexdigest()
    assert result.values["size"] == len(VALUE)
    assert result.values["keys"] == ["password", "user"]
    assert VALUE.decode() not in json.dumps(result.values) + result.summary


def test_a_missing_secret_or_key_fails_naming_what_is_missing(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, store = lab
    store.put("orders-db", {"user": b"orders"}, namespace="orders")

    gone = measure(provider, name="payments-db", namespace="orders")
    no_key = measure(provider, name="orders-db", key="password", namespace="orders")

    assert not gone.ok and "`orders/payments-db` does not exist" in gone.summary
    assert gone.values == {"exists": False}
    assert not no_key.ok and "has no key `password` (keys: user)" in no_key.summary


def test_an_empty_value_fails(lab: tuple[TestProvider, SandboxSecretStore]) -> None:
    provider, store = lab
    store.put("token", {"value": b""})

    result = measure(provider, name="token", key="value")

    assert not result.ok and "is empty" in result.summary


def test_expected_digest_is_compared(lab: tuple[TestProvider, SandboxSecretStore]) -> None:
    provider, store = lab
    store.put("token", {"value": VALUE})

    right = measure(
        provider, name="token", key="value", expectSha256=hashlib.sha256(VALUE).hexdigest()
    )
    wrong = measure(provider, name="token", key="value", expectSha256="0" * 64)

    assert right.ok
    assert not wrong.ok and "differs from expectSha256" in wrong.summary


def test_max_age_fails_a_secret_not_rotated_in_time(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, store = lab
    store.put("token", {"value": VALUE}, now=datetime.now(UTC) - timedelta(days=100))

    stale = measure(provider, name="token", key="value", maxAge="90d")
    fresh_enough = measure(provider, name="token", key="value", maxAge="101d")

    assert not stale.ok and "older than maxAge 90d" in stale.summary
    assert 100 * 86400 - 5 < stale.values["ageSeconds"] < 100 * 86400 + 5
    assert fresh_enough.ok


def test_rewriting_the_same_value_is_not_a_rotation(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, store = lab
    long_ago = datetime.now(UTC) - timedelta(days=10)
    store.put("token", {"value": VALUE}, now=long_ago)
    store.put("token", {"value": VALUE})

    result = measure(provider, name="token", key="value")

    assert result.values["version"] == 1
    assert result.values["ageSeconds"] > 9 * 86400


def test_a_whole_secret_digest_does_not_depend_on_key_order(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, store = lab
    store.put("a", {"x": b"1", "y": b"2"})
    store.put("b", {"y": b"2", "x": b"1"})
    store.put("c", {"x": b"1", "y": b"3"})

    digests = [measure(provider, name=name).values["sha256"] for name in "abc"]

    assert digests[0] == digests[1] != digests[2]


def test_the_store_file_is_private_to_the_user(tmp_path: Path) -> None:
    store = SandboxSecretStore(SandboxLayout(tmp_path))
    store.put("token", {"value": VALUE}, namespace="orders")

    path = tmp_path / "secrets" / "orders" / "token.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert store.value("token", "value", namespace="orders") == VALUE


def test_a_source_this_provider_lacks_is_a_clear_error(
    lab: tuple[TestProvider, SandboxSecretStore],
) -> None:
    provider, _ = lab

    with pytest.raises(
        PermanentError, match="cannot read secrets from source `aws-secrets-manager`"
    ):
        measure(provider, name="orders-db", source="aws-secrets-manager")


def test_path_tricks_in_names_are_refused(lab: tuple[TestProvider, SandboxSecretStore]) -> None:
    provider, _ = lab

    result = measure(provider, name="../../etc/passwd")

    assert not result.ok and "not a valid sandbox secret name" in result.summary
