"""A throwaway PostgreSQL cluster for tests: real server, real password, gone afterwards.

The RPO canary's database channel is tested against the real thing, not a
stand-in: ``initdb`` makes a fresh cluster in a temporary folder, the server
listens on 127.0.0.1 on a free port (its unix socket stays inside that
folder), and every connection must give a generated password, so tests can
check that the password never reaches an error message or a journal.

The binaries come from Debian's ``postgresql`` package (the newest of
``/usr/lib/postgresql/*/bin``), which ``scripts/test`` installs. ``initdb``
refuses to run as root, so under uid 0 the server runs as the ``postgres``
system user (``runuser``) and owns the folder. The cluster trades durability
for speed (``fsync=off``): tests never crash the server, they only need it
to start in about a second.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

INSTALL_HINT = "run `bash scripts/test` once: it installs the Debian `postgresql` package"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_SERVER_USER = "postgres"
_COMMAND_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed or would not start; the message says what to do."""


@dataclass
class PostgresServer:
    root: Path
    bin_dir: Path
    port: int
    password: str
    user: str = "drillkit"
    run_as: str | None = None
    """The system user the server runs as (``postgres`` when the tests run as root)."""

    @classmethod
    def start(cls) -> PostgresServer:
        """Create and start a fresh cluster; raises ``PostgresUnavailable`` with the fix."""
        bin_dir = find_bin_dir()
        run_as = _SERVER_USER if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="drillkit-pg-"))
        # Letters, digits and URL-special characters: redaction must catch the encoded form too.
        password = f"{secrets.token_hex(10)}/@:%"
        server = cls(root, bin_dir, _free_port(), password, run_as=run_as)
        try:
            server._init_cluster()
            server._run(
                "pg_ctl",
                "--pgdata",
                str(server.data),
                "--log",
                str(server.log),
                "--wait",
                "--timeout",
                "30",
                "--options",
                " ".join(server._settings()),
                "start",
            )
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(
        self,
        database: str = "postgres",
        *,
        user: str | None = None,
        password: str | None = None,
        driver: str = "postgresql",
        port: int | None = None,
    ) -> str:
        """A SQLAlchemy URL, password percent-encoded; ``password=""`` leaves it out."""
        who = quote(user or self.user, safe="")
        secret = quote(self.password if password is None else password, safe="")
        login = f"{who}:{secret}" if secret else who
        return f"{driver}://{login}@127.0.0.1:{port or self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast, else immediate) and remove its folder; safe to repeat."""
        if (self.data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                try:
                    self._run(
                        "pg_ctl", "--pgdata", str(self.data), "--mode", mode, "--wait", "stop"
                    )
                    break
                except PostgresUnavailable:
                    continue
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- Internals --------------------------------------------------------------------------

    def _init_cluster(self) -> None:
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        self.socket_dir.mkdir()
        if self.run_as is not None:
            _chown_tree(self.root, self.run_as)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            self.user,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        password_file.unlink()

    def _settings(self) -> list[str]:
        return [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c fsync=off",
            "-c full_page_writes=off",
            "-c shared_buffers=16MB",
            "-c max_connections=50",
        ]

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        try:
            subprocess.run(
                command,
                cwd=self.root,
                env=environment,
                capture_output=True,
                text=True,
                timeout=_COMMAND_SECONDS,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"`{program} {args[-1]}` failed with exit code {exc.returncode}:\n"
                f"{exc.stderr.strip()}\n{log}".strip()
            ) from None
        except subprocess.TimeoutExpired:
            raise PostgresUnavailable(
                f"`{program} {args[-1]}` did not finish in {_COMMAND_SECONDS}s"
            ) from None


def find_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb, pg_ctl and postgres."""
    candidates = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        version = re.fullmatch(r"\d+(\.\d+)?", folder.parent.name)
        if version and all((folder / name).exists() for name in _BINARIES):
            candidates.append((tuple(int(p) for p in folder.parent.name.split(".")), folder))
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found under "
            f"/usr/lib/postgresql/*/bin; the database canary tests need them: {INSTALL_HINT}"
        )
    return max(candidates)[1]


def _chown_tree(root: Path, user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PostgresUnavailable(
            f"the `{user}` system user does not exist (the tests run as root, and initdb "
            f"refuses root): {INSTALL_HINT}"
        ) from None
    os.chown(root, entry.pw_uid, entry.pw_gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(Path(folder) / name, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
