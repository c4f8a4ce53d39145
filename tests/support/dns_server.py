"""A real authoritative DNS server on loopback whose records a test changes at runtime.

Routing probes must be tested against real DNS traffic (UDP, and TCP when the
same port is free for it), not a mocked resolver: timeouts, NXDOMAIN and
SERVFAIL travel the same code path as in a drill. Built on ``dnslib``; a name
that has no record of any type answers NXDOMAIN, a known name without the asked
type answers NOERROR with no records, and ``servfail`` makes every answer SERVFAIL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer

_POLL = 0.02
"""Seconds between shutdown checks; socketserver's default 0.5 s makes every test slow."""
_RDATA: dict[str, Any] = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "TXT": TXT}


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Answers from a dict a test edits: (name, type) -> values, plus one TTL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], list[str]] = {}
        self.ttl = 60
        self.servfail = False
        self.queries = 0

    def set(self, name: str, record_type: str, *values: str) -> None:
        """Replace the records of ``name``/``record_type`` (none: remove them)."""
        key = (_canonical(name), record_type)
        with self._lock:
            if values:
                self._records[key] = list(values)
            else:
                self._records.pop(key, None)

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = _canonical(str(request.q.qname))
        record_type = QTYPE[request.q.qtype]
        with self._lock:
            self.queries += 1
            if self.servfail:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            if not any(known == name for known, _ in self._records):
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            for value in self._records.get((name, record_type), []):
                rdata = _RDATA[record_type](value)
                reply.add_answer(
                    RR(request.q.qname, getattr(QTYPE, record_type), rdata=rdata, ttl=self.ttl)
                )
        return reply


def _canonical(name: str) -> str:
    return str(DNSLabel(name)).rstrip(".").lower()


class _Quiet(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


@contextmanager
def dns_server() -> Iterator[tuple[ZoneResolver, str]]:
    """Start a server on 127.0.0.1; yields the resolver and ``"127.0.0.1:port"``."""
    zone = ZoneResolver()
    with serve_dns(zone) as nameserver:
        yield zone, nameserver


@contextmanager
def serve_dns(resolver: BaseResolver) -> Iterator[str]:
    """Serve any dnslib resolver on 127.0.0.1 (UDP, and TCP on the same port when free);
    yields ``"127.0.0.1:port"``."""
    udp = DNSServer(resolver, port=0, address="127.0.0.1", logger=_Quiet())
    port = udp.server.server_address[1]
    servers = [udp]
    with suppress(OSError):  # TCP on the same port is a bonus; UDP is what the probe uses
        servers.append(
            DNSServer(resolver, port=port, address="127.0.0.1", tcp=True, logger=_Quiet())
        )
    threads = [
        threading.Thread(target=server.server.serve_forever, args=(_POLL,), daemon=True)
        for server in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for server in servers:
            server.stop()
            server.server.server_close()
        for thread in threads:
            thread.join(timeout=2)
