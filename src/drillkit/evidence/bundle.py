"""The files of an evidence bundle: which ones count, their names, their sha256.

A bundle is a run folder, and the attestation covers every file in it but
itself. What "every file" means must be the same when signing and when
verifying years later, on another machine, so the rules are strict and
simple: regular files only, found by walking the folder without following
links; a symbolic link (to a file or a folder), a FIFO or a device anywhere in
the folder is refused, since what it points at is not part of the bundle and
could change after signing. Names are relative POSIX paths (``samples/rto.jsonl``)
whatever the platform, and a name from a statement is only ever opened after
checking it cannot leave the folder (no ``..``, no absolute path, no link on
the way). Files are hashed in 1 MiB chunks, so a large sample file costs no
memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from drillkit.errors import DrillError

ATTESTATION = "attestation.intoto.json"
"""The DSSE envelope: the one file of a bundle its subjects do not list."""
SIGNER_PUBLIC_KEY = "signer.pub.pem"
"""The signer's public key, stored in the bundle and covered by the subjects."""
JOURNAL = "journal.jsonl"
"""The run's hash-chained journal; its head hash is in the predicate."""
DEFINITION = "drill.yaml"
"""The exact drill definition; its first line is ``# <drill> <version> sha256:<hex>``."""

_CHUNK = 1024 * 1024
_HEADER_LIMIT = 4096
_DIGEST_TOKEN = re.compile(r"sha256:[0-9a-f]{64}")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class BundleError(DrillError):
    """A bundle file cannot be listed, named or hashed safely."""

    def __init__(self, name: str, problem: str, *, fix: str | None = None) -> None:
        super().__init__(f"{name}: {problem}", fix=fix)
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its relative POSIX name and the hex sha256 of its bytes."""

    name: str
    sha256: str


def list_files(run_dir: Path) -> list[str]:
    """Every file of the bundle but the attestation, as sorted relative POSIX names.

    Raises ``BundleError`` for a symbolic link or anything but a regular file
    or folder, naming the first one found.
    """
    names: list[str] = []
    _walk(Path(run_dir), (), names)
    names.sort()
    return names


def hash_files(run_dir: Path, names: list[str]) -> list[BundleFile]:
    """The sha256 of each named file, in the order given."""
    return [BundleFile(name, sha256_member(run_dir, name)) for name in names]


def check_name(name: str) -> None:
    """Refuse a name that is not a plain relative POSIX path inside the bundle."""
    path = PurePosixPath(name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BundleError(repr(name), "the name is not UTF-8 text") from None
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or path.is_absolute()
        or str(path) != name
        or any(part in ("", ".", "..") for part in path.parts)
    ):
        raise BundleError(
            repr(name), "not a relative path inside the bundle (no .., no leading /, no \\)"
        )


def sha256_member(run_dir: Path, name: str) -> str:
    """The hex sha256 of the bundle file ``name``, streamed in 1 MiB chunks.

    Raises ``BundleError`` when the name could leave the folder, when a link
    lies on its path, or when it is not a readable regular file.
    """
    check_name(name)
    root = Path(run_dir)
    current = root
    parts = PurePosixPath(name).parts
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            raise BundleError(name, "no such file") from None
        except OSError as exc:
            raise BundleError(name, f"cannot read: {exc.strerror or exc}") from None
        if stat.S_ISLNK(info.st_mode):
            where = "" if index == len(parts) - 1 else f" ({'/'.join(parts[: index + 1])})"
            raise BundleError(name, f"is a symbolic link{where}; a bundle holds only regular files")
        last = index == len(parts) - 1
        if not last and not stat.S_ISDIR(info.st_mode):
            raise BundleError(name, "no such file")
        if last and not stat.S_ISREG(info.st_mode):
            raise BundleError(name, "is not a regular file")
    return _sha256(current, name)


def _sha256(path: Path, name: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError as exc:
        raise BundleError(name, f"cannot read: {exc.strerror or exc}") from None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since lstat
            raise BundleError(name, "is not a regular file")
        try:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        except OSError as exc:
            raise BundleError(name, f"cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def _walk(folder: Path, prefix: tuple[str, ...], names: list[str]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        where = "/".join(prefix) or "."
        raise BundleError(where, f"cannot list the folder: {exc.strerror or exc}") from None
    for entry in entries:
        parts = (*prefix, entry.name)
        name = "/".join(parts)
        if not prefix and entry.name == ATTESTATION:
            continue
        if entry.is_symlink():
            raise BundleError(name, "is a symbolic link; a bundle holds only regular files")
        if entry.is_dir(follow_symlinks=False):
            _walk(Path(entry.path), parts, names)
        elif entry.is_file(follow_symlinks=False):
            names.append(name)
        else:
            raise BundleError(name, "is not a regular file or folder")


def definition_digest(run_dir: Path) -> str:
    """The drill digest on the first line of ``drill.yaml`` (``# <drill> <version> <digest>``).

    Raises ``BundleError`` when the file is missing or its first line is not
    such a header; the message quotes what the line holds instead.
    """
    path = Path(run_dir) / DEFINITION
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_LIMIT)
    except FileNotFoundError:
        raise BundleError(DEFINITION, "no such file") from None
    except OSError as exc:
        raise BundleError(DEFINITION, f"cannot read: {exc.strerror or exc}") from None
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    words = line.split()
    if len(words) == 4 and words[0] == "#" and _DIGEST_TOKEN.fullmatch(words[3]):
        return words[3]
    shown = line if len(line) <= 80 else line[:77] + "..."
    raise BundleError(
        DEFINITION,
        f"the first line is not `# <drill> <version> sha256:<digest>`, found {shown!r}",
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file gets mode 0644: everything in a bundle is meant to be read.
    """
    path = Path(path)
    temporary: str | None = None
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise BundleError(
            str(path),
            f"cannot write: {exc.strerror or exc}",
            fix="make the run folder writable, then sign again",
        ) from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable across a power loss (best effort where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
