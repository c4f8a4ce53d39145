"""Real evidence bundles for tests: a run folder as the runner leaves it, and signers.

The journal is written by the real ``JournalWriter``; drill.yaml carries the
digest header the runner writes; samples and report files are small but
real (report.json is a valid report of the run, as ``drill verify`` wants). ``EcdsaP256Signer`` stands in for a cloud KMS signer (DER ECDSA
P-256/SHA-256 signatures from a key made by ``cryptography``), and
``resign`` plays someone who holds the signing key and signs whatever the
folder holds, which is how tests reach the checks after ``subjects``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from drillkit.engine.journal import JournalWriter, read_journal
from drillkit.evidence.attestation import (
    PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    Statement,
    Subject,
    pae,
)
from drillkit.evidence.bundle import ATTESTATION, hash_files, list_files
from drillkit.evidence.how_to_verify import verification
from drillkit.evidence.keys import ECDSA_P256_SHA256, fingerprint, load_public_key
from drillkit.evidence.no_sign import NO_SIGN, SIGNING_FACT
from drillkit.evidence.report import report_json
from drillkit.evidence.report_model import (
    SCHEMA_VERSION,
    DrillFacts,
    Measurements,
    OperatorFacts,
    Report,
    RunFacts,
    Sources,
    TargetFacts,
    Timing,
    ToolVersions,
)
from drillkit.evidence.signing import Signer

DRILL_DIGEST = "sha256:" + "3f" * 32
STARTED = "2026-11-23T19:55:01.000000Z"
FINISHED = "2026-11-23T20:01:44.500000Z"


class SteppingClock:
    """Moves 250 ms per reading: deterministic journal timestamps."""

    def __init__(self) -> None:
        self._wall = datetime(2026, 11, 23, 19, 55, 1, tzinfo=UTC)
        self._mono = 500.0

    def wall(self) -> datetime:
        self._wall += timedelta(milliseconds=250)
        return self._wall

    def monotonic(self) -> float:
        self._mono += 0.25
        return self._mono


def build_run_folder(
    parent: Path, run_id: str = "01JDRILLRUN0000000000000001", *, no_sign: bool = False
) -> Path:
    """A run folder with journal, definition, samples and report files, not yet signed.

    ``no_sign``: the journal records the run as made with ``drill run --no-sign``.
    """
    run_dir = parent / "restore-orders" / run_id
    signing = {SIGNING_FACT: NO_SIGN} if no_sign else {}
    with JournalWriter(run_dir / "journal.jsonl", clock=SteppingClock()) as journal:
        journal.append(
            "run-started",
            None,
            runId=run_id,
            drill="restore-orders",
            version="1.0.0",
            digest=DRILL_DIGEST,
            target="sandbox",
            **signing,
        )
        journal.append("phase", None, phase="steps")
        journal.append("fault-undo-planned", "lose-namespace", fault="namespace-loss")
        for ok in (False, True, True):
            journal.append("sample", None, sampler="rto", ok=ok, latencyMs=12.5)
        journal.append("run-ended", None, verdict="passed")
    (run_dir / "drill.yaml").write_text(
        f"# restore-orders 1.0.0 {DRILL_DIGEST}\n"
        "apiVersion: drillkit.io/v1\nkind: Drill\nmetadata:\n  name: restore-orders\n",
        encoding="utf-8",
    )
    samples = run_dir / "samples"
    samples.mkdir()
    (samples / "rto.jsonl").write_text(
        '{"at": 501.0, "ok": false}\n{"at": 501.25, "ok": true}\n', encoding="utf-8"
    )
    (samples / "rpo-canary.jsonl").write_text('{"seq": 1, "acknowledged": true}\n')
    head = read_journal(run_dir / "journal.jsonl").head
    (run_dir / "report.json").write_bytes(report_json(minimal_report(run_id, head)))
    (run_dir / "report.md").write_text("# restore-orders 1.0.0: passed\n")
    (run_dir / "report.html").write_text("<!doctype html><title>restore-orders</title>\n")
    (run_dir / "junit.xml").write_text('<testsuite name="restore-orders" tests="1"/>\n')
    return run_dir


def minimal_report(run_id: str, journal_head: str, digest: str = DRILL_DIGEST) -> Report:
    """A small but valid report of the run above: what ``drill verify`` checks report.json for."""
    return Report(
        schema_version=SCHEMA_VERSION,
        drill=DrillFacts(
            name="restore-orders",
            version="1.0.0",
            digest=digest,
            owner="sre@example.com",
            tier=1,
            description="",
            labels={},
            definition_sha256="00" * 32,
            references=(),
            runbooks=(),
        ),
        run=RunFacts(
            run_id=run_id,
            verdict="passed",
            verdict_reason="every step passed and every objective was met",
            verdict_at_run_end="passed",
            finished=True,
            dry_run=False,
            scheduled_start=None,
            scheduled_end=None,
            started_at=STARTED,
            ended_at=FINISHED,
            duration_seconds=1.75,
            last_event_at=FINISHED,
        ),
        target=TargetFacts(
            name="sandbox",
            provider="local",
            tier="sandbox",
            description="",
            cluster=None,
            regions=(),
            zones=(),
            namespaces=(),
            services=(),
        ),
        operator=OperatorFacts(
            os_user="sre-on-call",
            host=None,
            aws_caller_arn=None,
            azure_object_id=None,
            kubernetes_user=None,
            identity={},
        ),
        objectives=(),
        measurements=Measurements(rto=None, rpo=None, certificate_days_left=None),
        steps=(),
        proofs=(),
        phases=(),
        timing=Timing(
            total_seconds=1.75,
            waiting_seconds=0.0,
            target_seconds=0.0,
            engine_seconds=1.75,
            engine_share=1.0,
        ),
        timeline=(),
        deviations=(),
        errors=(),
        retries=(),
        undo=(),
        samplers=(),
        chart=None,
        tools=ToolVersions(drillkit=None, python=None, dependencies={}, rendered_by="0.1.0"),
        sources=Sources(
            journal_sha256="00" * 32,
            journal_head=journal_head,
            journal_events=7,
            torn_tail_bytes=0,
            definition_sha256="00" * 32,
            samples=(),
        ),
        verification=verification("restore-orders", run_id, journal_head),
    )


def run_facts(run_dir: Path) -> dict[str, Any]:
    """What the runner hands to ``sign_bundle`` at the end of the run above."""
    return {
        "drill": "restore-orders",
        "version": "1.0.0",
        "digest": DRILL_DIGEST,
        "runId": run_dir.name,
        "target": "sandbox",
        "verdict": "passed",
        "startedAt": STARTED,
        "finishedAt": FINISHED,
        "operator": "sre-on-call",
    }


class EcdsaP256Signer:
    """A KMS-like signer: ECDSA P-256/SHA-256, DER signatures, a key id that is not a hash."""

    def __init__(self, key_id: str = "arn:aws:kms:us-east-1:111122223333:key/test") -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> str:
        return ECDSA_P256_SHA256

    @property
    def public_key_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.private_key.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


class RawEcdsaSigner(EcdsaP256Signer):
    """A misconfigured signer returning raw ``r || s`` (as Key Vault does) instead of DER."""

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(super().sign(data))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def read_envelope(run_dir: Path) -> Envelope:
    return Envelope.from_json((run_dir / ATTESTATION).read_bytes())


def read_statement_json(run_dir: Path) -> dict[str, Any]:
    statement: dict[str, Any] = json.loads(read_envelope(run_dir).payload)
    return statement


def resign(
    run_dir: Path,
    signer: Signer,
    *,
    payload_type: str = PAYLOAD_TYPE,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Sign what the folder holds now, keeping the signed predicate (the key holder's view),
    but naming ``signer`` in it, as whoever holds a key and signs would.

    ``edit`` may change the statement document before it is signed.
    """
    predicate = read_statement_json(run_dir)["predicate"]
    if isinstance(predicate.get("signer"), dict):
        predicate["signer"] = {
            **predicate["signer"],
            "keyId": signer.key_id,
            "algorithm": signer.algorithm,
            "fingerprint": load_public_key(signer.public_key_pem, source="signer").fingerprint,
        }
    files = hash_files(run_dir, list_files(run_dir))
    statement = Statement(tuple(Subject(f.name, f.sha256) for f in files), predicate)
    payload = statement.to_payload()
    if edit is not None:
        document = json.loads(payload)
        edit(document)
        payload = json.dumps(document).encode()
    signature = signer.sign(pae(payload_type, payload))
    envelope = Envelope(payload_type, payload, (EnvelopeSignature(signer.key_id, signature),))
    (run_dir / ATTESTATION).write_bytes(envelope.to_json())


def edit_envelope_json(run_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change the envelope file's JSON without signing again (what a forger can do)."""
    path = run_dir / ATTESTATION
    document = json.loads(path.read_bytes())
    edit(document)
    path.write_text(json.dumps(document, indent=2))


def b64(data: bytes) -> str:
    return base64.standard_b64encode(data).decode()
