"""The ``tls`` probe against real TLS servers on 127.0.0.1 with real certificates.

Valid certificates come from trustme; the broken ones (expired, not yet valid,
short-lived, self-signed, for the wrong names) are built with ``cryptography``
and signed by a CA built the same way, so every date is exactly known.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from drillkit.probes.registry import probe_for
from drillkit.probes.tls import TlsProbeHandler
from drillkit.providers.base import ProbeResult
from drillkit.spec.probes import TlsProbe
from tests.support.probe_context import ProbeContext as Ctx
from tests.support.tls_server import SilentServer, TlsServer, closed_port

NAME = "orders.test"
# Whole seconds, so the dates in messages are exact.
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Issued:
    chain_pem: bytes
    key_pem: bytes
    cert: x509.Certificate


class Authority:
    """A CA built with cryptography, able to issue leaves with any dates and names."""

    def __init__(self, common_name: str = "Drill Test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self.cert = (
            _builder(self.name, self.name, self.key.public_key(), NOW - timedelta(days=365))
            .not_valid_after(NOW + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def write_bundle(self, path: Path) -> str:
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return str(path)

    def issue(
        self,
        *sans: str,
        not_before: datetime = NOW - timedelta(days=1),
        not_after: datetime = NOW + timedelta(days=90),
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])])
        cert = (
            _builder(subject, self.name, key.public_key(), not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
            .sign(self.key, hashes.SHA256())
        )
        return Issued(_pem(cert), _key_pem(key), cert)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, not_before: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def self_signed(
    name: str,
    *,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=90),
    rsa_key: bool = False,
) -> Issued:
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(subject, subject, key.public_key(), not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_pem(cert), _key_pem(key), cert)


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority()


def probe(port: int, **fields: Any) -> TlsProbe:
    document = {"type": "tls", "host": "127.0.0.1", "port": port, "serverName": NAME} | fields
    return TlsProbe.model_validate(document)


def measure(intent: TlsProbe) -> ProbeResult:
    return TlsProbeHandler(provider=None).measure(intent, Ctx())


def serve(issued: Issued, tmp_path: Path) -> TlsServer:
    return TlsServer(issued.chain_pem, issued.key_pem, tmp_path)


def test_the_registry_finds_the_tls_handler() -> None:
    assert isinstance(probe_for("tls", None), TlsProbeHandler)


def test_a_valid_certificate_passes_and_reports_days_left_issuer_key_type_and_sans(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert(NAME, "api.orders.test")
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    ctx = Ctx()

    with TlsServer(chain, leaf.private_key_pem.bytes(), tmp_path) as server:
        result = TlsProbeHandler(None).measure(probe(server.port, caBundle=str(bundle)), ctx)

    assert result.ok, result.summary
    values = result.values
    assert values["sans"] == [NAME, "api.orders.test"]
    assert values["keyType"] == "EC"
    assert values["keySize"] == 256
    assert values["selfSigned"] is False
    assert values["issuer"] == cert.issuer.rfc4514_string()
    assert values["subject"] == cert.subject.rfc4514_string()
    assert values["serial"] == format(cert.serial_number, "x")
    assert values["sha256"] == cert.fingerprint(hashes.SHA256()).hex()
    assert values["notAfter"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert isinstance(values["daysLeft"], float)
    assert values["daysLeft"] > 365
    assert result.latency_ms is not None
    assert result.latency_ms > 0
    assert f"certificate for {NAME} is valid until {values['notAfter']}" in result.summary
    assert (
        "tls-handshake",
        {"host": "127.0.0.1", "address": "127.0.0.1", "port": server.port, "serverName": NAME},
    ) in ctx.notes


def test_address_connects_elsewhere_while_sni_and_the_name_check_use_the_host(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("orders.unresolvable.test")
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)

    with TlsServer(chain, leaf.private_key_pem.bytes(), tmp_path) as server:
        routed = probe(server.port, caBundle=str(bundle), address="127.0.0.1")
        routed = routed.model_copy(update={"host": "orders.unresolvable.test", "server_name": None})
        unrouted = routed.model_copy(update={"address": None})
        result = measure(routed)
        failed = measure(unrouted)

    assert result.ok, result.summary
    assert "certificate for orders.unresolvable.test is valid" in result.summary
    assert not failed.ok


def test_an_expired_certificate_fails_naming_the_date_it_expired(
    authority: Authority, tmp_path: Path
) -> None:
    expired_at = NOW - timedelta(days=3, hours=1)
    leaf = authority.issue(NAME, not_before=NOW - timedelta(days=90), not_after=expired_at)
    bundle = authority.write_bundle(tmp_path / "ca.pem")

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, caBundle=bundle))

    assert not result.ok
    stamp = expired_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.summary == f"certificate for {NAME} expired {stamp} (3 days ago)"
    assert result.values["notAfter"] == stamp
    assert result.values["daysLeft"] <= -3


def test_a_certificate_that_is_not_yet_valid_fails(authority: Authority, tmp_path: Path) -> None:
    starts = NOW + timedelta(days=12, hours=1)
    leaf = authority.issue(NAME, not_before=starts, not_after=NOW + timedelta(days=100))
    bundle = authority.write_bundle(tmp_path / "ca.pem")

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, caBundle=bundle))

    assert not result.ok
    stamp = starts.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.summary == f"certificate for {NAME} is not valid until {stamp} (in 12 days)"


def test_a_certificate_for_other_names_fails_naming_the_names_it_is_valid_for(
    authority: Authority, tmp_path: Path
) -> None:
    leaf = authority.issue("a.test", "b.test")
    bundle = authority.write_bundle(tmp_path / "ca.pem")

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, caBundle=bundle))

    assert not result.ok
    assert result.summary == f"certificate is valid for a.test, b.test, not {NAME}"
    assert result.values["sans"] == ["a.test", "b.test"]


def test_a_wildcard_certificate_covers_one_label_below_it(
    authority: Authority, tmp_path: Path
) -> None:
    leaf = authority.issue("*.orders.test")
    bundle = authority.write_bundle(tmp_path / "ca.pem")

    with serve(leaf, tmp_path) as server:
        below = measure(probe(server.port, caBundle=bundle, serverName="api.orders.test"))
        two_below = measure(probe(server.port, caBundle=bundle, serverName="a.b.orders.test"))

    assert below.ok, below.summary
    assert not two_below.ok
    assert two_below.summary == "certificate is valid for *.orders.test, not a.b.orders.test"


def test_a_certificate_from_a_ca_the_client_does_not_trust_fails(
    authority: Authority, tmp_path: Path
) -> None:
    leaf = authority.issue(NAME)
    other = Authority("Somebody Else CA").write_bundle(tmp_path / "other-ca.pem")

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, caBundle=other))

    assert not result.ok
    assert result.summary.startswith(f"certificate chain for {NAME} is not trusted by CA bundle")
    assert "unable to get local issuer certificate" in result.summary
    assert "issuer CN=Drill Test CA" in result.summary


def test_a_self_signed_certificate_fails_unless_allowed(tmp_path: Path) -> None:
    leaf = self_signed(NAME, rsa_key=True)

    with serve(leaf, tmp_path) as server:
        refused = measure(probe(server.port))
        allowed = measure(probe(server.port, allowSelfSigned=True))

    assert not refused.ok
    assert refused.summary == (
        f"certificate for {NAME} is self-signed (CN={NAME}); "
        "set allowSelfSigned: true if that is intended"
    )
    assert allowed.ok, allowed.summary
    assert allowed.summary.startswith(f"self-signed certificate for {NAME} is valid until")
    assert allowed.values["selfSigned"] is True
    assert allowed.values["keyType"] == "RSA"
    assert allowed.values["keySize"] == 2048


def test_an_allowed_self_signed_certificate_still_fails_when_expired(tmp_path: Path) -> None:
    leaf = self_signed(
        NAME, not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=2, hours=1)
    )

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, allowSelfSigned=True))

    assert not result.ok
    assert "expired" in result.summary
    assert "(2 days ago)" in result.summary


def test_a_certificate_with_fewer_days_left_than_the_minimum_fails(
    authority: Authority, tmp_path: Path
) -> None:
    leaf = authority.issue(NAME, not_after=NOW + timedelta(days=5, hours=1))
    bundle = authority.write_bundle(tmp_path / "ca.pem")

    with serve(leaf, tmp_path) as server:
        short = measure(probe(server.port, caBundle=bundle, minDaysLeft=14))
        enough = measure(probe(server.port, caBundle=bundle, minDaysLeft=5))

    assert not short.ok
    assert "in 5.0 days, below the minimum of 14 days" in short.summary
    assert short.values["daysLeft"] == 5.0
    assert enough.ok, enough.summary


def test_a_relative_ca_bundle_is_read_from_the_current_directory(
    authority: Authority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf = authority.issue(NAME)
    (tmp_path / "certs").mkdir()
    authority.write_bundle(tmp_path / "certs" / "ca.pem")
    monkeypatch.chdir(tmp_path)

    with serve(leaf, tmp_path) as server:
        result = measure(probe(server.port, caBundle="certs/ca.pem"))

    assert result.ok, result.summary


def test_a_missing_ca_bundle_fails_without_connecting(tmp_path: Path) -> None:
    result = measure(probe(closed_port(), caBundle=str(tmp_path / "nope.pem")))

    assert not result.ok
    assert result.summary.startswith("cannot load CA bundle")
    assert "no such file or directory" in result.summary


def test_a_closed_port_fails_fast_with_connection_refused() -> None:
    port = closed_port()
    started = time.monotonic()

    result = measure(probe(port))

    assert time.monotonic() - started < 1
    assert not result.ok
    assert result.summary == f"cannot connect to 127.0.0.1:{port}: connection refused"


def test_a_server_that_accepts_but_never_handshakes_fails_at_the_timeout() -> None:
    with SilentServer() as server:
        started = time.monotonic()
        result = measure(probe(server.port, timeout="300ms"))
        elapsed = time.monotonic() - started

    assert 0.25 < elapsed < 2
    assert not result.ok
    assert result.summary == (
        f"no TLS handshake from 127.0.0.1:{server.port} within 0.3s (connected, but timed out)"
    )
