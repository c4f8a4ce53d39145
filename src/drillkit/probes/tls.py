"""The generic ``tls`` probe: is the certificate a server presents one a client will accept?

A failover often lands traffic on an endpoint whose certificate nobody looked
at since it was built: expired, issued for the old name, or signed by a CA the
clients do not trust. This probe performs a real handshake with the stdlib
``ssl`` module (SNI = ``serverName`` or ``host``), verifying the chain against
the system trust store or ``caBundle`` and the name against the certificate's
subject alternative names only (no common-name fallback, as browsers do). A
relative ``caBundle`` path is resolved against the current working directory,
which is the repository root when ``drill`` runs from there. When verification
fails, a second, non-verifying handshake fetches the leaf so the summary can say
*why* (expired on a date, valid for other names, self-signed, untrusted issuer).
A self-signed leaf fails unless ``allowSelfSigned``; then its signature, name and
dates are checked here with ``cryptography`` instead. Network and TLS outcomes
never raise: they are a ``ProbeResult`` with ``ok=False``. The drill-level
``minCertificateDays`` objective is applied by the engine; only ``minDaysLeft``
is checked here.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from drillkit.probes.registry import generic_probe
from drillkit.providers.base import JsonDict, ProbeResult, StepContext
from drillkit.spec.probes import TlsProbe

logger = logging.getLogger(__name__)


_HOSTNAME_MISMATCH = 62
"""OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH."""


class _NoHandshake(Exception):
    """Connecting or handshaking failed for a reason other than certificate verification."""


@dataclass(frozen=True)
class _Leaf:
    """The parsed leaf certificate and the facts the checks need."""

    cert: x509.Certificate
    sans: list[str]
    self_signed: bool

    @property
    def not_before(self) -> datetime:
        return self.cert.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc


@generic_probe("tls")
class TlsProbeHandler:
    """Measures one ``tls`` probe; holds no state between measurements."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def measure(self, intent: TlsProbe, ctx: StepContext) -> ProbeResult:
        name = intent.server_name or intent.host
        where = f"{intent.host}:{intent.port}"
        connect_to = intent.address or intent.host
        timeout = intent.timeout.total_seconds()
        remaining = ctx.remaining()
        if 0 < remaining < timeout:
            timeout = remaining
        ctx.note(
            "tls-handshake", host=intent.host, address=connect_to, port=intent.port, serverName=name
        )

        try:
            verifying = _verifying_context(intent.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            return ProbeResult(False, f"cannot load CA bundle {intent.ca_bundle!r}: {_reason(exc)}")

        started = time.monotonic()
        verify_error: ssl.SSLCertVerificationError | None = None
        try:
            der = _handshake(connect_to, intent.port, name, timeout, verifying)
        except ssl.SSLCertVerificationError as exc:
            verify_error = exc
        except _NoHandshake as exc:
            return ProbeResult(False, str(exc), latency_ms=_elapsed_ms(started))
        latency_ms = _elapsed_ms(started)

        if verify_error is not None:
            try:
                der = _handshake(connect_to, intent.port, name, timeout, _unverified_context())
            except (_NoHandshake, ssl.SSLError) as exc:
                why = verify_error.verify_message or _reason(verify_error)
                return ProbeResult(
                    False,
                    f"certificate for {name} failed verification ({why}); "
                    f"fetching it again to inspect failed: {exc}",
                    latency_ms=latency_ms,
                )

        leaf = _parse(der)
        now = datetime.now(UTC)
        values = _values(leaf, der, now)
        problem = _problem(intent, leaf, name, now, verify_error)
        if problem is not None:
            logger.info("tls probe of %s failed: %s", where, problem)
            return ProbeResult(False, problem, values, latency_ms)
        kind = "self-signed certificate" if leaf.self_signed else "certificate"
        summary = (
            f"{kind} for {name} is valid until {_rfc3339(leaf.not_after)} "
            f"({values['daysLeft']} days left), issued by {values['issuer']}"
        )
        return ProbeResult(True, summary, values, latency_ms)


def _verifying_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verify chain and name; trust ``ca_bundle`` (relative to the cwd) or the system store."""
    if ca_bundle is None:
        context = ssl.create_default_context()
    else:
        context = ssl.create_default_context(cafile=os.path.abspath(ca_bundle))
    context.hostname_checks_common_name = False
    return context


def _unverified_context() -> ssl.SSLContext:
    """Accept any certificate: used only to fetch the leaf and explain a failure."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _handshake(host: str, port: int, name: str, timeout: float, context: ssl.SSLContext) -> bytes:
    """Connect and handshake; the leaf in DER form.

    Raises ``ssl.SSLCertVerificationError`` when the certificate is refused and
    ``_NoHandshake`` (with a message for people) for every other failure.
    """
    where = f"{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise _NoHandshake(f"cannot resolve {host}: {_reason(exc)}") from exc
    except TimeoutError as exc:
        raise _NoHandshake(f"cannot connect to {where}: timed out after {timeout:g}s") from exc
    except ConnectionRefusedError as exc:
        raise _NoHandshake(f"cannot connect to {where}: connection refused") from exc
    except OSError as exc:
        raise _NoHandshake(f"cannot connect to {where}: {_reason(exc)}") from exc
    with raw:
        raw.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            with context.wrap_socket(raw, server_hostname=name) as tls:
                der = tls.getpeercert(binary_form=True)
        except ssl.SSLCertVerificationError:
            raise
        except TimeoutError as exc:
            raise _NoHandshake(
                f"no TLS handshake from {where} within {timeout:g}s (connected, but timed out)"
            ) from exc
        except (ssl.SSLError, OSError) as exc:
            raise _NoHandshake(f"TLS handshake with {where} failed: {_reason(exc)}") from exc
    if der is None:
        raise _NoHandshake(f"TLS handshake with {where} completed without a certificate")
    return der


def _parse(der: bytes) -> _Leaf:
    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans: list[str] = []
    else:
        sans = [str(v) for v in ext.get_values_for_type(x509.DNSName)]
        sans += [str(v) for v in ext.get_values_for_type(x509.IPAddress)]
    return _Leaf(cert, sans, _is_self_signed(cert))


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Issuer is the subject and the certificate's own key verifies its signature."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # InvalidSignature, ValueError, TypeError (unsupported key)
        return False
    return True


def _problem(
    intent: TlsProbe,
    leaf: _Leaf,
    name: str,
    now: datetime,
    verify_error: ssl.SSLCertVerificationError | None,
) -> str | None:
    """Why the certificate fails, in the order a person would fix it; None when it passes."""
    if now > leaf.not_after:
        return (
            f"certificate for {name} expired {_rfc3339(leaf.not_after)} "
            f"({_span(now - leaf.not_after)} ago)"
        )
    if now < leaf.not_before:
        return (
            f"certificate for {name} is not valid until {_rfc3339(leaf.not_before)} "
            f"(in {_span(leaf.not_before - now)})"
        )
    if not _matches(name, leaf.sans) or _code(verify_error) == _HOSTNAME_MISMATCH:
        if not leaf.sans:
            return (
                f"certificate has no subject alternative names, so it is not valid for {name} "
                f"(subject {leaf.cert.subject.rfc4514_string()})"
            )
        return f"certificate is valid for {', '.join(leaf.sans)}, not {name}"
    if leaf.self_signed and not intent.allow_self_signed:
        return (
            f"certificate for {name} is self-signed ({leaf.cert.subject.rfc4514_string()}); "
            "set allowSelfSigned: true if that is intended"
        )
    if verify_error is not None and not leaf.self_signed:
        trust = f"CA bundle {intent.ca_bundle}" if intent.ca_bundle else "the system trust store"
        why = verify_error.verify_message or _reason(verify_error)
        return (
            f"certificate chain for {name} is not trusted by {trust}: {why} "
            f"(issuer {leaf.cert.issuer.rfc4514_string()})"
        )
    days_left = (leaf.not_after - now) / timedelta(days=1)
    if intent.min_days_left is not None and days_left < intent.min_days_left:
        return (
            f"certificate for {name} expires {_rfc3339(leaf.not_after)}, in {days_left:.1f} days, "
            f"below the minimum of {intent.min_days_left} days"
        )
    return None


def _code(error: ssl.SSLCertVerificationError | None) -> int | None:
    return None if error is None else error.verify_code


def _matches(name: str, sans: list[str]) -> bool:
    """RFC 6125 matching: exact, or a wildcard as the whole left-most label."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return any(san == str(address) for san in sans)
    wanted = name.rstrip(".").lower()
    for san in sans:
        pattern = san.rstrip(".").lower()
        if pattern == wanted:
            return True
        # OpenSSL wants two labels after the wildcard: `*.test` matches nothing.
        if pattern.startswith("*.") and "." in pattern[2:] and "." in wanted:
            head, tail = wanted.split(".", 1)
            if head and tail == pattern[2:]:
                return True
    return False


def _values(leaf: _Leaf, der: bytes, now: datetime) -> JsonDict:
    cert = leaf.cert
    key_type, key_size = _key(cert)
    return {
        "notBefore": _rfc3339(leaf.not_before),
        "notAfter": _rfc3339(leaf.not_after),
        "daysLeft": round((leaf.not_after - now) / timedelta(days=1), 1),
        "issuer": cert.issuer.rfc4514_string(),
        "subject": cert.subject.rfc4514_string(),
        "sans": list(leaf.sans),
        "keyType": key_type,
        "keySize": key_size,
        "selfSigned": leaf.self_signed,
        "serial": format(cert.serial_number, "x"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: timedelta) -> str:
    """A rough human duration: ``3 days``, ``1 day``, ``5 hours``, ``2 minutes``."""
    seconds = delta.total_seconds()
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def _reason(exc: BaseException) -> str:
    """The readable part of an OS or TLS error."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
