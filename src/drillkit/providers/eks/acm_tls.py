"""The ``tls`` probe on EKS: the generic handshake check, plus what ACM says of that certificate.

The certificate a load balancer presents is usually an ACM certificate. After
the generic probe has checked the certificate really served (chain, name,
days left), this handler finds it in ACM in the target's region by its
SHA-256 fingerprint, among the certificates issued for the probed name, and
adds ACM's view: ARN, status, NotAfter, type, renewal eligibility and the
load balancers using it. A certificate ACM marks ``REVOKED`` or ``EXPIRED``
fails the probe even while a handshake still succeeds. A served certificate
ACM does not hold (one from elsewhere) is recorded as such, not a failure.
Fingerprints found are remembered for the provider's life: a probe sampled
every second asks ACM once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from drillkit.providers.base import JsonDict, ProbeResult, StepContext
from drillkit.providers.eks import EksProvider
from drillkit.spec.probes import TlsProbe

FAILING = ("REVOKED", "EXPIRED")


@EksProvider.probe("tls")
class AcmTlsProbe:
    def __init__(self, provider: EksProvider) -> None:
        from drillkit.probes.tls import TlsProbeHandler

        self.provider = provider
        self.generic = TlsProbeHandler(provider)
        self._arns: dict[str, str | None] = {}

    def measure(self, intent: TlsProbe, ctx: StepContext) -> ProbeResult:
        result = self.generic.measure(intent, ctx)
        fingerprint = result.values.get("sha256")
        if not fingerprint:
            return result  # no certificate was served: nothing to look up
        name = intent.server_name or intent.host
        acm = self._describe(name, str(fingerprint))
        values = {**result.values, "acm": acm}
        if acm is not None and acm["status"] in FAILING and result.ok:
            return ProbeResult(
                False,
                f"the certificate for {name} is {acm['status']} in ACM ({acm['arn']})",
                values,
                result.latency_ms,
            )
        return ProbeResult(result.ok, result.summary, values, result.latency_ms)

    def _describe(self, name: str, fingerprint: str) -> JsonDict | None:
        acm = self.provider.client("acm")
        if fingerprint not in self._arns:
            self._arns[fingerprint] = self._find(acm, name, fingerprint)
        arn = self._arns[fingerprint]
        if arn is None:
            return None
        answer = self.provider.call(
            f"describe ACM certificate {arn}", lambda: acm.describe_certificate(CertificateArn=arn)
        )
        certificate = answer["Certificate"]
        return {
            "arn": arn,
            "status": certificate.get("Status"),
            "notAfter": _iso(certificate.get("NotAfter")),
            "type": certificate.get("Type"),
            "renewalEligibility": certificate.get("RenewalEligibility"),
            "inUseBy": sorted(certificate.get("InUseBy") or []),
        }

    def _find(self, acm: Any, name: str, fingerprint: str) -> str | None:
        """The ARN of the ACM certificate for ``name`` whose DER has ``fingerprint``."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        listed = self.provider.call(
            "list ACM certificates",
            lambda: acm.list_certificates(Includes={"keyTypes": _KEY_TYPES}),
        )
        for summary in listed.get("CertificateSummaryList") or []:
            names = {
                summary.get("DomainName"),
                *(summary.get("SubjectAlternativeNameSummaries") or []),
            }
            if not any(_covers(n, name) for n in names if n):
                continue
            arn = summary["CertificateArn"]
            body = self.provider.call(
                f"read ACM certificate {arn}",
                lambda arn=arn: acm.get_certificate(CertificateArn=arn),
                tolerate=("RequestInProgressException", "ResourceNotFoundException"),
            )
            if body is None or not body.get("Certificate"):
                continue
            der = x509.load_pem_x509_certificate(body["Certificate"].encode()).public_bytes(
                serialization.Encoding.DER
            )
            if hashlib.sha256(der).hexdigest() == fingerprint:
                return str(arn)
        return None


_KEY_TYPES = ["RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def _covers(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    return pattern.startswith("*.") and name.split(".", 1)[-1] == pattern[2:]


def _iso(moment: Any) -> str | None:
    if isinstance(moment, datetime):
        return moment.isoformat().replace("+00:00", "Z")
    return None if moment is None else str(moment)
