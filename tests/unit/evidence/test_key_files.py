"""Key files: generation (plain and with a passphrase), loading, and which key a run signs with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from drillkit.evidence.key_choice import (
    SIGNING_KEY_ENV,
    default_key_path,
    resolve_signer,
    target_key_path,
)
from drillkit.evidence.key_files import (
    PASSPHRASE_ENV,
    Ed25519FileSigner,
    KeyExists,
    PassphraseRequired,
    WrongPassphrase,
    describe_key_file,
    generate_key_file,
    public_key_path,
)
from drillkit.evidence.keys import InvalidKey, load_public_key

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data folder, and no signing key or passphrase in the environment."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    return home


class Typist:
    """Answers passphrase prompts from a list, and remembers each question asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, question: str) -> str:
        self.questions.append(question)
        return self.answers.pop(0)


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
    assert caught.value.fix is not None and f"drill keys generate {missing}" in caught.value.fix
    monkeypatch.setenv(SIGNING_KEY_ENV, str(missing))
    with pytest.raises(InvalidKey, match=r"\(\$DRILLKIT_SIGNING_KEY\)"):
        resolve_signer(None)
    assert not missing.exists()


# --- passphrases --------------------------------------------------------------------------


def test_a_key_generated_with_a_passphrase_is_encrypted_pkcs8_and_needs_it(
    tmp_path: Path,
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    pem = key.private_path.read_bytes()
    assert key.encrypted
    assert mode(key.private_path) == 0o600
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert PASSPHRASE.encode() not in pem
    with pytest.raises(TypeError):  # cryptography itself: no passphrase, no key
        serialization.load_pem_private_key(pem, password=None)
    private = serialization.load_pem_private_key(pem, password=PASSPHRASE.encode())
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = load_public_key(key.public_path.read_bytes(), source="t")
    assert public.fingerprint == key.key_id


def test_an_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey, match="an empty passphrase protects nothing"):
        generate_key_file(tmp_path / "team.key", passphrase="")
    assert not (tmp_path / "team.key").exists()


