"""The game-day bundle: one signed folder that links every run of the day by digest.

``reports/_gamedays/<plan>/<gameday-id>/`` holds

- ``gameday.json``: the summary (plan, times, operator, verdict, and per entry
  its status, gate reason, run id and folder, verdict, objectives and the
  sha256 of the run's attestation), RFC 8785 canonical JSON;
- ``gameday.md``: the same for people;
- ``plan.yaml``: the exact plan file that was run;
- ``signer.pub.pem`` and ``attestation.intoto.json``: a DSSE envelope over an
  in-toto Statement v1, predicate type ``GAMEDAY_PREDICATE_TYPE``, whose
  subjects are the files above and, named ``runs/<drill>/<run-id>/attestation.intoto.json``,
  each run's own attestation. A run's attestation covers every file of its
  bundle, so the game-day signature reaches every byte of every run.

The folder name starts with ``_`` so it can never be a drill's name (drill
names are lowercase letters, digits and ``-``), and history scans skip it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from drillkit import __version__
from drillkit.evidence.attestation import (
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    Envelope,
    EnvelopeSignature,
    pae,
)
from drillkit.evidence.bundle import (
    ATTESTATION,
    SIGNER_PUBLIC_KEY,
    hash_files,
    list_files,
    write_atomically,
)
from drillkit.evidence.keys import load_public_key
from drillkit.evidence.signing import Signer, SigningRefused
from drillkit.gameday.day import GameDayResult
from drillkit.spec.digest import canonical_json

GAMEDAYS_DIR = "_gamedays"
GAMEDAY_PREDICATE_TYPE = "https://drillkit.dev/evidence/gameday/v1"
SUMMARY, SUMMARY_MD, PLAN = "gameday.json", "gameday.md", "plan.yaml"
RUN_SUBJECT_PREFIX = "runs/"
RUNS_ROOT = "../../.."
"""From a game-day folder to the reports folder its runs are in."""
logger = logging.getLogger(__name__)


def gameday_dir(reports_dir: Path, plan_name: str, gameday_id: str) -> Path:
    return reports_dir / GAMEDAYS_DIR / plan_name / gameday_id


def summary(result: GameDayResult, gameday_id: str, reports_dir: Path) -> dict[str, Any]:
    """What ``gameday.json`` holds; every figure comes from the runs' own report.json."""
    entries = []
    met = total = 0
    for outcome in result.outcomes:
        item: dict[str, Any] = {
            "index": outcome.index,
            "name": outcome.name,
            "kind": outcome.kind,
            "status": outcome.status,
            "reason": outcome.reason,
            "startedAt": outcome.started_at,
            "endedAt": outcome.ended_at,
        }
        if outcome.kind == "drill":
            item.update({"drill": outcome.drill, "target": outcome.target, "run": None})
        run = outcome.run
        if run is not None and (run.run_dir / ATTESTATION).is_file():
            objectives = _objectives(run.run_dir)
            met += sum(1 for o in objectives if o["status"] == "met")
            total += len(objectives)
            item["run"] = {
                "runId": run.run_id,
                "version": run.version,
                "verdict": run.verdict,
                "folder": run.run_dir.resolve().relative_to(reports_dir.resolve()).as_posix(),
                "attestationSha256": _sha256(run.run_dir / ATTESTATION),
                "objectives": objectives,
            }
        entries.append(item)
    plan = result.plan
    return {
        "gameday": plan.name,
        "description": plan.plan.metadata.description,
        "owner": plan.plan.metadata.owner,
        "gamedayId": gameday_id,
        "verdict": result.verdict,
        "startedAt": result.started_at,
        "finishedAt": result.ended_at,
        "operator": _operator(),
        "objectivesMet": {"met": met, "total": total},
        "entries": entries,
        "drillkitVersion": __version__,
    }


def write_gameday_bundle(
    result: GameDayResult, reports_dir: Path, gameday_id: str, signer: Signer
) -> Path:
    """Write and sign the game-day folder; returns it. Every run must already be signed."""
    folder = gameday_dir(reports_dir, result.plan.name, gameday_id)
    folder.mkdir(parents=True, exist_ok=False)
    facts = summary(result, gameday_id, reports_dir)
    write_atomically(folder / SUMMARY, canonical_json(facts))
    write_atomically(folder / SUMMARY_MD, summary_markdown(facts).encode())
    write_atomically(folder / PLAN, result.plan.raw)
    public = load_public_key(signer.public_key_pem, source=f"the public key of {signer.key_id}")
    write_atomically(folder / SIGNER_PUBLIC_KEY, public.pem)
    subjects = [(f.name, f.sha256) for f in hash_files(folder, list_files(folder))]
    for entry in facts["entries"]:
        run = entry.get("run")
        if run is not None:
            subjects.append(
                (f"{RUN_SUBJECT_PREFIX}{run['folder']}/{ATTESTATION}", run["attestationSha256"])
            )
    predicate = {
        "gameday": facts["gameday"],
        "gamedayId": gameday_id,
        "verdict": facts["verdict"],
        "startedAt": facts["startedAt"],
        "finishedAt": facts["finishedAt"],
        "runsRoot": RUNS_ROOT,
        "runs": [
            {"entry": e["name"], "drill": e["drill"], "target": e["target"], **_run_ref(e["run"])}
            for e in facts["entries"]
            if e.get("run") is not None
        ],
        "drillkitVersion": __version__,
        "signer": {
            "keyId": signer.key_id,
            "algorithm": public.algorithm,
            "fingerprint": public.fingerprint,
            "publicKey": SIGNER_PUBLIC_KEY,
        },
    }
    payload = canonical_json(
        {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in subjects],
            "predicateType": GAMEDAY_PREDICATE_TYPE,
            "predicate": predicate,
        }
    )
    signature = signer.sign(pae(PAYLOAD_TYPE, payload))
    if not public.verify(signature, pae(PAYLOAD_TYPE, payload)):
        raise SigningRefused(
            f"the signature from {signer.key_id} does not verify with its own public key; "
            "the game-day bundle was not signed",
            fix="check the signer's key and algorithm",
        )
    envelope = Envelope(PAYLOAD_TYPE, payload, (EnvelopeSignature(signer.key_id, signature),))
    write_atomically(folder / ATTESTATION, envelope.to_json())
    logger.info("signed game-day %s with key %s", folder, signer.key_id)
    return folder


def summary_markdown(facts: dict[str, Any]) -> str:
    met = facts["objectivesMet"]
    lines = [
        f"# Game-day {facts['gameday']}: {facts['verdict']}",
        "",
        f"- id: {facts['gamedayId']}",
        f"- from {facts['startedAt']} to {facts['finishedAt']}, operator {facts['operator']}",
        f"- objectives met: {met['met']} of {met['total']}",
        "",
        "| # | entry | target | status | run | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in facts["entries"]:
        run = e.get("run") or {}
        cells = [
            str(e["index"] + 1),
            e["name"],
            e.get("target") or "",
            e["status"],
            run.get("runId", ""),
            e["reason"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _run_ref(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("runId", "version", "verdict", "folder", "attestationSha256")}


def _objectives(run_dir: Path) -> list[dict[str, Any]]:
    from pydantic import ValidationError

    from drillkit.evidence.report_model import Report

    try:
        report = Report.model_validate_json((run_dir / "report.json").read_bytes())
    except (OSError, ValidationError):
        return []
    return [
        {"name": o.name, "target": o.target, "measured": o.measured, "status": o.status}
        for o in report.objectives
        if o.declared
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _operator() -> str:
    from drillkit.engine.run_facts import os_user

    return os_user() or os.environ.get("USER", "unknown")
