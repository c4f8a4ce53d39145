"""The sandbox's edge: where clients connect (127.0.0.1:8443), passed through to a replica.

It plays the part of the DNS-following client and the regional load balancer
at once: it asks the sandbox DNS server where the orders name points (caching
the answer for its TTL, as a resolver would), then hands the TCP connection to
the next ready replica of that region, round-robin, trying the others when a
connection is refused. TLS is end to end: clients see the replica's
certificate. With no ready replica in the region, the connection is closed:
users see an outage, which is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable

import dns.message
import dns.query
import dns.rdatatype

from drillkit.sandbox.topology import DNS_NAME, REGION_ADDRESSES

ReadyPorts = Callable[[str], list[int]]
_REGIONS_BY_ADDRESS = {address: region for region, address in REGION_ADDRESSES.items()}


class RegionLookup:
    """The region the DNS name points at, cached for the record's TTL."""

    def __init__(self, dns_port: int) -> None:
        self.dns_port = dns_port
        self._region: str | None = None
        self._expires = 0.0

    def region(self) -> str | None:
        now = time.monotonic()
        if self._region is not None and now < self._expires:
            return self._region
        try:
            query = dns.message.make_query(DNS_NAME, dns.rdatatype.A)
            response = dns.query.udp(query, "127.0.0.1", port=self.dns_port, timeout=0.5)
            rrset = response.answer[0]
            self._region = _REGIONS_BY_ADDRESS.get(rrset[0].to_text())
            self._expires = now + max(0, rrset.ttl)
        except Exception:
            self._expires = now + 0.1  # resolver trouble: keep the last answer briefly
        return self._region


class Edge(threading.Thread):
    def __init__(self, port: int, lookup: RegionLookup, ready_ports: ReadyPorts) -> None:
        super().__init__(name="sandbox-edge", daemon=True)
        self.port = port
        self.lookup = lookup
        self.ready_ports = ready_ports
        self._counter = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self.started = threading.Event()
        self.error: OSError | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
            )
        except OSError as exc:
            self.error = exc
            self.started.set()
            return
        self.started.set()
        self._loop.run_forever()

    def stop(self) -> None:
        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        region = self.lookup.region()  # a cached answer, or one loopback UDP query per TTL
        if region is None:
            return None
        ports = self.ready_ports(region)
        if not ports:
            return None
        start = next(self._counter)
        for offset in range(len(ports)):
            port = ports[(start + offset) % len(ports)]
            try:
                return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
            except (OSError, TimeoutError):
                continue
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
