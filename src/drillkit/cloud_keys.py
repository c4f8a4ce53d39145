"""Signing keys held by a cloud key service, named by URI: ``awskms://`` and ``azurekms://``.

Wherever a key file path is accepted for signing (``--signing-key``,
``$DRILLKIT_SIGNING_KEY``, a target's ``signingKey``), a key URI may stand
instead; the private key then never leaves the service:

- ``awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID`` (or ``awskms:///alias/NAME``,
  ``awskms:///ID``; an optional endpoint goes between ``//`` and the third
  ``/``, as ``awskms://localhost:4566/alias/NAME``): an AWS KMS asymmetric key,
  ECC_NIST_P256, SIGN_VERIFY, signing ECDSA_SHA_256 in DIGEST mode.
- ``azurekms://VAULT.vault.azure.net/KEY[/VERSION]``: an Azure Key Vault EC key
  on P-256, signing ES256 (its raw r||s signature is re-encoded as DER).

The same URI shapes as other signing tools use, so a key set up for them
works here. The providers implement the signers (``signer_from_uri`` in
``drillkit.providers.eks.kms_signer`` and
``drillkit.providers.aks.keyvault_signer``); this module only tells a URI
from a path and loads the right one lazily, so the SDKs stay out of
``drill --help``. Verification is offline either way: ``drill keys
export-public URI`` writes the public key once, and ``drill verify --key``
takes that file.
"""

from __future__ import annotations

import importlib
from typing import Any

from drillkit.errors import UserInputError

SCHEMES = {
    "awskms://": "drillkit.providers.eks.kms_signer",
    "azurekms://": "drillkit.providers.aks.keyvault_signer",
}


def is_key_uri(reference: str) -> bool:
    """True when ``reference`` names a key in a cloud key service rather than a file."""
    return reference.startswith(tuple(SCHEMES))


def cloud_signer(reference: str, *, origin: str) -> Any:
    """The ``Signer`` for a key URI; ``origin`` says where the URI came from, for messages."""
    module_name = next(m for scheme, m in SCHEMES.items() if reference.startswith(scheme))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UserInputError(
            f"{origin} names `{reference}`, but this installation cannot sign with that "
            f"service ({exc.name} is missing)",
            fix="reinstall drillkit with its dependencies, or name an Ed25519 key file",
        ) from exc
    return module.signer_from_uri(reference, origin=origin)
