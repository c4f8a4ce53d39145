"""The tls probe on eks: a real handshake with a real server, then ACM's view of that certificate.

The served certificate is imported into moto's ACM, as a certificate a load
balancer serves is held there; the probe finds it by fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme

from drillkit.providers.eks import EksProvider
from drillkit.spec.probes import TlsProbe
from drillkit.spec.targets import Target
from tests.support.aws_seed import client, eks_target
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext
from tests.support.tls_server import TlsServer

NAME = "orders.example.com"


@pytest.fixture
def ca(tmp_path: Path) -> trustme.CA:
    return trustme.CA()


def serve_and_probe(ca: trustme.CA, tmp_path: Path, *, imported: bool) -> tuple[Any, str | None]:
    issued = ca.issue_cert(NAME)
    chain = b"".join(blob.bytes() for blob in issued.cert_chain_pems)
    arn = None
    if imported:
        arn = client("acm").import_certificate(
            Certificate=issued.cert_chain_pems[0].bytes(),
            PrivateKey=issued.private_key_pem.bytes(),
            CertificateChain=ca.cert_pem.bytes(),
        )["CertificateArn"]
    # Another certificate for the same name that is not the one served: it must not match.
    other = ca.issue_cert(NAME)
    client("acm").import_certificate(
        Certificate=other.cert_chain_pems[0].bytes(), PrivateKey=other.private_key_pem.bytes()
    )
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    provider = EksProvider("staging-eks", Target.model_validate(eks_target({"context": "x"})))
    handler = provider.probe_handler("tls")
    assert handler is not None
    with TlsServer(chain, issued.private_key_pem.bytes(), tmp_path) as server:
        intent = TlsProbe.model_validate(
            {
                "type": "tls",
                "host": NAME,
                "address": "127.0.0.1",
                "port": server.port,
                "caBundle": str(tmp_path / "ca.pem"),
            }
        )
        return handler.measure(intent, ProbeContext()), arn


def test_the_served_certificate_is_found_in_acm_with_its_status_and_not_after(
    aws: MotoServer, ca: trustme.CA, tmp_path: Path
) -> None:
    result, arn = serve_and_probe(ca, tmp_path, imported=True)

    assert result.ok, result.summary
    acm = result.values["acm"]
    assert acm["arn"] == arn
    assert acm["status"] == "ISSUED" and acm["type"] == "IMPORTED"
    assert acm["notAfter"][:10] == result.values["notAfter"][:10]


def test_a_certificate_acm_does_not_hold_is_recorded_as_such_and_still_passes(
    aws: MotoServer, ca: trustme.CA, tmp_path: Path
) -> None:
    result, _ = serve_and_probe(ca, tmp_path, imported=False)

    assert result.ok, result.summary
    assert result.values["acm"] is None
