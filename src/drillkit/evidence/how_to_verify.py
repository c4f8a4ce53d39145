"""The report's "how to verify" section: with ``drill verify``, and with standard tools only.

An auditor may not trust, or have, drillkit. Everything drillkit checks can
be checked with ``jq``, ``base64``, ``sha256sum`` and ``openssl``: the
attestation is a DSSE envelope over an in-toto Statement v1 whose subjects
are the sha256 of every other file in the folder, and its signature covers
DSSE's pre-authentication encoding (PAE) of the payload. The commands here
are run by the tests against a really signed folder, so they stay true.
"""

from __future__ import annotations

from drillkit.evidence.attestation import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE
from drillkit.evidence.bundle import ATTESTATION, JOURNAL
from drillkit.evidence.report_model import Verification, VerificationStep

DIGESTS_COMMAND = (
    f"jq -r .payload {ATTESTATION} | base64 -d "
    "| jq -r '.subject[] | \"\\(.digest.sha256)  \\(.name)\"' | sha256sum -c -"
)
"""Checks the sha256 of every file the signed statement lists; run inside the run folder."""

PAE_COMMAND = (
    f"jq -r .payload {ATTESTATION} | base64 -d > payload.json && "
    f"jq -r '.signatures[0].sig' {ATTESTATION} | base64 -d > signature.bin && "
    f"printf 'DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} %d ' \"$(wc -c < payload.json)\" "
    "| cat - payload.json > pae.bin"
)
"""Writes the exact bytes the signature covers (pae.bin) and the signature (signature.bin)."""

ED25519_COMMAND = (
    "openssl pkeyutl -verify -pubin -inkey SIGNER.pub.pem -rawin -in pae.bin -sigfile signature.bin"
)
ECDSA_COMMAND = "openssl dgst -sha256 -verify SIGNER.pub.pem -signature signature.bin pae.bin"


def verification(
    drill: str, run_id: str, journal_head: str, *, signed: bool = True
) -> Verification:
    """How to verify the run's folder; for a ``--no-sign`` run, why it cannot be."""
    folder = f"reports/{drill}/{run_id}"
    if not signed:
        return _unsigned(folder, journal_head)
    return Verification(
        command=f"drill verify {folder} --key <signer public key>",
        attestation=ATTESTATION,
        payload_type=PAYLOAD_TYPE,
        statement_type=STATEMENT_TYPE,
        predicate_type=PREDICATE_TYPE,
        steps=(
            VerificationStep(
                title="With drillkit",
                text=f"Run `drill verify {folder} --key <signer public key>`, with the "
                "signer's PEM public key obtained from its owner, not from the folder (the "
                "copy inside, signer.pub.pem, proves integrity but not origin). It checks the "
                "signature, the sha256 of every file and the journal's hash chain, and names "
                "the first thing that fails.",
                command=None,
            ),
            VerificationStep(
                title="Every file, without drillkit",
                text=f"{ATTESTATION} is a DSSE envelope (payloadType {PAYLOAD_TYPE}) over an "
                f"in-toto Statement v1 ({STATEMENT_TYPE}) whose subjects list the sha256 of "
                "every other file of the folder. Inside the folder, this prints OK for each "
                "file; any FAILED line, or a file in the folder that is not listed, means the "
                "folder is not what was signed.",
                command=DIGESTS_COMMAND,
            ),
            VerificationStep(
                title="The signature, without drillkit",
                text="The signature covers DSSE's pre-authentication encoding "
                f"`DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} <payload length> <payload>`. "
                "Rebuild those bytes, then check them with the signer's public key "
                "(SIGNER.pub.pem): Ed25519 keys with the first openssl command, ECDSA P-256 "
                "keys with the second. Any DSSE verifier (securesystemslib, sigstore, cosign, "
                "in-toto) does the same.",
                command=f"{PAE_COMMAND}\n{ED25519_COMMAND}\n{ECDSA_COMMAND}",
            ),
            VerificationStep(
                title="The journal and this report",
                text=f"Each line of {JOURNAL} holds the sha256 of its own content and of the "
                f"line before it; its last hash, {journal_head}, is in the signed "
                "predicate. This report is computed from the journal and drill.yaml alone: "
                "`drill report` renders it again from the folder.",
                command=None,
            ),
        ),
    )


def _unsigned(folder: str, journal_head: str) -> Verification:
    return Verification(
        command="none: this run was made with `drill run --no-sign`",
        attestation=ATTESTATION,
        payload_type=PAYLOAD_TYPE,
        statement_type=STATEMENT_TYPE,
        predicate_type=PREDICATE_TYPE,
        steps=(
            VerificationStep(
                title="Not signed",
                text=f"This run was made with `drill run --no-sign`. The folder has no "
                f"{ATTESTATION}, so nothing proves these files are the ones the run wrote, or "
                f"who ran it; `drill verify {folder}` fails at its first check, naming "
                "--no-sign. For evidence an auditor can check, run the drill again without "
                "--no-sign.",
                command=None,
            ),
            VerificationStep(
                title="What still holds",
                text=f"Each line of {JOURNAL} holds the sha256 of its own content and of the "
                f"line before it, ending at {journal_head}: `drill journal {folder}` shows "
                "whether a line was changed or removed in the middle, but anyone can write a "
                "new chain from the start, so this proves nothing about origin.",
                command=None,
            ),
        ),
        signed=False,
    )
