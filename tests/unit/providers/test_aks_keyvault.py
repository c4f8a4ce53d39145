"""Key Vault through the real SDK clients and challenge authentication: secret probes that
keep only digests, and evidence signed by a vault key that ``drill verify`` checks offline."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drillkit.errors import PermanentError, UserInputError
from drillkit.evidence.signing import sign_bundle
from drillkit.providers.aks import AksProvider
from drillkit.providers.aks.keyvault_signer import signer_from_uri
from drillkit.providers.base import ProbeResult
from drillkit.spec.probes import SecretProbe, TlsProbe
from drillkit.spec.targets import Target
from tests.support.arm.fixtures import CLEARED, AksWorld, azure_environment
from tests.support.arm.server import ArmServer
from tests.support.arm.world import add_certificate, add_key, add_secret
from tests.support.evidence_bundle import build_run_folder, run_facts
from tests.support.probe_context import ProbeContext
from tests.support.tls_server import TlsServer

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def provider(aks: AksWorld) -> Iterator[AksProvider]:
    opened = aks.provider()
    try:
        yield opened
    finally:
        opened.close()


def probe(provider: AksProvider, name: str, **extra: str):  # type: ignore[no-untyped-def]
    handler = provider.probe_handler("secret")
    assert handler is not None
    intent = SecretProbe.model_validate(
        {"type": "secret", "source": "azure-key-vault", "name": name, **extra}
    )
    return handler.measure(intent, ProbeContext())


# -- secrets ------------------------------------------------------------------------------


def test_a_vault_secret_resolves_to_a_digest_its_version_and_rotation_time(
    provider: AksProvider, aks: AksWorld
) -> None:
    secret = add_secret(aks.world, "orders-db", PASSWORD)

    result = probe(provider, f"{aks.server.url}/secrets/orders-db")

    assert result.ok, result.summary
    assert result.values["sha256"] == hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert result.values["version"] == secret.version
    assert result.values["enabled"] is True
    assert result.values["updatedAt"]
    assert PASSWORD not in repr(result)
    assert aks.server.calls("GET", "/secrets/orders-db")


def test_one_field_of_a_json_secret_is_digested_alone(provider: AksProvider, aks: AksWorld) -> None:
    add_secret(aks.world, "orders-db", '{"username": "orders", "password": "p4ss"}')

    result = probe(provider, f"{aks.server.url}/secrets/orders-db", key="password")

    assert result.ok
    assert result.values["sha256"] == hashlib.sha256(b"p4ss").hexdigest()


@pytest.mark.parametrize(
    ("facts", "said"),
    [
        ({"enabled": False}, "Key Vault secret orders-db is disabled"),
        ({"expires": int(time.time()) - 60}, "Key Vault secret orders-db expired at"),
    ],
)
def test_a_disabled_or_expired_secret_fails_with_that_said(
    provider: AksProvider, aks: AksWorld, facts: dict[str, object], said: str
) -> None:
    add_secret(aks.world, "orders-db", PASSWORD, **facts)

    result = probe(provider, f"{aks.server.url}/secrets/orders-db")

    assert not result.ok
    assert said in result.summary
    assert PASSWORD not in repr(result)


def test_a_missing_secret_is_reported_as_missing(provider: AksProvider, aks: AksWorld) -> None:
    result = probe(provider, f"{aks.server.url}/secrets/nope")

    assert not result.ok
    assert result.values == {"exists": False}
    assert "has no secret nope" in result.summary


def test_a_name_that_is_no_secret_reference_is_refused(provider: AksProvider) -> None:
    result = probe(provider, "just-a-name")

    assert not result.ok
    assert "does not name a Key Vault secret" in result.summary


# -- signing ------------------------------------------------------------------------------


def key_uri(server: ArmServer, name: str = "evidence") -> str:
    return f"azurekms://127.0.0.1:{server.port}/{name}"


def test_the_vault_signs_es256_and_the_signature_is_der_for_its_public_key(
    arm_environment: ArmServer,
) -> None:
    arm_environment.reset()
    key = add_key(arm_environment.world, "evidence")
    signer = signer_from_uri(key_uri(arm_environment), origin="--signing-key")

    signature = signer.sign(b"DSSEv1 pae bytes")

    public = serialization.load_pem_public_key(signer.public_key_pem)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"DSSEv1 pae bytes", ec.ECDSA(hashes.SHA256()))
    assert public.public_numbers() == key.private_key.public_key().public_numbers()
    assert signer.key_id == f"{arm_environment.url}/keys/evidence/{key.version}"
    assert signer.algorithm == "ecdsa-sha2-nistp256"
    assert arm_environment.calls("POST", f"/keys/evidence/{key.version}/sign")


def test_a_bundle_signed_in_the_vault_verifies_offline_with_the_exported_key(
    arm_environment: ArmServer, tmp_path: Path
) -> None:
    arm_environment.reset()
    add_key(arm_environment.world, "evidence")
    run_dir = build_run_folder(tmp_path / "reports")
    signer = signer_from_uri(key_uri(arm_environment), origin="--signing-key")
    sign_bundle(run_dir, signer, run_facts(run_dir))

    online = {k: v for k, v in azure_environment(arm_environment).items() if "DRILLKIT" not in k}
    exported = drill(
        "keys",
        "export-public",
        key_uri(arm_environment),
        "-o",
        "vault.pem",
        cwd=tmp_path,
        env=online,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr

    offline = {
        k: v
        for k, v in os.environ.items()
        if k not in CLEARED and "IDENTITY" not in k and "DRILLKIT" not in k
    }
    verified = drill("verify", str(run_dir), "--key", "vault.pem", cwd=tmp_path, env=offline)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_key_that_is_not_p256_is_refused_with_how_to_make_one(
    arm_environment: ArmServer,
) -> None:
    arm_environment.reset()
    key = add_key(arm_environment.world, "evidence")
    key.private_key = ec.generate_private_key(ec.SECP384R1())
    signer = signer_from_uri(key_uri(arm_environment), origin="--signing-key")

    with pytest.raises(PermanentError) as caught:
        signer.sign(b"data")

    assert "which is not an EC P-256 key (curve P-384)" in caught.value.message
    assert caught.value.fix is not None and "--curve P-256" in caught.value.fix


def test_a_key_uri_without_a_key_name_is_refused() -> None:
    with pytest.raises(UserInputError) as caught:
        signer_from_uri("azurekms://ops.vault.azure.net", origin="--signing-key")

    assert (
        caught.value.fix == "write `azurekms://VAULT.vault.azure.net/KEY` (optionally `/VERSION`)"
    )


def drill(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- tls: Key Vault's view of the certificate served -------------------------------------

NAME = "orders.aks.test"


@pytest.fixture
def vault_provider(aks: AksWorld) -> Iterator[AksProvider]:
    target = aks.target()
    target["azure"]["keyVaults"] = [aks.server.url]
    opened = AksProvider("staging-aks", Target.model_validate(target))
    opened.open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[trustme.CA, trustme.LeafCert, int, Path]]:
    ca = trustme.CA()
    leaf = ca.issue_cert(NAME)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    with TlsServer(chain, leaf.private_key_pem.bytes(), tmp_path) as server:
        yield ca, leaf, server.port, bundle


def tls(provider: AksProvider, port: int, bundle: Path) -> ProbeResult:
    handler = provider.probe_handler("tls")
    assert handler is not None
    intent = TlsProbe.model_validate(
        {
            "type": "tls",
            "host": "127.0.0.1",
            "port": port,
            "serverName": NAME,
            "caBundle": str(bundle),
        }
    )
    result: ProbeResult = handler.measure(intent, ProbeContext())
    return result


def test_the_served_certificate_is_found_in_the_vault_with_its_version_and_expiry(
    vault_provider: AksProvider, aks: AksWorld, served: Any
) -> None:
    _, leaf, port, bundle = served
    stored = add_certificate(aks.world, "orders-tls", leaf.cert_chain_pems[0].bytes())

    result = tls(vault_provider, port, bundle)

    assert result.ok, result.summary
    view = result.values["keyVault"]
    assert (view["vault"], view["name"], view["version"]) == (
        aks.server.url,
        "orders-tls",
        stored.version,
    )
    assert view["served"] is True and view["enabled"] is True and view["expired"] is False
    assert view["daysLeft"] > 300
    listed = aks.server.calls("GET", "/certificates").count("/certificates")
    tls(vault_provider, port, bundle)
    # Where the certificate lives is remembered: the next probe reads it, not the list.
    assert aks.server.calls("GET", "/certificates").count("/certificates") == listed


def test_a_served_certificate_the_vault_disabled_fails_the_probe(
    vault_provider: AksProvider, aks: AksWorld, served: Any
) -> None:
    _, leaf, port, bundle = served
    add_certificate(aks.world, "orders-tls", leaf.cert_chain_pems[0].bytes(), enabled=False)

    result = tls(vault_provider, port, bundle)

    assert not result.ok
    assert result.summary == (
        f"the certificate for {NAME} is disabled in Key Vault "
        f"({aks.server.url}, certificate orders-tls)"
    )


def test_a_renewal_in_the_vault_that_was_never_deployed_is_shown(
    vault_provider: AksProvider, aks: AksWorld, served: Any
) -> None:
    ca, _, port, bundle = served
    renewed = ca.issue_cert(NAME)
    add_certificate(aks.world, "orders-tls", renewed.cert_chain_pems[0].bytes())

    result = tls(vault_provider, port, bundle)

    assert result.ok
    assert result.values["keyVault"]["name"] == "orders-tls"
    assert result.values["keyVault"]["served"] is False


def test_without_key_vaults_the_tls_probe_is_the_generic_one(
    provider: AksProvider, served: Any
) -> None:
    _, _, port, bundle = served

    result = tls(provider, port, bundle)

    assert result.ok and "keyVault" not in result.values
