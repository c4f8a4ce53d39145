"""Bundle files: what counts, how it is named and hashed, and what is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from drillkit.evidence.bundle import (
    ATTESTATION,
    BundleError,
    check_name,
    definition_digest,
    hash_files,
    list_files,
    sha256_member,
    write_atomically,
)
from tests.support.evidence_bundle import DRILL_DIGEST


def test_files_are_listed_sorted_as_posix_names_without_the_attestation(run_dir: Path) -> None:
    (run_dir / ATTESTATION).write_text("{}")
    (run_dir / "samples" / "deep").mkdir()
    (run_dir / "samples" / "deep" / "x.jsonl").write_text("")
    (run_dir / "samples" / ATTESTATION).write_text("")  # only the top-level one is special
    assert list_files(run_dir) == [
        "drill.yaml",
        "journal.jsonl",
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
        f"samples/{ATTESTATION}",
        "samples/deep/x.jsonl",
        "samples/rpo-canary.jsonl",
        "samples/rto.jsonl",
    ]


def test_a_file_larger_than_a_chunk_hashes_like_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "big.bin").write_bytes(data)
    assert hash_files(tmp_path, ["big.bin"])[0].sha256 == hashlib.sha256(data).hexdigest()


def test_a_symlinked_file_or_folder_is_refused_when_listing(run_dir: Path, tmp_path: Path) -> None:
    (run_dir / "linked").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(BundleError, match=r"^linked: is a symbolic link"):
        list_files(run_dir)


def test_a_fifo_is_refused_when_listing(run_dir: Path) -> None:
    os.mkfifo(run_dir / "samples" / "pipe")
    with pytest.raises(BundleError, match="samples/pipe: is not a regular file or folder"):
        list_files(run_dir)


@pytest.mark.parametrize(
    "name",
    ["../x", "/etc/passwd", "a/../b", "./a", "a//b", "a/", "", "a\\b", "samples/./rto.jsonl"],
)
def test_names_that_could_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(BundleError, match="not a relative path inside the bundle"):
        check_name(name)


def test_a_name_through_a_symlinked_folder_is_refused_when_hashing(
    run_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "rto.jsonl").write_text("{}")
    (run_dir / "via").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BundleError, match=r"is a symbolic link \(via\)"):
        sha256_member(run_dir, "via/rto.jsonl")


def test_a_folder_named_as_a_file_is_not_a_regular_file(run_dir: Path) -> None:
    with pytest.raises(BundleError, match="samples: is not a regular file"):
        sha256_member(run_dir, "samples")


def test_the_definition_digest_comes_from_the_header_line(run_dir: Path) -> None:
    assert definition_digest(run_dir) == DRILL_DIGEST
    (run_dir / "drill.yaml").unlink()
    with pytest.raises(BundleError, match=r"drill\.yaml: no such file"):
        definition_digest(run_dir)


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_an_atomic_write_into_a_missing_folder_is_a_drill_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot write"):
        write_atomically(tmp_path / "missing" / "out.json", b"x")
