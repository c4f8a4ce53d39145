"""``drill keys generate|show``: the Ed25519 key files that sign evidence.

Thin like the rest of the CLI: parse, call ``drillkit.evidence.key_files``,
print. A passphrase is typed twice without echo, or read from
``$DRILLKIT_SIGNING_KEY_PASSPHRASE`` for scripts; it is never printed, and
neither is a private key. Imports happen inside the commands so ``drill
--help`` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

PASSPHRASE_ENV = "DRILLKIT_SIGNING_KEY_PASSPHRASE"
"""``key_files.PASSPHRASE_ENV``, named again so ``drill --help`` imports no cryptography."""


@click.group()
def keys() -> None:
    """Create and inspect the Ed25519 key files that sign evidence.

    \b
    A run signs with, in this order: --signing-key, $DRILLKIT_SIGNING_KEY, the
    target's signingKey in targets.yaml, else a per-user key made on first use.
    An encrypted key's passphrase comes from $DRILLKIT_SIGNING_KEY_PASSPHRASE,
    else from a prompt when a terminal is attached.
    """


@keys.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH and PATH.pub if they exist.")
@click.option(
    "--passphrase",
    is_flag=True,
    help="Encrypt the private key with a passphrase: typed twice, or taken from "
    f"${PASSPHRASE_ENV} when set.",
)
def generate(path: Path, force: bool, passphrase: bool) -> None:
    """Create an Ed25519 signing key: PATH (private, mode 0600) and PATH.pub (public).

    Runs sign their evidence with it given `--signing-key PATH`,
    DRILLKIT_SIGNING_KEY=PATH or a target's signingKey. Give PATH.pub to
    whoever verifies the evidence; the private key never leaves this machine.
    """
    write_key(path, force=force, passphrase=passphrase)


def write_key(path: Path, *, force: bool, passphrase: bool) -> None:
    """``drill keys generate`` (and the older ``drill keygen``): write the key, say where."""
    from drillkit.evidence.key_files import generate_key_file

    secret = _new_passphrase() if passphrase else None
    key = generate_key_file(path, force=force, passphrase=secret)
    protection = "mode 0600, encrypted with a passphrase" if key.encrypted else "mode 0600"
    click.echo(f"wrote private key {key.private_path} ({protection}; keep it private)")
    click.echo(f"wrote public key  {key.public_path}")
    click.echo(f"key id {key.key_id}")
    click.echo(f"verify evidence with: drill verify DIR --key {key.public_path}")


def _new_passphrase() -> str:
    from drillkit.errors import UserInputError

    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise UserInputError(
            f"--passphrase needs a terminal to type the passphrase at, or {PASSPHRASE_ENV}",
            fix=f"run it in a terminal, or set {PASSPHRASE_ENV} (for example from a secret "
            "store) for scripts",
        )
    typed: str = click.prompt(
        "Passphrase for the new key",
        hide_input=True,
        confirmation_prompt="Repeat the passphrase",
        err=True,
    )
    return typed


@keys.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def show(path: Path) -> None:
    """Show a key file's key id and public key file; never the private key.

    PATH is a private key (its PATH.pub is shown beside it) or a public key.
    The key id is the fingerprint evidence names its signer by: sha256 of the
    DER public key, as `openssl pkey -pubin -in PATH.pub -outform DER | sha256sum`
    computes it. An encrypted key is not decrypted: its id comes from PATH.pub.
    """
    from drillkit.evidence.key_files import describe_key_file

    info = describe_key_file(path)
    if info.kind == "public":
        what = f"{info.algorithm} public key"
    else:
        sealed = "encrypted with a passphrase" if info.encrypted else "not encrypted"
        what = f"{info.algorithm} private key, {sealed}, mode {info.mode:04o}"
    click.echo(f"key         {info.path} ({what})")
    click.echo(f"key id      {info.key_id}")
    if info.public_path is None:
        click.echo(
            f"public key  none: {info.path}.pub does not exist; verifiers need it "
            "(`drill keys generate` writes it)"
        )
        return
    click.echo(f"public key  {info.public_path}")
    click.echo(f"verify with: drill verify DIR --key {info.public_path}")
    if info.kind == "private" and info.mode & 0o077:
        click.echo(
            f"warning: {info.path} is readable by other users; run chmod 600 on it", err=True
        )


@click.command(hidden=True)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH and PATH.pub if they exist.")
@click.option("--passphrase", is_flag=True, help="Encrypt the private key with a passphrase.")
def keygen(path: Path, force: bool, passphrase: bool) -> None:
    """The older name of `drill keys generate`, kept so scripts keep working."""
    write_key(path, force=force, passphrase=passphrase)
