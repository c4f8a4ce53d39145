"""Ed25519 key files: the default signer, key generation and which key a run uses.

Every run is signed, so a person who never thought about keys must still get
a signature: the first run creates a per-user key under the user data folder
(``drillkit/signing/ed25519.key``, its public key beside it as ``.pub``) and
says once where the public key is. Teams that care where the key lives pass
one explicitly (``--signing-key`` or ``DRILLKIT_SIGNING_KEY``); an explicit key
that is missing is an error, never silently replaced by a new one, since a
signature by an unknown key proves nothing to the auditor expecting another.

Private keys are PKCS#8 PEM files created with mode 0600 and written
completely before they appear under their name (a temporary file, then a
hard link that refuses to overwrite), so two runs creating the default key at
once end up sharing one key. No message, log record or ``repr`` holds key
material.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from drillkit.errors import UserInputError
from drillkit.evidence.keys import ED25519, InvalidKey, fingerprint

SIGNING_KEY_ENV = "DRILLKIT_SIGNING_KEY"
"""Environment variable naming the private key file a run signs with."""
DEFAULT_KEY_NAME = Path("signing") / "ed25519.key"
"""Where the per-user default key lives, under the user data folder of drillkit."""

_MAX_KEY_FILE_BYTES = 64 * 1024
logger = logging.getLogger(__name__)


class KeyExists(UserInputError):
    """``drill keygen`` would overwrite a key file."""


@dataclass(frozen=True)
class GeneratedKey:
    """What key generation wrote: the private and public key files and the key id."""

    private_path: Path
    public_path: Path
    key_id: str


def public_key_path(private_path: Path) -> Path:
    """The public key file beside a private key file: the same name plus ``.pub``."""
    return private_path.with_name(private_path.name + ".pub")


def default_key_path() -> Path:
    """The per-user default key: ``<user data dir>/drillkit/signing/ed25519.key``."""
    import platformdirs

    return platformdirs.user_data_path("drillkit", appauthor=False) / DEFAULT_KEY_NAME


class Ed25519FileSigner:
    """Signs with an Ed25519 private key read from a PKCS#8 PEM file.

    ``origin`` says how the key was chosen (for messages), and ``created``
    holds what was generated when this very call created the key.
    """

    def __init__(
        self,
        private_key: ed25519.Ed25519PrivateKey,
        *,
        path: Path,
        origin: str,
        created: GeneratedKey | None = None,
    ) -> None:
        self._private_key = private_key
        public = private_key.public_key()
        self._key_id = fingerprint(public)
        self._public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.path = path
        self.origin = origin
        self.created = created

    @classmethod
    def load(cls, path: Path, *, origin: str) -> Ed25519FileSigner:
        """Read a private key file; ``InvalidKey`` says what is wrong without quoting it."""
        path = Path(path)
        data = _read_private_key(path, origin)
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise InvalidKey(
                f"{path} ({origin}) is encrypted with a passphrase",
                fix="use an unencrypted PKCS#8 key protected by file mode 0600, "
                "for example one from `drill keygen PATH`",
            ) from None
        except ValueError:
            raise InvalidKey(
                f"{path} ({origin}) is not a PEM private key",
                fix="create one with `drill keygen PATH`",
            ) from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidKey(
                f"{path} ({origin}) is not an Ed25519 private key",
                fix="key files must be Ed25519; create one with `drill keygen PATH`",
            )
        return cls(key, path=path, origin=origin)

    @property
    def key_id(self) -> str:
        """The key's fingerprint, ``sha256:`` + hex sha256 of its DER public key."""
        return self._key_id

    @property
    def algorithm(self) -> str:
        return ED25519

    @property
    def public_key_pem(self) -> bytes:
        return self._public_pem

    @property
    def notice(self) -> str | None:
        """What to tell the user once, when this call created the key; else None."""
        if self.created is None:
            return None
        return (
            f"created a signing key for this user's evidence: {self.created.private_path} "
            f"(keep it private); auditors verify with its public key "
            f"{self.created.public_path} (key id {self.created.key_id})"
        )

    def sign(self, data: bytes) -> bytes:
        return self._private_key.sign(data)

    def __repr__(self) -> str:
        return f"Ed25519FileSigner({str(self.path)!r}, key_id={self._key_id!r})"


def resolve_signer(path: Path | None) -> Ed25519FileSigner:
    """The signer a run uses: ``path``, else ``$DRILLKIT_SIGNING_KEY``, else the default key.

    The default key is created on first use; the returned signer's
    ``notice`` then says where its public key is, for the caller to print.
    An explicit key that does not exist is an error (exit 2).
    """
    if path is not None:
        return Ed25519FileSigner.load(path, origin="--signing-key")
    from_env = os.environ.get(SIGNING_KEY_ENV, "")
    if from_env:
        return Ed25519FileSigner.load(Path(from_env), origin=f"${SIGNING_KEY_ENV}")
    default = default_key_path()
    origin = "the default signing key"
    if default.exists() or default.is_symlink():
        return Ed25519FileSigner.load(default, origin=origin)
    try:
        created = generate_key_file(default)
    except KeyExists:  # another run created it a moment ago: use that one
        return Ed25519FileSigner.load(default, origin=origin)
    signer = Ed25519FileSigner.load(default, origin=origin)
    signer.created = created
    logger.info("created the default signing key %s (key id %s)", default, created.key_id)
    return signer


def generate_key_file(path: Path, *, force: bool = False) -> GeneratedKey:
    """Write a new Ed25519 key: ``path`` (PKCS#8 PEM, mode 0600) and ``path.pub``.

    Refuses (``KeyExists``) to overwrite either file unless ``force``.
    """
    path = Path(path)
    public_path = public_key_path(path)
    if not force:
        for existing in (path, public_path):
            if existing.exists() or existing.is_symlink():
                raise KeyExists(
                    f"{existing} already exists; refusing to overwrite a key",
                    fix="choose another path, or pass --force to replace it "
                    "(evidence signed with the old key then needs the old public key)",
                )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InvalidKey(
            f"cannot create the folder {path.parent}: {exc.strerror or exc}",
            fix="choose a path in a folder you can write to",
        ) from None
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _publish(path, private_pem, 0o600, overwrite=force)
    _publish(public_path, public_pem, 0o644, overwrite=True)
    return GeneratedKey(path, public_path, fingerprint(public))


def _publish(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write ``data`` to a temporary file, then give it its name in one step."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidKey(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # exact, whatever the umask
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_without_overwrite(Path(temporary), path)
    except FileExistsError:
        raise KeyExists(
            f"{path} already exists; refusing to overwrite a key",
            fix="choose another path, or pass --force to replace it",
        ) from None
    except OSError as exc:
        raise InvalidKey(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link_without_overwrite(temporary: Path, path: Path) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if path.exists() or path.is_symlink():
            raise FileExistsError(str(path)) from None
        os.replace(temporary, path)


def _read_private_key(path: Path, origin: str) -> bytes:
    try:
        info = path.stat()
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidKey(
            f"no signing key at {path} ({origin})",
            fix=f"create it with `drill keygen {path}`, or point {origin} at an existing key",
        ) from None
    except IsADirectoryError:
        raise InvalidKey(
            f"{path} ({origin}) is a folder, not a key file", fix="give the key file's path"
        ) from None
    except OSError as exc:
        raise InvalidKey(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise InvalidKey(
            f"{path} ({origin}) is larger than any PEM private key",
            fix="give the path of an Ed25519 PKCS#8 key file",
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("signing key %s is accessible by other users; run chmod 600 on it", path)
    return data
