"""A real `drill run` process, really signalled and really killed; undo and recover checked outside.

The test provider keeps its state in a world file, so what is still applied is
read from disk after the process is gone, not from anything the process says.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from drillkit.engine.journal import read_journal
from tests.support.lab import TARGET, Lab, hold_zone_steps

HOLD = hold_zone_steps("30s")


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.1)
    lab.add_drill("hold-zone", HOLD)
    return lab


def journal_of(lab: Lab) -> Path:
    runs = lab.runs("hold-zone")
    assert runs, "the run folder was not created"
    return runs[-1] / "journal.jsonl"


def wait_for_event(
    lab: Lab, event_type: str, process: subprocess.Popen[str], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = lab.runs("hold-zone")
        if runs and (runs[-1] / "journal.jsonl").exists():
            events = read_journal(runs[-1] / "journal.jsonl", verify=False).events
            if any(e.type == event_type for e in events):
                return
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"drill exited early ({process.returncode}):\n{out}\n{err}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no {event_type} event within {timeout}s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_run_undoes_every_fault_before_exiting(lab: Lab, signum: int) -> None:
    process = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "fault-applied", process)
    assert lab.world["applied"], "the fault should be applied while the run holds it"
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1, out + err
    assert lab.world["applied"] == {}
    events = read_journal(journal_of(lab)).events
    types = [e.type for e in events]
    assert "fault-reverted" in types
    assert types[-1] == "run-ended"
    assert events[-1].data["verdict"] == "aborted"
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT (Ctrl-C)"
    assert f"{name} received: stopping the current step and undoing every applied fault" in out
    assert "undone: lose-zone-a/zone-outage" in out
    assert "Verdict: ABORTED" in out
    assert "Traceback" not in err


def test_a_second_ctrl_c_during_undo_lists_what_is_pending_and_does_not_skip_it(lab: Lab) -> None:
    lab.set_config(revertSeconds=1.5)
    process = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "fault-applied", process)
    process.send_signal(signal.SIGINT)
    wait_for_event(lab, "fault-reverting", process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert (
        "SIGINT (Ctrl-C) again: undo is not skipped. Still pending: lose-zone-a/zone-outage" in out
    )
    assert process.returncode == 1, out + err
    assert lab.world["applied"] == {}


def test_kill_9_then_recover_undoes_what_the_journal_says_is_applied(lab: Lab) -> None:
    process = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "fault-applied", process)
    process.kill()
    process.wait(10)
    assert list(lab.world["applied"]) == ["zone-outage:zone-a"]
    run_id = journal_of(lab).parent.name

    recovered = lab.drill("recover", run_id)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "undone: lose-zone-a/zone-outage" in recovered.stdout
    assert "recovered: 1 fault(s) undone" in recovered.stdout
    assert lab.world["applied"] == {}
    events = read_journal(journal_of(lab)).events  # the chain still verifies end to end
    assert [e.type for e in events][-4:] == [
        "fault-reverting",
        "fault-reverted",
        "lock-released",  # the dead run's lock, taken back for the undo and given up
        "recovery-ended",
    ]

    again = lab.drill("recover", run_id)
    assert again.returncode == 0
    assert "nothing to undo: every fault of this run is already reverted" in again.stdout


def test_recover_by_target_finds_the_newest_unfinished_run(lab: Lab) -> None:
    process = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "fault-applied", process)
    process.kill()
    process.wait(10)
    result = lab.drill("recover", "--target", TARGET)
    assert result.returncode == 0, result.stderr
    assert f"recovering {journal_of(lab).parent}" in result.stdout
    assert lab.world["applied"] == {}


def test_recover_repairs_a_torn_last_line_and_keeps_the_chain(lab: Lab) -> None:
    process = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "fault-applied", process)
    process.kill()
    process.wait(10)
    with journal_of(lab).open("ab") as handle:
        handle.write(b'{"data":{"half')  # what a kill in the middle of a write leaves
    result = lab.drill("recover", journal_of(lab).parent.name)
    assert result.returncode == 0, result.stderr
    assert "removed a torn last line (14 bytes)" in result.stdout
    journal = read_journal(journal_of(lab))
    assert journal.partial_tail is None
    assert any(e.type == "journal-repaired" for e in journal.events)
    assert lab.world["applied"] == {}


def test_a_second_drill_on_the_same_target_is_refused_and_told_who_holds_it(lab: Lab) -> None:
    first = lab.start("run", "hold-zone", "-t", TARGET)
    wait_for_event(lab, "lock-acquired", first)
    second = lab.drill("run", "hold-zone", "-t", TARGET)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"target `{TARGET}` is locked by another drill run (runId " in second.stdout
    assert "of drill hold-zone" in second.stdout
    assert "Verdict: REFUSED" in second.stdout
    assert lab.world["applied"] == {}


def test_recover_with_nothing_to_recover_says_so(lab: Lab) -> None:
    result = lab.drill("recover", "--target", TARGET)
    assert result.returncode == 2
    assert f"error: no unfinished run on target `{TARGET}`" in result.stderr


def test_a_drill_run_prints_plain_lines_in_ci_and_ends_with_the_verdict(lab: Lab) -> None:
    lab.add_drill("quick", HOLD.replace("30s", "200ms"))
    result = lab.drill("run", "quick", "-t", TARGET)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.endswith("phase preflight") for line in lines)
    assert any("step 1/3 lose-zone-a (fault): take zone a out (mode auto)" in ln for ln in lines)
    assert "\x1b[" not in result.stdout  # no colour codes in a log
    assert lines[-1] == "Verdict: PASSED"
    assert any(line.startswith("Evidence: reports/quick/") for line in lines)
    assert any(line.startswith("Verify:   drill verify reports/quick/") for line in lines)


def test_an_output_folder_that_cannot_be_written_is_a_clear_error_and_nothing_changes(
    lab: Lab,
) -> None:
    blocker = lab.root / "not-a-folder"
    blocker.write_text("a file")
    result = lab.drill("run", "hold-zone", "-t", TARGET, "--output", str(blocker / "evidence"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot create the run folder ")
    assert "fix: pass --output DIR with a writable folder (nothing was changed)" in result.stderr
    assert "Traceback" not in result.stderr
    assert lab.world["applied"] == {} and lab.world["calls"] == []


def test_drill_journal_verifies_the_chain_and_names_the_first_broken_event(lab: Lab) -> None:
    lab.add_drill("quick", HOLD.replace("30s", "100ms"))
    assert lab.drill("run", "quick", "-t", TARGET).returncode == 0
    run_dir = lab.runs("quick")[-1]
    ok = lab.drill("journal", run_dir.name, "--events")
    assert ok.returncode == 0, ok.stderr
    assert "hash chain verified" in ok.stdout and "verdict passed" in ok.stdout
    assert " run-started" in ok.stdout and " fault-reverted [lose-zone-a]" in ok.stdout
    lines = (run_dir / "journal.jsonl").read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b'"phase"', b'"phasE"')
    (run_dir / "journal.jsonl").write_bytes(b"".join(lines))
    broken = lab.drill("journal", str(run_dir))
    assert broken.returncode == 1
    assert "journal.jsonl: event 5 hash does not match its content" in broken.stderr
