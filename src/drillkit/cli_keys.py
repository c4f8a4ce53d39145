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
@click.argument("reference", metavar="PATH|URI")
def show(reference: str) -> None:
    """Show a key's id and public key; never the private key.

    PATH is a private key (its PATH.pub is shown beside it) or a public key.
    The key id is the fingerprint evidence names its signer by: sha256 of the
    DER public key, as `openssl pkey -pubin -in PATH.pub -outform DER | sha256sum`
    computes it. An encrypted key is not decrypted: its id comes from PATH.pub.
    A cloud key URI (awskms://..., azurekms://...) shows the key the service
    names and its public key in PEM.
    """
    from drillkit.cloud_keys import cloud_signer, is_key_uri
    from drillkit.evidence.key_files import describe_key_file

    if is_key_uri(reference):
        signer = cloud_signer(reference, origin="the key URI")
        click.echo(f"key         {signer.key_id} ({signer.algorithm}, held by the key service)")
        click.echo(
            f"verify with: drill verify DIR --key PUBLIC.pem, after "
            f"`drill keys export-public {reference} --output PUBLIC.pem`"
        )
        click.echo(signer.public_key_pem.decode().rstrip())
        return
    path = Path(reference)
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


@keys.command("export-public")
@click.argument("reference", metavar="PATH|URI")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the public key (PEM). Refuses to overwrite a different key.",
)
def export_public(reference: str, output: Path) -> None:
    """Write the public key of a signing key to a file, for `drill verify --key`.

    For a cloud key (awskms://..., azurekms://...) this is how an auditor gets
    a key to verify with offline: export it once, keep the file with the
    evidence policy, and verify any number of bundles without cloud access.
    For a key file it writes the public half (what PATH.pub already holds).
    """
    from drillkit.cloud_keys import cloud_signer, is_key_uri
    from drillkit.errors import UserInputError
    from drillkit.evidence.key_files import Ed25519FileSigner

    if is_key_uri(reference):
        pem = cloud_signer(reference, origin="the key URI").public_key_pem
    else:
        pem = Ed25519FileSigner.load(Path(reference), origin="PATH").public_key_pem
    if output.exists() and output.read_bytes() != pem:
        raise UserInputError(
            f"{output} exists and holds another key",
            fix="choose another --output, or remove the file if it is no longer needed",
        )
    output.write_bytes(pem)
    click.echo(f"wrote {output}")


@click.command(hidden=True)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH and PATH.pub if they exist.")
@click.option("--passphrase", is_flag=True, help="Encrypt the private key with a passphrase.")
def keygen(path: Path, force: bool, passphrase: bool) -> None:
    """The older name of `drill keys generate`, kept so scripts keep working."""
    write_key(path, force=force, passphrase=passphrase)
