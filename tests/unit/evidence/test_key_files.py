"""Key files: generation, loading, and which key a run signs with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from drillkit.evidence.key_files import (
    SIGNING_KEY_ENV,
    Ed25519FileSigner,
    KeyExists,
    default_key_path,
    generate_key_file,
    public_key_path,
    resolve_signer,
)
from drillkit.evidence.keys import InvalidKey, load_public_key


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data folder, and no signing key named in the environment."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_writes_a_0600_pkcs8_private_key_and_its_public_key_beside_it(
    tmp_path: Path,
) -> None:
    old_umask = os.umask(0)  # a careless umask must not widen the private key's mode
    try:
        key = generate_key_file(tmp_path / "keys" / "drill.key")
    finally:
        os.umask(old_umask)
    assert key.private_path == tmp_path / "keys" / "drill.key"
    assert key.public_path == tmp_path / "keys" / "drill.key.pub"
    assert mode(key.private_path) == 0o600
    assert mode(key.public_path) == 0o644
    private_pem = key.private_path.read_bytes()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted
    private = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = load_public_key(key.public_path.read_bytes(), source="test")
    assert public.algorithm == "ed25519"
    assert public.fingerprint == key.key_id
    assert sorted(p.name for p in key.private_path.parent.iterdir()) == [
        "drill.key",
        "drill.key.pub",
    ]


def test_keygen_refuses_to_overwrite_either_file_without_force(tmp_path: Path) -> None:
    key = generate_key_file(tmp_path / "drill.key")
    before = key.private_path.read_bytes()
    with pytest.raises(KeyExists) as caught:
        generate_key_file(key.private_path)
    assert caught.value.exit_code == 2
    assert caught.value.fix is not None and "--force" in caught.value.fix
    assert key.private_path.read_bytes() == before
    key.private_path.unlink()
    with pytest.raises(KeyExists, match=r"drill\.key\.pub already exists"):
        generate_key_file(key.private_path)


def test_keygen_with_force_replaces_the_key(tmp_path: Path) -> None:
    first = generate_key_file(tmp_path / "drill.key")
    second = generate_key_file(tmp_path / "drill.key", force=True)
    assert second.key_id != first.key_id
    assert mode(second.private_path) == 0o600
    assert load_public_key(second.public_path.read_bytes(), source="t").fingerprint == second.key_id


def test_a_loaded_key_signs_and_never_shows_its_secret(tmp_path: Path) -> None:
    key = generate_key_file(tmp_path / "drill.key")
    signer = Ed25519FileSigner.load(key.private_path, origin="--signing-key")
    assert signer.key_id == key.key_id
    assert signer.public_key_pem == key.public_path.read_bytes()
    assert load_public_key(signer.public_key_pem, source="t").verify(signer.sign(b"x"), b"x")
    private_body = key.private_path.read_bytes().splitlines()[1].decode()
    assert private_body not in repr(signer)
    assert private_body not in str(vars(signer))


def test_an_explicit_path_wins_over_the_environment_and_the_default(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = generate_key_file(tmp_path / "explicit.key")
    from_env = generate_key_file(tmp_path / "env.key")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(from_env.private_path))
    signer = resolve_signer(explicit.private_path)
    assert (signer.key_id, signer.origin, signer.notice) == (explicit.key_id, "--signing-key", None)
    signer = resolve_signer(None)
    assert (signer.key_id, signer.origin) == (from_env.key_id, "$DRILLKIT_SIGNING_KEY")
    assert not data_home.exists()  # no default key was created


def test_without_a_key_the_default_key_is_created_once_and_announced_once(
    data_home: Path,
) -> None:
    expected = data_home / "drillkit" / "signing" / "ed25519.key"
    assert default_key_path() == expected
    first = resolve_signer(None)
    assert first.path == expected
    assert mode(expected) == 0o600
    assert mode(expected.parent) == 0o700
    assert first.created is not None
    assert first.notice == (
        f"created a signing key for this user's evidence: {expected} (keep it private); "
        f"auditors verify with its public key {expected}.pub (key id {first.key_id})"
    )
    second = resolve_signer(None)
    assert second.key_id == first.key_id
    assert second.notice is None


def test_an_empty_environment_variable_means_unset(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, "")
    assert resolve_signer(None).origin == "the default signing key"


def test_an_explicit_key_that_does_not_exist_is_not_replaced_by_a_new_one(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(InvalidKey) as caught:
        resolve_signer(missing)
    assert caught.value.exit_code == 2
    assert caught.value.message == f"no signing key at {missing} (--signing-key)"
    assert caught.value.fix is not None and f"drill keygen {missing}" in caught.value.fix
    monkeypatch.setenv(SIGNING_KEY_ENV, str(missing))
    with pytest.raises(InvalidKey, match=r"\(\$DRILLKIT_SIGNING_KEY\)"):
        resolve_signer(None)
    assert not missing.exists()


def test_an_encrypted_key_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "encrypted.key"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    with pytest.raises(InvalidKey, match="is encrypted with a passphrase"):
        Ed25519FileSigner.load(path, origin="--signing-key")


def test_a_key_of_another_type_or_not_a_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "ec.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    with pytest.raises(InvalidKey, match="is not an Ed25519 private key") as caught:
        Ed25519FileSigner.load(path, origin="--signing-key")
    assert pem.splitlines()[1].decode() not in caught.value.diagnostics()
    path.write_text("hello")
    with pytest.raises(InvalidKey, match="is not a PEM private key"):
        Ed25519FileSigner.load(path, origin="--signing-key")


def test_the_public_key_path_adds_pub_to_the_whole_name() -> None:
    assert public_key_path(Path("keys/ed25519.key")) == Path("keys/ed25519.key.pub")
