"""Which key signs a run: the flag, the environment, the target, else the per-user key.

Every signed run must get a signature, so a person who never thought about
keys still gets one: the first run creates a per-user key under the user
data folder (``drillkit/signing/ed25519.key``, its public key beside it as
``.pub``) and says once where the public key is. Teams that care where the
key lives name one, from the most specific to the most general:

1. ``drill run --signing-key PATH`` (this one run);
2. ``$DRILLKIT_SIGNING_KEY`` (this shell, CronJob or CI job; empty is unset);
3. the target's ``signingKey`` in ``targets.yaml`` (everyone running against
   that target; a relative path is taken from the repository root);
4. the per-user default key, created on first use.

A key that is named but missing is an error, never silently replaced by a
new one: a signature by an unknown key proves nothing to the auditor who
expects another.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from drillkit.evidence.key_files import (
    Ed25519FileSigner,
    KeyExists,
    PassphrasePrompt,
    generate_key_file,
)

SIGNING_KEY_ENV = "DRILLKIT_SIGNING_KEY"
"""Environment variable naming the private key file a run signs with."""
DEFAULT_KEY_NAME = Path("signing") / "ed25519.key"
"""Where the per-user default key lives, under the user data folder of drillkit."""
DEFAULT_ORIGIN = "the default signing key"

logger = logging.getLogger(__name__)


def default_key_path() -> Path:
    """The per-user default key: ``<user data dir>/drillkit/signing/ed25519.key``."""
    import platformdirs

    return platformdirs.user_data_path("drillkit", appauthor=False) / DEFAULT_KEY_NAME


def target_key_path(signing_key: str, repository_root: Path) -> Path:
    """A target's ``signingKey`` as a path: ``~`` expanded, relative to the repository root."""
    path = Path(signing_key).expanduser()
    return path if path.is_absolute() else repository_root / path


def resolve_signer(
    path: Path | None,
    *,
    target_key: Path | None = None,
    target: str | None = None,
    prompt: PassphrasePrompt | None = None,
) -> Ed25519FileSigner:
    """The signer a run uses, in the order of this module's docstring.

    ``target_key`` is the target's ``signingKey`` already made a path (see
    ``target_key_path``) and ``target`` its name, for messages. ``prompt``
    asks for the passphrase of an encrypted key; give it only when a person
    can answer. The default key is created on first use; the returned
    signer's ``notice`` then says where its public key is, for the caller to
    print. A named key that does not exist is an error (exit 2).
    """
    if path is not None:
        return Ed25519FileSigner.load(path, origin="--signing-key", prompt=prompt)
    from_env = os.environ.get(SIGNING_KEY_ENV, "")
    if from_env:
        return Ed25519FileSigner.load(Path(from_env), origin=f"${SIGNING_KEY_ENV}", prompt=prompt)
    if target_key is not None:
        origin = f"signingKey of target {target}" if target else "the target's signingKey"
        return Ed25519FileSigner.load(target_key, origin=origin, prompt=prompt)
    default = default_key_path()
    if default.exists() or default.is_symlink():
        return Ed25519FileSigner.load(default, origin=DEFAULT_ORIGIN, prompt=prompt)
    try:
        created = generate_key_file(default)
    except KeyExists:  # another run created it a moment ago: use that one
        return Ed25519FileSigner.load(default, origin=DEFAULT_ORIGIN, prompt=prompt)
    signer = Ed25519FileSigner.load(default, origin=DEFAULT_ORIGIN)
    signer.created = created
    logger.info("created the default signing key %s (key id %s)", default, created.key_id)
    return signer
