"""Signing a run's evidence bundle: the last thing a run writes.

``sign_bundle`` hashes every file of the run folder, puts the digests and the
run's facts into an in-toto statement, has a ``Signer`` sign it and writes
``attestation.intoto.json`` atomically. A ``Signer`` is anything with a key
id, an algorithm, a public key and a ``sign`` method, so the Ed25519 key
file (``key_files``) and, later, AWS KMS or Azure Key Vault signers in the
providers plug in without this module knowing them.

Signing fails closed: a bundle that would not verify is not signed. Before
signing, the journal's hash chain is checked end to end (its head goes into
the predicate) and ``drill.yaml``'s digest line must match the drill digest
of the facts; after signing, the signature is checked with the signer's own
public key, so a remote signer answering in the wrong format (raw ECDSA
``r || s`` instead of DER, say) is caught now, not by an auditor years later.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from drillkit import __version__
from drillkit.errors import DrillError
from drillkit.evidence.attestation import (
    DRILL_DIGEST,
    PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    Statement,
    Subject,
    pae,
)
from drillkit.evidence.bundle import (
    ATTESTATION,
    JOURNAL,
    SIGNER_PUBLIC_KEY,
    definition_digest,
    hash_files,
    list_files,
    write_atomically,
)
from drillkit.evidence.keys import load_public_key

REQUIRED_FACTS = ("drill", "version", "digest", "runId", "target", "verdict")
"""Facts every caller gives: what ran, where, and how it ended."""
TIME_FACTS = ("startedAt", "finishedAt")
"""Optional facts: start and end of the run in UTC (RFC 3339 text or aware datetimes)."""
COMPUTED_FACTS = ("journal", "drillkitVersion", "signer")
"""Facts ``sign_bundle`` fills in itself; a caller giving them is a programming error."""

_UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
logger = logging.getLogger(__name__)


class Signer(Protocol):
    """What signs a bundle: a key file here; AWS KMS or Azure Key Vault in the providers.

    ``sign`` gets the DSSE pre-authentication encoding and returns the raw
    signature: 64 bytes for Ed25519, DER for ECDSA P-256/SHA-256.
    """

    @property
    def key_id(self) -> str:
        """Names the key in the envelope: a fingerprint, a KMS key ARN, a Key Vault key URL."""
        ...

    @property
    def algorithm(self) -> str:
        """``ed25519`` or ``ecdsa-sha2-nistp256`` (see ``drillkit.evidence.keys``)."""
        ...

    @property
    def public_key_pem(self) -> bytes:
        """The public key as a PEM SubjectPublicKeyInfo; stored in the bundle."""
        ...

    def sign(self, data: bytes) -> bytes: ...


class SigningRefused(DrillError):
    """The bundle is not consistent, or the signer's signature does not check out."""


def sign_bundle(run_dir: Path, signer: Signer, predicate_facts: dict[str, Any]) -> Path:
    """Sign every file of ``run_dir``; returns the path of the attestation written.

    ``predicate_facts`` holds at least ``REQUIRED_FACTS`` (text), may hold
    ``TIME_FACTS``, and any further JSON facts the caller wants signed
    (operator, host, provider). Call it last: a file written afterwards
    makes the bundle fail verification.
    """
    run_dir = Path(run_dir)
    facts = _checked_facts(predicate_facts)
    public = load_public_key(signer.public_key_pem, source=f"the public key of {signer.key_id}")
    if public.algorithm != signer.algorithm:
        raise SigningRefused(
            f"signer {signer.key_id} says it signs with {signer.algorithm}, "
            f"but its public key is {public.algorithm}",
            fix="fix the signer's configuration",
        )
    head, events = _journal_head(run_dir)
    _check_definition(run_dir, facts["digest"])
    write_atomically(run_dir / SIGNER_PUBLIC_KEY, public.pem)
    files = hash_files(run_dir, list_files(run_dir))
    predicate = {
        **facts,
        "journal": {"head": head, "events": events},
        "drillkitVersion": __version__,
        "signer": {
            "keyId": signer.key_id,
            "algorithm": public.algorithm,
            "fingerprint": public.fingerprint,
            "publicKey": SIGNER_PUBLIC_KEY,
        },
    }
    statement = Statement(tuple(Subject(f.name, f.sha256) for f in files), predicate)
    payload = statement.to_payload()
    signature = signer.sign(pae(PAYLOAD_TYPE, payload))
    if not public.verify(signature, pae(PAYLOAD_TYPE, payload)):
        raise SigningRefused(
            f"the signature from {signer.key_id} ({signer.algorithm}) does not verify "
            "with its own public key; the bundle was not signed",
            fix="an ECDSA signer must return a DER signature over SHA-256 of the data; "
            "check the signer's key and algorithm",
        )
    envelope = Envelope(PAYLOAD_TYPE, payload, (EnvelopeSignature(signer.key_id, signature),))
    path = run_dir / ATTESTATION
    write_atomically(path, envelope.to_json())
    logger.info("signed %d files of %s with key %s", len(files), run_dir, signer.key_id)
    return path


def _checked_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """A copy of the caller's facts with times normalised; ``ValueError`` for a caller bug."""
    missing = [
        key for key in REQUIRED_FACTS if not isinstance(facts.get(key), str) or not facts[key]
    ]
    if missing:
        raise ValueError(f"predicate_facts needs non-empty text for {', '.join(missing)}")
    if not DRILL_DIGEST.fullmatch(facts["digest"]):
        raise ValueError(f"predicate_facts digest is not sha256:<hex>: {facts['digest']!r}")
    clashing = [key for key in COMPUTED_FACTS if key in facts]
    if clashing:
        raise ValueError(f"predicate_facts may not set {', '.join(clashing)}: sign_bundle does")
    checked = dict(facts)
    for key in TIME_FACTS:
        value = checked.pop(key, None)
        if value is not None:
            checked[key] = _utc(key, value)
    return checked


def _utc(key: str, value: object) -> str:
    if isinstance(value, datetime):
        from drillkit.engine.clock import rfc3339

        return rfc3339(value)  # refuses a naive datetime
    if isinstance(value, str) and _UTC_TIMESTAMP.fullmatch(value):
        return value
    raise ValueError(f"predicate_facts {key} is not a UTC RFC 3339 time: {value!r}")


def _journal_head(run_dir: Path) -> tuple[str, int]:
    from drillkit.engine.journal import read_journal

    read = read_journal(run_dir / JOURNAL, verify=True)
    if read.partial_tail is not None:
        raise SigningRefused(
            f"{run_dir / JOURNAL} ends with an unfinished line; the bundle was not signed",
            fix="run `drill recover` on the run first, which finishes the journal",
        )
    return read.head, len(read.events)


def _check_definition(run_dir: Path, digest: str) -> None:
    found = definition_digest(run_dir)
    if found != digest:
        raise SigningRefused(
            f"drill.yaml in {run_dir} has digest {found}, but the run's drill digest is "
            f"{digest}; the bundle was not signed",
            fix="the definition file must be the one the run used; report this as a bug",
        )
