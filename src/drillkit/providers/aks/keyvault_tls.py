"""The ``tls`` probe on AKS: the generic handshake check, plus Key Vault's view of that certificate.

Certificates served by an AKS ingress are usually kept in Key Vault (the
Key Vault CSI driver or the app routing add-on syncs them). After the
generic probe has checked the certificate really served (chain, name, days
left), this handler looks through the target's ``keyVaults`` for it: the
certificate whose current version has the served SHA-256 fingerprint, or,
failing that, one issued for the probed name. It records the vault, name,
version, enabled flag, expiry and days left, and whether the vault's
current version is the one served (``served: false`` is a renewal that
never reached the ingress). A served certificate the vault marks disabled
or expired fails the probe even while a handshake still succeeds; a vault
that cannot be read is recorded, not a failure of the certificate users see.
Where each fingerprint lives is remembered for the provider's life, so a
probe sampled every second lists the vaults once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from drillkit.errors import DrillError
from drillkit.providers.aks import AksProvider
from drillkit.providers.aks.azure_errors import call_azure
from drillkit.providers.base import JsonDict, ProbeResult, StepContext
from drillkit.spec.probes import TlsProbe

if TYPE_CHECKING:
    from collections.abc import Iterator


@AksProvider.probe("tls")
class KeyVaultTlsProbe:
    def __init__(self, provider: AksProvider) -> None:
        from drillkit.probes.tls import TlsProbeHandler

        self.provider = provider
        self.generic = TlsProbeHandler(provider)
        self._where = provider.certificate_places

    def measure(self, intent: TlsProbe, ctx: StepContext) -> ProbeResult:
        result = self.generic.measure(intent, ctx)
        fingerprint = result.values.get("sha256")
        if not fingerprint or not self.provider.azure_settings.key_vaults:
            return result
        name = intent.server_name or intent.host
        try:
            view = self._view(name, str(fingerprint))
        except DrillError as exc:
            return _with(result, {"error": exc.message})
        values = {**result.values, "keyVault": view}
        if view.get("served") and result.ok and (not view["enabled"] or view["expired"]):
            state = "disabled" if not view["enabled"] else "expired"
            return ProbeResult(
                False,
                f"the certificate for {name} is {state} in Key Vault "
                f"({view['vault']}, certificate {view['name']})",
                values,
                result.latency_ms,
            )
        return ProbeResult(result.ok, result.summary, values, result.latency_ms)

    def _view(self, name: str, fingerprint: str) -> JsonDict:
        if fingerprint not in self._where:
            self._where[fingerprint] = self._find(name, fingerprint)
        where = self._where[fingerprint]
        if where is None:
            return {"found": False, "vaults": list(self.provider.azure_settings.key_vaults)}
        vault, certificate_name = where
        certificate = self._client(vault, lambda client: _get(client, certificate_name))
        der = bytes(certificate.cer or b"")
        props = certificate.properties
        expires = props.expires_on
        now = datetime.now(UTC)
        return {
            "found": True,
            "vault": vault,
            "name": certificate_name,
            "version": props.version,
            "enabled": bool(props.enabled),
            "notAfter": expires.isoformat().replace("+00:00", "Z") if expires else None,
            "daysLeft": round((expires - now).total_seconds() / 86400, 2) if expires else None,
            "expired": expires is not None and expires <= now,
            "served": hashlib.sha256(der).hexdigest() == fingerprint,
        }

    def _find(self, name: str, fingerprint: str) -> tuple[str, str] | None:
        """The vault and certificate serving ``fingerprint``, else one issued for ``name``."""
        candidate: tuple[str, str] | None = None
        for vault in self.provider.azure_settings.key_vaults:
            for certificate_name, der in self._client(vault, _current):
                if hashlib.sha256(der).hexdigest() == fingerprint:
                    return vault.rstrip("/"), certificate_name
                if candidate is None and _names(der, name):
                    candidate = (vault.rstrip("/"), certificate_name)
        return candidate

    def _client(self, vault: str, use: Any) -> Any:
        from azure.keyvault.certificates import CertificateClient

        client = CertificateClient(vault, self.provider.azure.credential)
        try:
            return call_azure(f"read the certificates of Key Vault {vault}", lambda: use(client))
        finally:
            client.close()


def _current(client: Any) -> list[tuple[str, bytes]]:
    """(name, DER of the current version) of every certificate in the vault."""
    found = []
    for props in client.list_properties_of_certificates():
        certificate = client.get_certificate(props.name)
        found.append((str(props.name), bytes(certificate.cer or b"")))
    return found


def _get(client: Any, name: str) -> Any:
    return client.get_certificate(name)


def _names(der: bytes, name: str) -> bool:
    """True when the certificate is issued for ``name`` (a SAN, wildcards one label deep)."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return any(_matches(pattern, name) for pattern in _dns_names(sans))


def _dns_names(sans: Any) -> Iterator[str]:
    from cryptography import x509

    yield from (str(n) for n in sans.get_values_for_type(x509.DNSName))


def _matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*."):
        return "." in name and name.split(".", 1)[1] == pattern[2:]
    return pattern == name


def _with(result: ProbeResult, view: JsonDict) -> ProbeResult:
    return ProbeResult(
        result.ok, result.summary, {**result.values, "keyVault": view}, result.latency_ms
    )
