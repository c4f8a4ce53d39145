"""The run index is a cache of the bundles: it follows them when they change, appear or go."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from drillkit.evidence.keys import load_public_key
from drillkit.history.evidence_check import check_evidence
from drillkit.history.index import INDEX_FILE, RunIndex, open_index
from tests.support.history_bundles import RunSpec, make_bundle, session_signer

FIRST = RunSpec("restore-orders", "01JA0000000000000000000001", "2026-11-01T10:00:00.000000Z")
SECOND = RunSpec(
    "restore-orders",
    "01JA0000000000000000000002",
    "2026-11-02T10:00:00.000000Z",
    verdict="failed",
    rto=40.0,
)


def test_a_new_run_is_indexed_and_a_removed_one_is_dropped(tmp_path: Path) -> None:
    signer = session_signer()
    make_bundle(tmp_path, FIRST, signer)
    with open_index(tmp_path) as index:
        assert [r.run_id for r in index.runs()] == [FIRST.run_id]
    second = make_bundle(tmp_path, SECOND, signer)
    with open_index(tmp_path) as index:
        runs = index.runs("restore-orders", "sandbox")
        assert [(r.run_id, r.verdict, r.rto_seconds) for r in runs] == [
            (FIRST.run_id, "passed", 12.5),
            (SECOND.run_id, "failed", 40.0),
        ]
        assert runs[0].rto_objective_seconds == 30.0
        assert runs[1].objectives_met is False
    for path in sorted(second.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    second.rmdir()
    with open_index(tmp_path) as index:
        assert [r.run_id for r in index.runs()] == [FIRST.run_id]


def test_an_index_from_another_schema_is_rebuilt_from_the_bundles(tmp_path: Path) -> None:
    make_bundle(tmp_path, FIRST, session_signer())
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    db.execute("CREATE TABLE runs (something TEXT)")
    db.commit()
    db.close()
    with open_index(tmp_path) as index:
        assert [r.run_id for r in index.runs()] == [FIRST.run_id]


def test_an_index_file_that_cannot_be_opened_is_replaced_by_one_in_memory(
    tmp_path: Path,
) -> None:
    make_bundle(tmp_path, FIRST, session_signer())
    (tmp_path / INDEX_FILE).mkdir()  # as on a read-only copy: nothing can be written there
    with open_index(tmp_path) as index:
        assert [r.run_id for r in index.runs()] == [FIRST.run_id]
    assert (tmp_path / INDEX_FILE).is_dir()


def test_a_signature_check_is_cached_until_the_bundle_changes(tmp_path: Path) -> None:
    signer = session_signer()
    run_dir = make_bundle(tmp_path, FIRST, signer)
    key = load_public_key(signer.public_key_pem, source="test")
    with RunIndex(tmp_path) as index:
        index.refresh()
        [record] = index.runs()
        assert check_evidence(index, record, [key]).state == "verified"
        assert index.verification(record, key.fingerprint) is not None
        (run_dir / "report.json").write_bytes((run_dir / "report.json").read_bytes() + b" ")
        index.refresh()
        [changed] = index.runs()
        assert index.verification(changed, key.fingerprint) is None
        status = check_evidence(index, changed, [key])
        assert status.state == "failed"
        assert status.detail.startswith("subjects: ")
