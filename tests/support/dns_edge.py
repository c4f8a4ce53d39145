"""Where users reach a service by its DNS name: each connection goes where DNS answers now.

A user of ``https://orders.example.com`` resolves the name (Route 53 answers
with the active region's address) and connects there. The drills' probes
connect to a fixed ``${orders_url}``, and a test cannot point the system
resolver of a ``drill run`` process at a loopback DNS server, so ``DnsEdge``
stands in for the user's resolver: it listens on ``${orders_url}``'s address,
asks the given DNS server for the name at every new connection (a real UDP
query, no cache: a real client caches for the record's TTL, which only adds
up to a TTL to the RTO) and passes the TCP connection through to port 8443 of
the address answered. TLS is end to end, so clients see the certificate of
the front that DNS chose (each front's certificate also names the edge's
address). When DNS gives no usable answer or nothing listens there, the
connection is closed: users see an outage.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from tests.support.orders_front import ADDRESSES, PORT

_IDLE_SECONDS = 30.0


class DnsEdge:
    """Binds at construction (its address goes into the fronts' certificates); ``start``
    with the DNS server to ask, once that server exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listener = _bind()
        self.address: str = self._listener.getsockname()[0]
        self._nameserver: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="dns-edge", daemon=True)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"https://{self.address}:{PORT}"

    def start(self, nameserver: str) -> DnsEdge:
        host, _, port = nameserver.rpartition(":")
        self._nameserver = (host, int(port))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            still_open, self._open = set(self._open), set()
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> DnsEdge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def resolve(self) -> str | None:
        """The first address DNS answers for the name now, or None."""
        assert self._nameserver is not None, "start the edge first"
        host, port = self._nameserver
        query = dns.message.make_query(self.name, dns.rdatatype.A)
        try:
            response = dns.query.udp(query, host, port=port, timeout=1.0)
        except (dns.exception.DNSException, OSError):
            return None
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.A:
                for rdata in rrset:
                    return str(rdata.address)
        return None

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        upstream: socket.socket | None = None
        try:
            address = self.resolve()
            if address is None:
                return
            try:
                upstream = socket.create_connection((address, PORT), timeout=1.0)
            except OSError:
                return
            self._track(upstream)
            _relay(client, upstream)
        finally:
            for end in (client, upstream):
                if end is not None:
                    self._untrack(end)
                    with contextlib.suppress(OSError):
                        end.close()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes or both stay idle for long."""
    peers = {one: other, other: one}
    for end in peers:
        end.setblocking(True)
        end.settimeout(None)
    while True:
        readable, _, _ = select.select(list(peers), [], [], _IDLE_SECONDS)
        if not readable:
            return
        for end in readable:
            try:
                data = end.recv(65536)
                if not data:
                    return
                peers[end].sendall(data)
            except OSError:
                return


def _bind() -> socket.socket:
    """Port 8443 on the first free loopback address of ``ADDRESSES``."""
    for address in ADDRESSES:
        try:
            return socket.create_server((address, PORT))
        except OSError:
            continue
    raise OSError(f"port {PORT} is taken on every address of {ADDRESSES[0]}..{ADDRESSES[-1]}")
