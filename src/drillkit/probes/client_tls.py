"""TLS verification settings for HTTP clients that probes keep and reuse.

Probes reuse one HTTP client per TLS setting, so the setting is reduced to a
hashable key (verify on or off, absolute CA bundle path) and turned into what
httpx takes. A relative ``caBundle`` is read from the working directory.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from drillkit.spec.probes import TlsClientSettings

ClientKey = tuple[bool, str | None]


class UnreadableCaBundle(Exception):
    """The CA bundle file cannot be read as PEM certificates; ``args[0]`` is its path."""


def client_key(settings: TlsClientSettings) -> ClientKey:
    bundle = settings.ca_bundle
    if not settings.verify or bundle is None:
        return (settings.verify, None)
    return (True, str(Path(bundle).expanduser().resolve()))


def httpx_verify(key: ClientKey) -> ssl.SSLContext | bool:
    """What ``httpx.Client(verify=...)`` takes for ``key``; raises UnreadableCaBundle."""
    verify, bundle = key
    if not verify:
        return False
    if bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ValueError) as exc:
        raise UnreadableCaBundle(bundle) from exc
