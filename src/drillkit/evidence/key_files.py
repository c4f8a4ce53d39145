"""Ed25519 key files: the default signer, reading and writing its PEM files.

Private keys are PKCS#8 PEM files created with mode 0600 and written
completely before they appear under their name (a temporary file, then a
hard link that refuses to overwrite), so two runs creating the default key at
once end up sharing one key. A key may be encrypted with a passphrase (PKCS#8
with the best encryption ``cryptography`` offers): file mode protects a key
on a laptop, a passphrase also protects a copy that leaked. The passphrase
comes from ``$DRILLKIT_SIGNING_KEY_PASSPHRASE`` for unattended runs, else
from a prompt the caller supplies (the CLI does only when a person sits at a
terminal); with neither, loading fails before anything runs. No message, log
record or ``repr`` holds key material or a passphrase.

Which key a run uses is decided in ``key_choice``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from drillkit.errors import UserInputError
from drillkit.evidence.keys import ED25519, InvalidKey, fingerprint, load_public_key

PASSPHRASE_ENV = "DRILLKIT_SIGNING_KEY_PASSPHRASE"
"""Environment variable holding the passphrase of an encrypted key (an empty value is unset)."""
PROMPT_ATTEMPTS = 3
"""How many times a person at a terminal may type a passphrase before loading fails."""

PassphrasePrompt = Callable[[str], str]
"""Asks a person for a passphrase: gets the question, returns what was typed (not echoed)."""

_MAX_KEY_FILE_BYTES = 64 * 1024
logger = logging.getLogger(__name__)


class KeyExists(UserInputError):
    """``drill keys generate`` would overwrite a key file."""


class PassphraseRequired(InvalidKey):
    """An encrypted key, and no passphrase in the environment nor a terminal to ask at."""


class WrongPassphrase(InvalidKey):
    """The passphrase given does not decrypt the key."""


@dataclass(frozen=True)
class GeneratedKey:
    """What key generation wrote: the private and public key files and the key id."""

    private_path: Path
    public_path: Path
    key_id: str
    encrypted: bool = False


@dataclass(frozen=True)
class KeyFileInfo:
    """What ``drill keys show`` prints about a key file; never any key material."""

    path: Path
    kind: str
    """``private`` or ``public``: what ``path`` holds."""
    encrypted: bool
    public_path: Path | None
    """The public key file (``path`` itself for a public key); None when there is none."""
    key_id: str
    algorithm: str
    mode: int
    """The file's permission bits (0o600 for a private key kept private)."""


def public_key_path(private_path: Path) -> Path:
    """The public key file beside a private key file: the same name plus ``.pub``."""
    return private_path.with_name(private_path.name + ".pub")


