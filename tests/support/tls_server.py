"""Real TLS servers on 127.0.0.1 for probe tests: one that handshakes, one that never speaks.

``TlsServer`` serves a given certificate chain with a stdlib ``ssl.SSLContext``
from a background thread, completing the handshake of every connection (and
shrugging off the ones a client aborts because it refused the certificate)
until stopped. ``SilentServer`` listens but never accepts or writes, so a
client connects and then waits for a handshake that does not come.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from types import TracebackType


class TlsServer:
    """Serve ``chain_pem`` (leaf first) with ``key_pem``; use as a context manager."""

    def __init__(self, chain_pem: bytes, key_pem: bytes, folder: Path) -> None:
        chain_file = folder / "server-chain.pem"
        key_file = folder / "server-key.pem"
        chain_file.write_bytes(chain_pem)
        key_file.write_bytes(key_pem)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(chain_file, key_file)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tls-server", daemon=True)

    def __enter__(self) -> TlsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                # A client that refuses the certificate aborts the handshake: expected.
                with (
                    contextlib.suppress(ssl.SSLError, OSError),
                    self._context.wrap_socket(conn, server_side=True),
                ):
                    self.handshakes += 1


class SilentServer:
    """A socket that listens and never speaks: the TCP connect succeeds, TLS never starts."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._listener.close()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
