"""The sandbox's DNS server on loopback: the orders name points at the active region.

Failover is a record change, as with Route 53 or Traffic Manager: the answer
follows ``activeRegion`` in ``desired.json`` (re-read when the file changes)
with a short TTL. Built on dnspython's wire format; UDP only, which is all a
probe or the edge needs.
"""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from drillkit.sandbox.desired_state import read_desired
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.topology import DNS_NAME, REGION_ADDRESSES


class SandboxDnsServer(threading.Thread):
    def __init__(self, layout: SandboxLayout, port: int, ttl: int) -> None:
        super().__init__(name="sandbox-dns", daemon=True)
        self.layout = layout
        self.ttl = ttl
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", port))
        self.socket.settimeout(0.2)
        self.stopping = threading.Event()
        self.queries = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                wire, client = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                answer = self.answer(wire)
            except Exception:  # a malformed query gets no answer, like any resolver
                continue
            self.queries += 1
            try:
                self.socket.sendto(answer, client)
            except OSError:
                continue

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if name != DNS_NAME:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return bytes(response.to_wire())
        region = read_desired(self.layout).active_region
        if question.rdtype == dns.rdatatype.A:
            response.answer.append(
                dns.rrset.from_text(question.name, self.ttl, "IN", "A", REGION_ADDRESSES[region])
            )
        elif question.rdtype == dns.rdatatype.TXT:
            response.answer.append(
                dns.rrset.from_text(question.name, self.ttl, "IN", "TXT", f'"region={region}"')
            )
        return bytes(response.to_wire())

    def stop(self) -> None:
        self.stopping.set()
        self.socket.close()