def passphrase_from_environment() -> str | None:
    """``$DRILLKIT_SIGNING_KEY_PASSPHRASE``, or None when it is unset or empty."""
    return os.environ.get(PASSPHRASE_ENV) or None


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
    def load(
        cls, path: Path, *, origin: str, prompt: PassphrasePrompt | None = None
    ) -> Ed25519FileSigner:
        """Read a private key file; ``InvalidKey`` says what is wrong without quoting it.

        An encrypted key is decrypted with ``$DRILLKIT_SIGNING_KEY_PASSPHRASE``,
        else with what ``prompt`` returns (up to ``PROMPT_ATTEMPTS`` times);
        with neither, ``PassphraseRequired`` names the variable to set.
        """
        path = Path(path)
        data = _read_private_key(path, origin)
        key = _parse_private_key(data, path, origin)
        if key is None:
            key = _decrypt(data, path, origin, prompt)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidKey(
                f"{path} ({origin}) is not an Ed25519 private key",
                fix="key files must be Ed25519; create one with `drill keys generate PATH`",
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


_ENCRYPTED_FIX = (
    f"set {PASSPHRASE_ENV} to the key's passphrase (for unattended runs, from a secret "
    "store), or run from a terminal to be asked for it"
)


def _parse_private_key(data: bytes, path: Path, origin: str) -> PrivateKeyTypes | None:
    """The key in ``data``; None when it is encrypted (``_decrypt`` then asks for it)."""
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        return None
    except ValueError:
        raise InvalidKey(
            f"{path} ({origin}) is not a PEM private key",
            fix="create one with `drill keys generate PATH`",
        ) from None
    except UnsupportedAlgorithm:
        raise _unsupported(path, origin) from None


def _decrypt(
    data: bytes, path: Path, origin: str, prompt: PassphrasePrompt | None
) -> PrivateKeyTypes:
    from_env = passphrase_from_environment()
    if from_env is not None:
        return _decrypt_with(data, from_env, path, origin)
    if prompt is None:
        raise PassphraseRequired(
            f"{path} ({origin}) is encrypted with a passphrase, and {PASSPHRASE_ENV} "
            "is not set (no terminal to ask at)",
            fix=_ENCRYPTED_FIX,
        )
    question = f"Passphrase for {path}"
    for attempt in range(1, PROMPT_ATTEMPTS + 1):
        try:
            return _decrypt_with(data, prompt(question), path, origin)
        except WrongPassphrase:
            if attempt == PROMPT_ATTEMPTS:
                raise
            question = f"Wrong passphrase, try again. Passphrase for {path}"
    raise AssertionError("unreachable")  # pragma: no cover


def _decrypt_with(data: bytes, passphrase: str, path: Path, origin: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except ValueError:  # also a damaged encrypted key; either way this passphrase fails
        raise WrongPassphrase(
            f"the passphrase does not decrypt {path} ({origin})",
            fix=f"check {PASSPHRASE_ENV} or what you typed; a forgotten passphrase cannot "
            "be recovered: create a new key with `drill keys generate PATH --passphrase`",
        ) from None
    except UnsupportedAlgorithm:
        raise _unsupported(path, origin) from None


def _unsupported(path: Path, origin: str) -> InvalidKey:
    return InvalidKey(
        f"{path} ({origin}) is a private key of a kind this machine cannot read",
        fix="key files must be Ed25519; create one with `drill keys generate PATH`",
    )


def generate_key_file(
    path: Path, *, force: bool = False, passphrase: str | None = None
) -> GeneratedKey:
    """Write a new Ed25519 key: ``path`` (PKCS#8 PEM, mode 0600) and ``path.pub``.

    With ``passphrase``, the private key is encrypted with it (PKCS#8, the
    best encryption available). Refuses (``KeyExists``) to overwrite either
    file unless ``force``.
    """
    if passphrase is not None and not passphrase:
        raise InvalidKey(
            "an empty passphrase protects nothing",
            fix="type a passphrase, or leave out --passphrase for a key protected by its "
            "file mode only",
        )
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
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase is not None
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _publish(path, private_pem, 0o600, overwrite=force)
    _publish(public_path, public_pem, 0o644, overwrite=True)
    return GeneratedKey(path, public_path, fingerprint(public), encrypted=passphrase is not None)


def describe_key_file(path: Path) -> KeyFileInfo:
    """What a key file is and its key id, read without a passphrase and without printing it.

    For a private key, the key id comes from the private key itself when it
    is not encrypted (and its ``.pub`` must then match it), else from its
    ``.pub`` file; a public key file describes itself.
    """
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        raise InvalidKey(
            f"{path}: no such key file",
            fix="give the path of a key file, like one `drill keys generate PATH` wrote",
        )
    data, info = _read_key_file(path, "the key to show")
    mode = stat.S_IMODE(info.st_mode)
    if b"PRIVATE KEY" not in data:
        public = load_public_key(data, source=str(path))
        return KeyFileInfo(path, "public", False, path, public.fingerprint, public.algorithm, mode)
    beside = public_key_path(path)
    from_file = _public_beside(beside)
    key = _parse_private_key(data, path, "the key to show")
    if key is None:
        if from_file is None:
            raise InvalidKey(
                f"{path} is encrypted and has no public key file {beside}",
                fix="its key id needs the public key: keep the .pub file `drill keys "
                "generate` wrote beside it",
            )
        return KeyFileInfo(path, "private", True, beside, from_file, ED25519, mode)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidKey(
            f"{path} is not an Ed25519 private key",
            fix="key files must be Ed25519; create one with `drill keys generate PATH`",
        )
    key_id = fingerprint(key.public_key())
    if from_file is not None and from_file != key_id:
        raise InvalidKey(
            f"{beside} is not the public key of {path} (key id {from_file}, not {key_id})",
            fix=f"replace {beside} with the right public key, or verify with another file",
        )
    return KeyFileInfo(path, "private", False, beside if from_file else None, key_id, ED25519, mode)


def _public_beside(path: Path) -> str | None:
    """The fingerprint of the public key file ``path``; None when there is no such file."""
    if not path.exists():
        return None
    from drillkit.evidence.keys import read_public_key_file

    return load_public_key(read_public_key_file(path), source=str(path)).fingerprint


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
    data, info = _read_key_file(path, origin)
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("signing key %s is accessible by other users; run chmod 600 on it", path)
    return data


def _read_key_file(path: Path, origin: str) -> tuple[bytes, os.stat_result]:
    try:
        info = path.stat()
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidKey(
            f"no signing key at {path} ({origin})",
            fix=f"create it with `drill keys generate {path}`, or point {origin} at an "
            "existing key",
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
    return data, info
