"""Local faults while a drill runs: nothing left applied, and a clear error every time.

Runs a real `drill run` process against the file-backed test provider (its
world file says what is applied on the "platform", read from disk after the
process is gone): a reports folder that cannot be written, a disk that fills
up in the middle of the run (a file-size limit on the process, so the journal's
next write fails with EFBIG, as ENOSPC would), a signing key that does not
exist, a journal corrupted before `drill recover`, and the wall clock jumping an
hour during a run (in-process, with a clock that jumps: RTO is measured on the
monotonic clock, so it must not move).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from tests.reliability.figures import tally
from tests.support.lab import TARGET, Lab, hold_zone_steps

HOLD = hold_zone_steps("1s")


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.1)
    lab.add_drill("hold-zone", HOLD)
    return lab


def no_traceback(result: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in result.stderr and "internal error" not in result.stderr


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[str]:
    """A folder that cannot be written: by its mode, or (for root, whom modes do not stop)
    a read-only tmpfs mounted on it; names which was used."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield "mode 0555"
        finally:
            path.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:  # no mount here: a file where the folder should be
        path.rmdir()
        path.write_text("not a folder")
        yield "a file in its place"
        return
    try:
        yield "read-only tmpfs"
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_a_read_only_reports_folder_is_a_clear_error_and_nothing_changes(lab: Lab) -> None:
    with read_only_folder(lab.root / "evidence") as how:
        result = lab.drill("run", "hold-zone", "-t", TARGET, "--output", str(lab.root / "evidence"))
    ok = result.returncode != 0 and no_traceback(result) and lab.world["applied"] == {}
    tally("local faults").record(ok, left=len(lab.world["applied"]))
    tally("local faults").notes.append(
        f"read-only reports folder ({how}): exit {result.returncode}"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: cannot create the run folder" in result.stderr
    assert no_traceback(result), result.stderr
    assert lab.world["applied"] == {} and lab.world["calls"] == []


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_disk_that_fills_up_mid_run_aborts_cleanly_and_undoes_the_fault(lab: Lab) -> None:
    # A reference run says how big the journal is when the fault has been applied; the limit
    # lets the run get there, then a later write fails (EFBIG here, ENOSPC on a full disk).
    lab.add_drill("hold-zone", HOLD.replace("1s", "5s"))
    reference = lab.drill("run", "hold-zone", "-t", TARGET, "--no-sign")
    assert reference.returncode == 0, reference.stderr
    written = read_journal(lab.runs("hold-zone")[-1] / "journal.jsonl").events
    applied_at = next(i for i, e in enumerate(written) if e.type == "fault-applied")
    raw_lines = (lab.runs("hold-zone")[-1] / "journal.jsonl").read_bytes().splitlines(True)
    limit = sum(len(line) for line in raw_lines[: applied_at + 3])
    process = subprocess.run(
        [sys.executable, "-m", "drillkit", "run", "hold-zone", "-t", TARGET],
        cwd=lab.root,
        env=lab.env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: _limit_file_size(limit),
        check=False,
    )
    journal = lab.runs("hold-zone")[-1] / "journal.jsonl"
    events = read_journal(journal, verify=False).events
    applied = any(e.type == "fault-applied" for e in events)
    left = lab.world["applied"]
    ok = process.returncode != 0 and no_traceback(process) and left == {}
    tally("local faults").record(ok, survived=1 if applied and not left else 0, left=len(left))
    tally("local faults").notes.append(
        f"disk full after {journal.stat().st_size} journal bytes: exit {process.returncode}, "
        f"fault applied before: {applied}"
    )
    assert process.returncode != 0
    assert no_traceback(process), process.stderr
    assert "journal" in process.stderr.lower(), process.stderr
    assert left == {}, (left, process.stderr)


def test_a_missing_signing_key_is_refused_before_anything_changes(lab: Lab) -> None:
    result = lab.drill("run", "hold-zone", "-t", TARGET, "--signing-key", "keys/gone.key")
    ok = result.returncode == 2 and no_traceback(result) and lab.world["calls"] == []
    tally("local faults").record(ok)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "keys/gone.key" in result.stderr and "fix:" in result.stderr
    assert no_traceback(result)
    assert lab.world["applied"] == {} and lab.world["calls"] == []


def test_a_corrupt_journal_is_named_by_recover_and_the_fault_is_still_undone(lab: Lab) -> None:
    lab.add_drill("hold-zone", HOLD.replace("1s", "30s"))
    process = lab.start("run", "hold-zone", "-t", TARGET)
    deadline = time.monotonic() + 60
    journal: Path | None = None
    while time.monotonic() < deadline:
        runs = lab.runs("hold-zone")
        journal = runs[-1] / "journal.jsonl" if runs else None
        if (
            journal
            and journal.exists()
            and any(e.type == "fault-applied" for e in read_journal(journal, verify=False).events)
        ):
            break
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=30)
    assert journal is not None and lab.world["applied"], "the fault was never applied"
    # Corrupt an event in the middle (after the undo record): the chain no longer verifies.
    lines = journal.read_bytes().splitlines(keepends=True)
    index = len(lines) - 1
    lines[index] = lines[index].replace(b'"', b"'", 1)
    journal.write_bytes(b"".join(lines))

    recovered = lab.drill("recover", journal.parent.name)
    left = lab.world["applied"]
    ok = recovered.returncode == 1 and no_traceback(recovered) and left == {}
    tally("local faults").record(ok, survived=1 if not left else 0, left=len(left))
    tally("local faults").notes.append(
        f"corrupt journal: recover exit {recovered.returncode}, "
        f"said {recovered.stderr.strip().splitlines()[0] if recovered.stderr.strip() else recovered.stdout.strip().splitlines()[-1]!r}"
    )
    assert no_traceback(recovered), recovered.stderr
    assert left == {}, recovered.stdout + recovered.stderr
    assert recovered.returncode == 1  # undone, but the record is damaged: not a clean exit
    assert "error: the run's journal is damaged (journal.jsonl: line" in recovered.stderr
    assert "undone: lose-zone-a/zone-outage" in recovered.stdout
    assert lines[index] in journal.read_bytes()  # the damaged journal is left as found
    recovery = read_journal(journal.parent / "recovery.jsonl").events
    assert next(e.type for e in recovery) == "recovery-started"
    assert recovery[0].data["damagedJournal"]["intactEvents"] == index
    assert "fault-reverted" in [e.type for e in recovery]
    again = lab.drill("recover", journal.parent.name)  # safe to repeat
    assert "nothing to undo" in again.stdout and lab.world["applied"] == {}


def test_the_wall_clock_jumping_an_hour_does_not_move_the_rto(tmp_path: Path) -> None:
    from tests.reliability.clock_jump import rto_with_wall_clock_jump

    steady, jumped = rto_with_wall_clock_jump(tmp_path, jump=timedelta(hours=1))
    ok = steady is not None and jumped is not None and abs(jumped - steady) < 1.0
    tally("local faults").record(ok)
    tally("local faults").notes.append(f"wall clock +1h mid-run: RTO {steady} s vs {jumped} s")
    assert steady is not None and jumped is not None
    assert abs(jumped - steady) < 1.0
