"""Checking the signature of the evidence a scorecard relies on, with the keys given.

A scorecard line says "evidence verified" only when the run's bundle passes
every check of ``drill verify`` with one of the public keys the person gave
(``--key``, repeatable, or a folder of ``*.pub``/``*.pem`` files). Results are
cached in the index per run, bundle stamp and key, so a repeated scorecard
costs no hashing. Without keys, nothing is checked and the scorecard says so:
a key stored in the bundle would prove integrity, not who signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drillkit.errors import UserInputError
from drillkit.evidence.keys import PublicKey, load_public_key, read_public_key_file
from drillkit.history.index import RunIndex, Verified
from drillkit.history.records import RunRecord

NOT_CHECKED = "not checked"
UNSIGNED = "unsigned"
VERIFIED = "verified"


@dataclass(frozen=True)
class EvidenceStatus:
    state: str
    """``verified``, ``failed``, ``unsigned`` or ``not checked``."""
    detail: str

    @property
    def acceptable(self) -> bool:
        """Failing or unsigned evidence fails the scorecard; unchecked evidence does not."""
        return self.state in (VERIFIED, NOT_CHECKED)


def load_keys(paths: tuple[Path, ...]) -> list[PublicKey]:
    """Public keys from files, and from every ``*.pub``/``*.pem`` in the folders given."""
    keys: list[PublicKey] = []
    for path in paths:
        if path.is_dir():
            files = sorted([*path.glob("*.pub"), *path.glob("*.pem")])
            if not files:
                raise UserInputError(
                    f"{path}: no public key files (*.pub, *.pem) in this folder",
                    fix="pass the folder holding the signers' public keys, or a key file",
                )
        else:
            files = [path]
        for file in files:
            keys.append(load_public_key(read_public_key_file(file), source=str(file)))
    return keys


def check_evidence(index: RunIndex, record: RunRecord, keys: list[PublicKey]) -> EvidenceStatus:
    """Whether ``record``'s bundle verifies with one of ``keys`` (cached in the index)."""
    if not record.signed:
        return EvidenceStatus(UNSIGNED, "the run's evidence is not signed")
    if not keys:
        return EvidenceStatus(NOT_CHECKED, "no --key given")
    from drillkit.evidence.verification import verify_bundle

    failures: list[str] = []
    for key in keys:
        cached = index.verification(record, key.fingerprint)
        if cached is None:
            result = verify_bundle(index.reports_dir / record.run_dir, key.pem)
            failure = result.first_failure
            detail = (
                f"signed by {key.fingerprint}"
                if result.ok
                else f"{failure.name}: {failure.detail}"
                if failure is not None
                else "incomplete verification"
            )
            cached = Verified(result.ok, detail)
            index.remember_verification(record, key.fingerprint, cached)
        if cached.ok:
            return EvidenceStatus(VERIFIED, cached.detail)
        failures.append(cached.detail)
    return EvidenceStatus("failed", failures[0] if len(failures) == 1 else "no key verifies it")