def test_an_encrypted_key_loads_with_the_passphrase_from_the_environment(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    typist = Typist()
    signer = Ed25519FileSigner.load(key.private_path, origin="--signing-key", prompt=typist)
    assert signer.key_id == key.key_id
    assert load_public_key(signer.public_key_pem, source="t").verify(signer.sign(b"x"), b"x")
    assert typist.questions == []  # the environment wins over asking
    assert PASSPHRASE not in repr(signer) and PASSPHRASE not in str(vars(signer))


def test_an_encrypted_key_with_a_wrong_passphrase_in_the_environment_is_a_clear_error(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    with pytest.raises(WrongPassphrase) as caught:
        Ed25519FileSigner.load(key.private_path, origin="--signing-key")
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"the passphrase does not decrypt {key.private_path} (--signing-key)"
    )
    assert caught.value.fix is not None and PASSPHRASE_ENV in caught.value.fix
    assert "not the passphrase" not in caught.value.diagnostics()


def test_an_encrypted_key_without_a_passphrase_or_a_terminal_fails_naming_the_variable(
    tmp_path: Path, data_home: Path
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    with pytest.raises(PassphraseRequired) as caught:
        Ed25519FileSigner.load(key.private_path, origin="--signing-key", prompt=None)
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"{key.private_path} (--signing-key) is encrypted with a passphrase, and "
        f"{PASSPHRASE_ENV} is not set (no terminal to ask at)"
    )
    assert caught.value.fix is not None and caught.value.fix.startswith(f"set {PASSPHRASE_ENV} ")


def test_an_encrypted_key_asks_a_person_again_after_a_typo_then_gives_up(
    tmp_path: Path, data_home: Path
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    typist = Typist("typo", PASSPHRASE)
    signer = Ed25519FileSigner.load(key.private_path, origin="t", prompt=typist)
    assert signer.key_id == key.key_id
    assert typist.questions == [
        f"Passphrase for {key.private_path}",
        f"Wrong passphrase, try again. Passphrase for {key.private_path}",
    ]
    with pytest.raises(WrongPassphrase):
        Ed25519FileSigner.load(key.private_path, origin="t", prompt=Typist("a", "b", "c"))


def test_an_empty_passphrase_variable_counts_as_unset(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    monkeypatch.setenv(PASSPHRASE_ENV, "")
    with pytest.raises(PassphraseRequired):
        Ed25519FileSigner.load(key.private_path, origin="t")
    assert Ed25519FileSigner.load(key.private_path, origin="t", prompt=Typist(PASSPHRASE))


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


# --- which key a run uses ---------------------------------------------------------------------


def test_the_order_is_flag_then_environment_then_target_then_default(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = generate_key_file(tmp_path / "flag.key")
    env = generate_key_file(tmp_path / "env.key")
    target = generate_key_file(tmp_path / "target.key")
    monkeypatch.setenv(SIGNING_KEY_ENV, str(env.private_path))

    def chosen(path: Path | None) -> tuple[str, str]:
        signer = resolve_signer(path, target_key=target.private_path, target="prod-eks")
        return signer.key_id, signer.origin

    assert chosen(flag.private_path) == (flag.key_id, "--signing-key")
    assert chosen(None) == (env.key_id, "$DRILLKIT_SIGNING_KEY")
    monkeypatch.setenv(SIGNING_KEY_ENV, "")
    assert chosen(None) == (target.key_id, "signingKey of target prod-eks")
    assert not data_home.exists()  # no default key was created on the way
    default = resolve_signer(None, target_key=None, target="sandbox")
    assert default.origin == "the default signing key"
    assert default.path == default_key_path()


def test_a_targets_missing_signing_key_is_an_error_not_the_default_key(
    tmp_path: Path, data_home: Path
) -> None:
    missing = tmp_path / "keys" / "prod.key"
    with pytest.raises(InvalidKey) as caught:
        resolve_signer(None, target_key=missing, target="prod-eks")
    assert caught.value.message == f"no signing key at {missing} (signingKey of target prod-eks)"
    assert not data_home.exists()


def test_a_targets_signing_key_is_relative_to_the_repository_root(tmp_path: Path) -> None:
    assert target_key_path("keys/prod.key", tmp_path) == tmp_path / "keys" / "prod.key"
    assert target_key_path("/etc/drill/prod.key", tmp_path) == Path("/etc/drill/prod.key")
    assert target_key_path("~/prod.key", tmp_path) == Path.home() / "prod.key"


def test_an_encrypted_target_key_is_decrypted_with_the_environment_passphrase(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key_file(tmp_path / "prod.key", passphrase=PASSPHRASE)
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    signer = resolve_signer(None, target_key=key.private_path, target="prod-eks")
    assert signer.key_id == key.key_id


# --- describing a key file ----------------------------------------------------------------------


def test_describing_a_plain_key_reads_its_id_from_the_key_and_checks_the_pub_file(
    tmp_path: Path,
) -> None:
    key = generate_key_file(tmp_path / "team.key")
    info = describe_key_file(key.private_path)
    assert (info.kind, info.encrypted, info.public_path, info.key_id, info.mode) == (
        "private",
        False,
        key.public_path,
        key.key_id,
        0o600,
    )
    other = generate_key_file(tmp_path / "other.key")
    key.public_path.write_bytes(other.public_path.read_bytes())
    with pytest.raises(InvalidKey, match=r"team\.key\.pub is not the public key of"):
        describe_key_file(key.private_path)


def test_describing_an_encrypted_key_needs_no_passphrase(tmp_path: Path, data_home: Path) -> None:
    key = generate_key_file(tmp_path / "team.key", passphrase=PASSPHRASE)
    info = describe_key_file(key.private_path)
    assert (info.kind, info.encrypted, info.public_path, info.key_id) == (
        "private",
        True,
        key.public_path,
        key.key_id,
    )
    assert describe_key_file(key.public_path).kind == "public"
    key.public_path.unlink()
    with pytest.raises(InvalidKey, match="is encrypted and has no public key file"):
        describe_key_file(key.private_path)


def test_the_command_line_names_the_same_passphrase_variable() -> None:
    from drillkit import cli_keys

    assert cli_keys.PASSPHRASE_ENV == PASSPHRASE_ENV
