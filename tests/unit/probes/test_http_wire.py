"""The lean HTTP/1.1 client behind the sampler group, against a server that answers raw bytes.

Each case scripts what the server writes back (and when it hangs up), so the
client meets the shapes real servers send: chunked bodies split across
packets, gzip, a body read to the close, HTTP/1.0, an interim 100, a kept-alive
socket the server closed between samples, and answers that stop short or are
not HTTP at all. The probe-level agreement with the threaded path is in
test_http_async.py; this is the client's own contract.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import pytest

from drillkit.probes.http_wire import ServerBrokeExchange, WirePool, WireResponse

Script = Callable[[socket.socket, int], None]
"""What the server does on one connection, given how many requests it served before."""


class RawServer:
    """Accepts connections; for each request runs ``script`` on the socket."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/ready?x=1"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        served = 0
        with connection:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = connection.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer.split(b"\r\n\r\n", 1)[1]
                try:
                    self.script(connection, served)
                except OSError:
                    return
                served += 1


def pool() -> WirePool:
    return WirePool(ssl.create_default_context, user_agent="drillkit/test")


def fetch(url: str, times: int = 1, timeout: float = 2.0) -> list[WireResponse]:
    async def run() -> list[WireResponse]:
        client = pool()
        try:
            return [await client.request("GET", url, {}, None, timeout) for _ in range(times)]
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.fixture
def answer() -> Iterator[Callable[[bytes], RawServer]]:
    servers: list[RawServer] = []

    def serve(raw: bytes) -> RawServer:
        server = RawServer(lambda conn, _: conn.sendall(raw))
        servers.append(server.__enter__())
        return server

    yield serve
    for server in servers:
        server.__exit__()


def test_a_sized_answer_is_read_and_the_connection_kept(
    answer: Callable[[bytes], RawServer],
) -> None:
    server = answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nready"
    )
    responses = fetch(server.url, times=3)
    assert [(r.status, r.reason, r.body) for r in responses] == [(200, "OK", b"ready")] * 3
    assert server.connections == 1


def test_a_chunked_answer_split_across_packets_is_joined() -> None:
    def script(conn: socket.socket, _: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nre")
        conn.sendall(b"ad\r\n1;ext=1\r\ny\r\n0\r\n\r\n")

    with RawServer(script) as server:
        responses = fetch(server.url, times=2)
    assert [r.body for r in responses] == [b"ready", b"ready"]
    assert server.connections == 1


def test_a_gzip_body_is_decoded(answer: Callable[[bytes], RawServer]) -> None:
    packed = gzip.compress(b'{"status": "ready"}')
    server = answer(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(packed)).encode()
        + b"\r\n\r\n"
        + packed
    )
    assert fetch(server.url)[0].body == b'{"status": "ready"}'


def test_a_body_without_length_is_read_to_the_close_and_the_socket_not_reused() -> None:
    def script(conn: socket.socket, _: int) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=latin-1\r\n\r\nready")
        conn.shutdown(socket.SHUT_RDWR)

    with RawServer(script) as server:
        responses = fetch(server.url, times=2)
    assert [r.body for r in responses] == [b"ready", b"ready"]
    assert responses[0].charset == "latin-1"
    assert server.connections == 2


def test_an_interim_100_is_skipped(answer: Callable[[bytes], RawServer]) -> None:
    server = answer(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-Region: primary\r\n\r\n"
    )
    (response,) = fetch(server.url)
    assert (response.status, response.header_values("x-region")) == (204, ["primary"])


def test_a_kept_alive_socket_the_server_closed_is_replaced_without_a_failure() -> None:
    def script(conn: socket.socket, served: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.shutdown(socket.SHUT_RDWR)  # keep-alive promised, then closed (an idle timeout)

    with RawServer(script) as server:

        async def run() -> list[WireResponse]:
            client = pool()
            first = await client.request("GET", server.url, {}, None, 2.0)
            await asyncio.sleep(0.1)  # the close reaches the client while the socket is idle
            second = await client.request("GET", server.url, {}, None, 2.0)
            await client.close()
            return [first, second]

        responses = asyncio.run(run())
    assert [r.body for r in responses] == [b"ok", b"ok"]
    assert server.connections == 2


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nrea", "closed the connection before"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP/1.x answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "Content-Length"),
    ],
)
def test_an_answer_that_stops_short_or_is_not_http_is_a_broken_exchange(
    raw: bytes, words: str
) -> None:
    def script(conn: socket.socket, _: int) -> None:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_RDWR)

    with RawServer(script) as server, pytest.raises(ServerBrokeExchange, match=words):
        fetch(server.url)


def test_no_answer_in_time_is_a_timeout() -> None:
    with RawServer(lambda conn, _: None) as server, pytest.raises(TimeoutError):
        fetch(server.url, timeout=0.2)


def test_a_refused_connection_is_the_os_error_the_probe_explains() -> None:
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    with pytest.raises(ConnectionRefusedError):
        fetch(f"http://127.0.0.1:{port}/")


def test_the_request_names_host_agent_and_length() -> None:
    seen: list[bytes] = []

    class Recording(RawServer):
        def _one(self, connection: socket.socket) -> None:
            with connection:
                data = b""
                while b"\r\n\r\n" not in data or not data.endswith(b"{}"):
                    data += connection.recv(65536)
                seen.append(data)
                connection.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")

    with Recording(lambda conn, _: None) as server:

        async def run() -> WireResponse:
            client = pool()
            try:
                return await client.request("POST", server.url, {"X-Drill": "yes"}, b"{}", 2.0)
            finally:
                await client.close()

        assert asyncio.run(run()).status == 201
    head, body = seen[0].split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /ready?x=1 HTTP/1.1"
    assert {"User-Agent: drillkit/test", "X-Drill: yes", "Content-Length: 2"} <= set(lines)
    assert any(line.startswith("Host: 127.0.0.1:") for line in lines)
    assert body == b"{}"
