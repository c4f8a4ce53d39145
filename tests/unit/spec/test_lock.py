"""drills.lock keeps released versions immutable; validate and lock enforce it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drillkit.errors import InvalidDocument, InvalidDrill, VersionError
from drillkit.spec.lock import DrillLock
from drillkit.spec.repository import DrillRepository
from drillkit.spec.validate import lock_repository, validate
from tests.conftest import REAL_REPOSITORY

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


@pytest.fixture
def locked(repository: DrillRepository) -> DrillRepository:
    """The repository copy with a freshly written lock for its current content."""
    repository.lock_path.unlink(missing_ok=True)
    lock_repository(repository)
    return repository


def edit(repository: DrillRepository, name: str, old: str, new: str) -> Path:
    path = repository.find_drill(name)
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_committed_drills_match_the_committed_lock() -> None:
    report = validate(DrillRepository(REAL_REPOSITORY), [])

    assert [p.render() for p in report.problems] == []


def test_a_drill_edited_without_a_version_bump_is_reported(locked: DrillRepository) -> None:
    edit(locked, "pod-kill-orders", "percent: 50", "percent: 60")

    report = validate(locked, [])

    problems = [p.render() for p in report.problems]
    assert len(problems) == 1
    assert problems[0].startswith(
        "drills/pod-kill-orders.yaml:6:3: metadata.version: content of pod-kill-orders "
        "changed but its version 1.0.0 did not"
    )
    assert problems[0].endswith(
        "bump metadata.version (released versions are immutable), then run `drill lock`"
    )


def test_a_probe_edited_under_a_locked_drill_is_reported_for_that_drill(
    locked: DrillRepository,
) -> None:
    probe = locked.root / "probes/orders-canary.yaml"
    probe.write_text(probe.read_text().replace("interval: 1s", "interval: 2s"))

    report = validate(DrillRepository(locked.root), [])

    flagged = {f.name for f in report.files if not f.ok}
    assert flagged == {"region-failover-orders", "restore-orders", "zone-outage-orders"}
    assert all("changed but its version" in p.message for p in report.problems)


def test_lock_refuses_to_rewrite_a_locked_version(locked: DrillRepository) -> None:
    edit(locked, "pod-kill-orders", "percent: 50", "percent: 60")
    before = locked.lock_path.read_bytes()

    with pytest.raises(VersionError) as caught:
        lock_repository(locked)

    assert caught.value.diagnostics() == (
        "pod-kill-orders 1.0.0 is already locked with other content; released versions are "
        "immutable\n  fix: bump metadata.version of pod-kill-orders (for example to 1.0.1) and "
        "run `drill lock` again"
    )
    assert locked.lock_path.read_bytes() == before


def test_lock_records_a_bumped_version_and_keeps_the_old_one(locked: DrillRepository) -> None:
    old_digest = locked.read_lock().versions["pod-kill-orders"]["1.0.0"]
    edit(locked, "pod-kill-orders", "percent: 50", "percent: 60")
    edit(locked, "pod-kill-orders", "version: 1.0.0", "version: 1.1.0")

    result = lock_repository(locked)

    new_digest = locked.load_named("pod-kill-orders").digest
    assert result.added == [("pod-kill-orders", "1.1.0", new_digest)]
    assert locked.read_lock().versions["pod-kill-orders"] == {
        "1.0.0": old_digest,
        "1.1.0": new_digest,
    }
    assert validate(locked, []).ok


def test_check_only_refuses_a_missing_version_and_writes_nothing(locked: DrillRepository) -> None:
    edit(locked, "pod-kill-orders", "percent: 50", "percent: 60")
    edit(locked, "pod-kill-orders", "version: 1.0.0", "version: 1.0.1")
    before = locked.lock_path.read_bytes()

    with pytest.raises(VersionError) as caught:
        lock_repository(locked, check_only=True)

    assert caught.value.diagnostics() == (
        "drills.lock is missing pod-kill-orders 1.0.1\n  fix: run `drill lock` and commit it"
    )
    assert locked.lock_path.read_bytes() == before


def test_check_only_with_everything_locked_writes_nothing(locked: DrillRepository) -> None:
    before = locked.lock_path.stat().st_mtime_ns, locked.lock_path.read_bytes()

    result = lock_repository(locked, check_only=True)

    assert result.added == []
    assert len(result.unchanged) == len(locked.drill_paths())
    assert (locked.lock_path.stat().st_mtime_ns, locked.lock_path.read_bytes()) == before


def test_check_only_does_not_create_a_missing_lock(repository: DrillRepository) -> None:
    repository.lock_path.unlink(missing_ok=True)

    with pytest.raises(VersionError, match=re.escape("drills.lock is missing")):
        lock_repository(repository, check_only=True)

    assert not repository.lock_path.exists()


def test_a_version_older_than_the_newest_locked_is_refused(locked: DrillRepository) -> None:
    lock = locked.read_lock()
    lock.record("pod-kill-orders", "1.2.0", DIGEST_A)
    lock.write()
    edit(locked, "pod-kill-orders", "percent: 50", "percent: 60")
    edit(locked, "pod-kill-orders", "version: 1.0.0", "version: 1.1.0")

    with pytest.raises(VersionError) as caught:
        lock_repository(locked)

    assert caught.value.diagnostics() == (
        "pod-kill-orders 1.1.0 is older than the locked 1.2.0\n"
        "  fix: give pod-kill-orders a version above 1.2.0"
    )
    [problem] = validate(locked, []).problems
    assert "version 1.1.0 of pod-kill-orders is older than the locked 1.2.0" in problem.message


def test_versions_compare_as_semver_not_text(tmp_path: Path) -> None:
    lock = DrillLock(path=tmp_path / "drills.lock")
    lock.record("d", "1.9.0", DIGEST_A)

    assert lock.record("d", "1.10.0", DIGEST_B)
    assert lock.newest("d") == "1.10.0"
    with pytest.raises(VersionError):
        lock.record("d", "1.9.1", DIGEST_A)


def test_recording_the_same_version_and_digest_again_changes_nothing(tmp_path: Path) -> None:
    lock = DrillLock(path=tmp_path / "drills.lock")

    assert lock.record("d", "1.0.0", DIGEST_A) is True
    assert lock.record("d", "1.0.0", DIGEST_A) is False


def test_check_explains_each_disagreement(tmp_path: Path) -> None:
    lock = DrillLock(path=tmp_path / "drills.lock", versions={"d": {"2.0.0": DIGEST_A}})

    assert lock.check("d", "2.0.0", DIGEST_A) is None
    assert lock.check("d", "2.0.0", DIGEST_B) == (
        "content of d changed but its version 2.0.0 did not "
        "(locked sha256:aaaaaaaaaaaa…, now sha256:bbbbbbbbbbbb…)"
    )
    assert lock.check("d", "1.0.0", DIGEST_B) == "version 1.0.0 of d is older than the locked 2.0.0"
    assert lock.check("d", "3.0.0", DIGEST_B) == "version 3.0.0 of d is not recorded in drills.lock"
    assert lock.check("new", "1.0.0", DIGEST_B) == (
        "version 1.0.0 of new is not recorded in drills.lock"
    )


def test_the_lock_file_is_sorted_and_reads_back(tmp_path: Path) -> None:
    lock = DrillLock(path=tmp_path / "drills.lock")
    lock.record("zeta", "1.2.0-rc.1", DIGEST_A)
    lock.record("alpha", "1.0.0", DIGEST_A)
    lock.record("zeta", "1.10.0", DIGEST_B)
    lock.write()

    text = lock.path.read_text()

    assert text.splitlines()[2:] == [
        "lockVersion: 1",
        "drills:",
        "  alpha:",
        f'    "1.0.0": {DIGEST_A}',
        "  zeta:",
        f'    "1.2.0-rc.1": {DIGEST_A}',
        f'    "1.10.0": {DIGEST_B}',
    ]
    assert DrillLock.read(lock.path).versions == lock.versions
    assert not (tmp_path / "drills.lock.tmp").exists()


def test_an_empty_lock_renders_an_empty_mapping(tmp_path: Path) -> None:
    lock = DrillLock(path=tmp_path / "drills.lock")

    assert lock.render().endswith("lockVersion: 1\ndrills: {}\n")
    lock.write()
    assert DrillLock.read(lock.path).versions == {}


def test_a_missing_lock_reads_as_empty(tmp_path: Path) -> None:
    lock = DrillLock.read(tmp_path / "drills.lock")

    assert (lock.exists, lock.versions) == (False, {})


@pytest.mark.parametrize(
    "text",
    ["lockVersion: 2\ndrills: {}\n", "- a\n", "lockVersion: 1\ndrills: [a]\n"],
)
def test_a_file_that_is_not_a_lock_is_refused_with_a_fix(tmp_path: Path, text: str) -> None:
    path = tmp_path / "drills.lock"
    path.write_text(text)

    with pytest.raises(InvalidDocument) as caught:
        DrillLock.read(path)

    assert "not a drills.lock file; expected `lockVersion: 1` and a `drills` mapping" in (
        caught.value.diagnostics()
    )
    assert caught.value.fix == "restore it from version control, or delete it and run `drill lock`"


def test_a_lock_entry_that_is_not_a_digest_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "drills.lock"
    path.write_text('lockVersion: 1\ndrills:\n  d:\n    "1.0.0": md5:abc\n')

    with pytest.raises(InvalidDocument) as caught:
        DrillLock.read(path)

    assert caught.value.diagnostics() == (
        f"{path}:4:5: drills.d.1.0.0: not a digest; expected `sha256:<hex>`"
    )


def test_validate_without_a_lock_says_to_run_drill_lock(repository: DrillRepository) -> None:
    repository.lock_path.unlink(missing_ok=True)

    report = validate(repository, [repository.find_drill("pod-kill-orders")])

    assert [p.render() for p in report.problems] == [
        "drills/pod-kill-orders.yaml:6:3: metadata.version: no drills.lock records released "
        "versions; expected drills/drills.lock (run `drill lock`)"
    ]


def test_a_new_drill_must_be_locked_before_validate_passes(
    locked: DrillRepository,
) -> None:
    source = locked.find_drill("pod-kill-orders")
    copy = locked.drills_dir / "pod-kill-copy.yaml"
    copy.write_text(source.read_text().replace("name: pod-kill-orders", "name: pod-kill-copy"))

    [problem] = validate(locked, []).problems
    assert "version 1.0.0 of pod-kill-copy is not recorded in drills.lock" in problem.message
    assert problem.message.endswith("run `drill lock` to record it")

    assert lock_repository(locked).added[0][:2] == ("pod-kill-copy", "1.0.0")
    assert validate(locked, []).ok


def test_lock_refuses_while_any_drill_is_invalid_and_writes_nothing(
    locked: DrillRepository,
) -> None:
    edit(locked, "pod-kill-orders", "rto: 30s", "rot: 30s")
    before = locked.lock_path.read_bytes()

    with pytest.raises(InvalidDrill) as caught:
        lock_repository(locked)

    assert "spec.objectives.rot: unknown field" in caught.value.diagnostics()
    assert caught.value.fix == "fix these drills before locking"
    assert locked.lock_path.read_bytes() == before


def test_validate_collects_problems_from_every_file(locked: DrillRepository) -> None:
    edit(locked, "pod-kill-orders", "rto: 30s", "rot: 30s")
    probe = locked.root / "probes/orders-ready.yaml"
    probe.write_text(probe.read_text() + "extra: 1\n")

    report = validate(locked, [])

    bad = sorted(f.path for f in report.files if not f.ok)
    assert "drills/pod-kill-orders.yaml" in bad
    assert "probes/orders-ready.yaml" in bad
    assert not report.ok
