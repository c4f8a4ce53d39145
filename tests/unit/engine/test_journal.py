"""The run journal: hash chain, tamper detection, crash tails, resume and concurrency."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drillkit.engine.journal import (
    GENESIS,
    JournalError,
    JournalEvent,
    JournalWriter,
    read_intact_prefix,
    read_journal,
)
from drillkit.errors import DrillError
from drillkit.spec.digest import canonical_json


class SteppingClock:
    """A clock that moves forward 1.25 ms each time it is read: deterministic events."""

    def __init__(self) -> None:
        self._wall = datetime(2026, 11, 23, 19, 55, 1, tzinfo=UTC)
        self._mono = 1000.0

    def wall(self) -> datetime:
        self._wall += timedelta(microseconds=1250)
        return self._wall

    def monotonic(self) -> float:
        self._mono += 0.00125
        return self._mono


def write_journal(path: Path, events: int) -> list[JournalEvent]:
    written = []
    with JournalWriter(path, clock=SteppingClock()) as journal:
        written.append(journal.append("run-started", None, drill="restore-orders", version="1.2.0"))
        for index in range(1, events):
            written.append(
                journal.append(
                    "probe-result",
                    "verify",
                    attempt=index,
                    ok=index % 2 == 0,
                    seconds=0.5 * index,
                    detail={"status": [200, 503][index % 2], "big": 1e21},
                )
            )
    return written


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def journal_error(path: Path) -> str:
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    return caught.value.message


# --- the chain -------------------------------------------------------------------


def test_a_written_journal_reads_back_equal_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    written = write_journal(path, 5)
    read = read_journal(path)
    assert read.events == written
    assert read.partial_tail is None
    assert read.path == path
    assert read.head == written[-1].hash


def test_each_event_chains_from_genesis_through_its_predecessor(tmp_path: Path) -> None:
    events = write_journal(tmp_path / "journal.jsonl", 4)
    assert [event.seq for event in events] == [0, 1, 2, 3]
    assert events[0].prev == GENESIS == "0" * 64
    for before, after in itertools.pairwise(events):
        assert after.prev == before.hash


def test_the_hash_is_the_sha256_of_the_canonical_body(tmp_path: Path) -> None:
    for event in write_journal(tmp_path / "journal.jsonl", 3):
        body = event.body()
        assert list(body) == ["seq", "time", "mono", "type", "step", "data", "prev"]
        assert event.hash == hashlib.sha256(canonical_json(body)).hexdigest()


def test_each_line_is_the_canonical_json_of_body_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    events = write_journal(path, 3)
    for event, line in zip(events, lines_of(path), strict=True):
        assert line == canonical_json({**event.body(), "hash": event.hash}) + b"\n"
        assert event.to_json_line() == line
        assert JournalEvent.from_json(json.loads(line)) == event


def test_events_carry_the_clocks_wall_and_monotonic_time(tmp_path: Path) -> None:
    events = write_journal(tmp_path / "journal.jsonl", 2)
    assert events[0].time == "2026-11-23T19:55:01.001250Z"
    assert events[0].mono == pytest.approx(1000.00125)
    assert events[1].time == "2026-11-23T19:55:01.002500Z"


def test_an_empty_file_is_a_journal_with_no_events(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    read = read_journal(path)
    assert read.events == []
    assert read.partial_tail is None
    assert read.head == GENESIS


def test_a_missing_journal_is_an_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "run" / "journal.jsonl"
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    assert caught.value.message == f"{path}: no journal at this path"
    assert caught.value.fix is not None


# --- tampering ---------------------------------------------------------------------

PRECISE = (
    r"journal\.jsonl: (line {line} is not valid JSON"
    r"|line {line} is not a journal event: .+"
    r"|event {event} has seq \d+, expected {event}"
    r"|event {event} hash does not match its content"
    r"|event {event} is not in canonical form)"
)


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_every_single_byte_flip_is_detected_and_names_its_line(tmp_path: Path, mask: int) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 3)
    original = path.read_bytes()
    line_of_byte = [original[:at].count(b"\n") for at in range(len(original))]
    for at in range(len(original)):
        flipped = bytearray(original)
        flipped[at] ^= mask
        path.write_bytes(bytes(flipped))
        index = line_of_byte[at]
        message = journal_error(path)
        assert re.fullmatch(PRECISE.format(line=index + 1, event=index), message), (at, message)


def test_a_flipped_hash_digit_is_named_as_a_content_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    events = write_journal(path, 4)
    text = path.read_bytes()
    digit = text.index(events[2].hash.encode()) + 10
    tampered = bytearray(text)
    tampered[digit] = ord("0") if tampered[digit] != ord("0") else ord("1")
    path.write_bytes(bytes(tampered))
    assert journal_error(path) == "journal.jsonl: event 2 hash does not match its content"


def test_an_edited_value_is_named_as_a_content_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 4)
    path.write_bytes(path.read_bytes().replace(b'"ok":false', b'"ok":true', 1))
    assert journal_error(path) == "journal.jsonl: event 1 hash does not match its content"


def test_a_broken_brace_is_named_by_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 4)
    lines = lines_of(path)
    lines[2] = lines[2].replace(b"}\n", b"]\n")
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: line 3 is not valid JSON"


def test_swapping_two_lines_is_detected_at_the_first_one_out_of_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 6)
    lines = lines_of(path)
    lines[2], lines[4] = lines[4], lines[2]
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: event 2 has seq 4, expected 2"


def test_deleting_a_middle_line_is_detected_where_the_gap_is(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 6)
    lines = lines_of(path)
    del lines[3]
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: event 3 has seq 4, expected 3"


def test_duplicating_a_line_is_detected_at_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 6)
    lines = lines_of(path)
    lines.insert(3, lines[2])
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: event 3 has seq 2, expected 3"


def test_dropping_the_last_events_is_not_detectable_from_the_file_alone(tmp_path: Path) -> None:
    # What the chain cannot see, the signed digest of the whole file in the
    # evidence bundle does: this test pins the boundary of the chain's promise.
    path = tmp_path / "journal.jsonl"
    write_journal(path, 6)
    path.write_bytes(b"".join(lines_of(path)[:4]))
    assert len(read_journal(path).events) == 4


def test_an_event_spliced_from_another_run_does_not_chain(tmp_path: Path) -> None:
    path, other = tmp_path / "journal.jsonl", tmp_path / "other.jsonl"
    write_journal(path, 6)
    with JournalWriter(other) as journal:
        for index in range(6):
            journal.append("forged", None, index=index)
    lines = lines_of(path)
    lines[4] = lines_of(other)[4]
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: event 4 hash does not chain to event 3"


def test_a_first_event_that_does_not_start_from_genesis_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    body: dict[str, Any] = {
        "seq": 0,
        "time": "2026-11-23T19:55:01.000000Z",
        "mono": 1.0,
        "type": "run-started",
        "step": None,
        "data": {},
        "prev": "1" * 64,
    }
    event = JournalEvent(**body, hash=hashlib.sha256(canonical_json(body)).hexdigest())
    path.write_bytes(event.to_json_line())
    assert journal_error(path) == (
        "journal.jsonl: event 0 does not start the chain: its prev is not the genesis"
    )


def test_a_rewritten_line_with_the_same_content_is_not_in_canonical_form(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 3)
    lines = lines_of(path)
    lines[1] = json.dumps(json.loads(lines[1])).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    assert journal_error(path) == "journal.jsonl: event 1 is not in canonical form"


def test_a_line_missing_a_field_is_not_a_journal_event(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"data":{},"seq":0}\n')
    assert journal_error(path) == (
        "journal.jsonl: line 1 is not a journal event: missing time, mono, type, step, prev, hash"
    )


def test_not_a_number_is_not_valid_json_in_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 2)
    path.write_bytes(path.read_bytes().replace(b'"seconds":0.5', b'"seconds":NaN'))
    assert journal_error(path) == "journal.jsonl: line 2 is not valid JSON"


def test_corruption_errors_tell_the_user_what_it_means(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 3)
    path.write_bytes(b"".join(reversed(lines_of(path))))
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    assert isinstance(caught.value, DrillError)
    assert "cannot be trusted" in caught.value.diagnostics()


def test_reading_without_verify_returns_a_broken_chain_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 4)
    path.write_bytes(b"".join(reversed(lines_of(path))))
    assert [event.seq for event in read_journal(path, verify=False).events] == [3, 2, 1, 0]


# --- crash tails and resume ----------------------------------------------------------


def test_a_partial_last_line_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    events = write_journal(path, 4)
    lines = lines_of(path)
    torn = lines[3][: len(lines[3]) // 2]
    path.write_bytes(b"".join(lines[:3]) + torn)
    read = read_journal(path)
    assert read.events == events[:3]
    assert read.partial_tail == torn
    assert read.head == events[2].hash


def test_a_last_line_missing_only_its_newline_is_a_partial_tail(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 3)
    lines = lines_of(path)
    path.write_bytes(b"".join(lines)[:-1])
    read = read_journal(path)
    assert len(read.events) == 2
    assert read.partial_tail == lines[2][:-1]


def test_bytes_after_a_complete_last_event_are_corruption_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 3)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    assert journal_error(path) == "journal.jsonl: line 3 is not valid JSON"


def test_a_last_line_no_writer_could_have_started_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 2)
    path.write_bytes(path.read_bytes() + b"hello")
    assert journal_error(path) == "journal.jsonl: line 3 is not valid JSON"


def test_resume_cuts_a_partial_line_and_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    events = write_journal(path, 4)
    lines = lines_of(path)
    torn = lines[3][:40]
    path.write_bytes(b"".join(lines[:3]) + torn)

    writer, removed = JournalWriter.resume(path, clock=SteppingClock())
    with writer:
        assert removed == torn
        assert writer.count == 3
        assert writer.head == events[2].hash
        recovered = writer.append("journal-tail-discarded", None, bytes=len(removed))
    assert recovered.seq == 3
    assert recovered.prev == events[2].hash
    read = read_journal(path)
    assert read.partial_tail is None
    assert read.events == [*events[:3], recovered]


def test_resume_of_a_clean_journal_removes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    events = write_journal(path, 3)
    writer, removed = JournalWriter.resume(path)
    with writer:
        writer.append("run-resumed")
    assert removed is None
    assert read_journal(path).events[:3] == events
    assert len(read_journal(path).events) == 4


def test_resume_refuses_a_corrupt_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 4)
    lines = lines_of(path)
    del lines[1]
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match="event 1 has seq 2, expected 1"):
        JournalWriter.resume(path)


CHILD = """
import sys
from pathlib import Path
from drillkit.engine.journal import JournalWriter

with JournalWriter(Path(sys.argv[1])) as journal:
    print("ready", flush=True)
    for index in range(200_000):
        size = 40 * (index % 7) + (65_536 if index % 50 == 0 else 0)
        journal.append("probe-result", "verify", attempt=index, ok=True, body="x" * size)
"""


@pytest.mark.slow
def test_a_writer_killed_at_random_moments_leaves_a_chain_and_at_most_a_partial_line(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261123)
    for trial in range(10):
        path = tmp_path / f"trial-{trial}" / "journal.jsonl"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        ready = child.stdout.readline()
        assert ready == b"ready\n", child.stderr.read().decode()
        threading.Event().wait(rng.uniform(0.0, 0.08))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == -signal.SIGKILL, "the writer finished before it was killed"

        read = read_journal(path)  # raises if the chain is broken
        assert [event.seq for event in read.events] == list(range(len(read.events)))
        if read.partial_tail is not None:
            assert b"\n" not in read.partial_tail
            assert read.partial_tail.startswith(b'{"data":'[: len(read.partial_tail)])

        writer, removed = JournalWriter.resume(path)
        with writer:
            writer.append("run-recovered", None, discarded=len(removed or b""))
        healed = read_journal(path)
        assert healed.partial_tail is None
        assert len(healed.events) == len(read.events) + 1


# --- writing -------------------------------------------------------------------------


def test_appends_from_eight_threads_form_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    threads, per_thread = 8, 150
    start = threading.Barrier(threads)
    returned: list[list[JournalEvent]] = [[] for _ in range(threads)]

    with JournalWriter(path) as journal:

        def work(worker: int) -> None:
            start.wait()
            for index in range(per_thread):
                returned[worker].append(journal.append("sample", f"w{worker}", index=index))

        pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert journal.count == threads * per_thread

    read = read_journal(path)
    assert [event.seq for event in read.events] == list(range(threads * per_thread))
    all_returned = sorted((event for events in returned for event in events), key=lambda e: e.seq)
    assert all_returned == read.events
    for worker in range(threads):
        own = [event.data["index"] for event in read.events if event.step == f"w{worker}"]
        assert own == list(range(per_thread))


def test_the_writer_tracks_count_head_and_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "run" / "journal.jsonl"
    with JournalWriter(path) as journal:
        assert (journal.count, journal.head, journal.path) == (0, GENESIS, path)
        event = journal.append("run-started")
        assert (journal.count, journal.head) == (1, event.hash)
    assert path.is_file()


def test_an_fsync_writer_writes_the_same_kind_of_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path, fsync=True) as journal:
        for index in range(5):
            journal.append("sample", None, index=index)
    assert len(read_journal(path).events) == 5


def test_a_journal_under_a_file_is_not_writable_and_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    path = tmp_path / "afile" / "journal.jsonl"
    with pytest.raises(DrillError) as caught:
        JournalWriter(path)
    assert caught.value.message == (
        f"the journal {path} is not writable: {tmp_path / 'afile'} is a file, not a folder"
    )
    assert caught.value.fix is not None and "--output DIR" in caught.value.fix


def test_a_new_writer_refuses_to_overwrite_an_existing_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, 2)
    before = path.read_bytes()
    with pytest.raises(DrillError, match="already holds a journal"):
        JournalWriter(path)
    assert path.read_bytes() == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_stops_the_writer_with_a_drill_error() -> None:
    journal = JournalWriter(Path("/dev/full"))
    with journal:
        with pytest.raises(DrillError) as caught:
            journal.append("run-started")
        assert (
            caught.value.message == "cannot write to the journal /dev/full: No space left on device"
        )
        with pytest.raises(DrillError, match="No space left"):
            journal.append("run-ended")
        assert journal.count == 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_tolerating_failures_drops_cleanup_events_but_never_a_write_ahead_record() -> None:
    journal = JournalWriter(Path("/dev/full"))
    with journal:
        with pytest.raises(DrillError):
            journal.append("fault-applied")
        journal.tolerate_failures()  # cleanup: undo must go on
        dropped = journal.append("fault-reverted", "lose-zone-a", faultId="f1")
        assert dropped.type == "fault-reverted" and len(dropped.hash) == 64
        assert journal.dropped == 1 and journal.count == 0
        assert journal.failure is not None and "No space left" in journal.failure.message
        # A fault must never be applied without its undo record on disk.
        with pytest.raises(DrillError, match="No space left"):
            journal.append("fault-undo-planned", "lose-zone-b", faultId="f2")
        assert journal.dropped == 1


def test_the_intact_prefix_of_a_damaged_journal_ends_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as journal:
        for number in range(6):
            journal.append("step", None, number=number)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"number":3', b'"number":9')
    path.write_bytes(b"".join(lines))

    events, problem = read_intact_prefix(path)

    assert [e.data["number"] for e in events] == [0, 1, 2]
    assert problem is not None and problem.message.endswith(
        "event 3 hash does not match its content"
    )


def test_a_closed_writer_refuses_events(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal.jsonl")
    journal.close()
    journal.close()
    with pytest.raises(ValueError, match="is closed"):
        journal.append("late")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "when is a datetime"),
        ({"pods": {"a", "b"}}, "pods is a set"),
        ({"pair": (1, 2)}, "pair is a tuple"),
        ({"raw": b"bytes"}, "raw is a bytes"),
        ({"rto": math.nan}, "rto is nan, not a finite number"),
        ({"samples": [1.0, math.inf]}, "samples[1] is inf, not a finite number"),
        ({"offset": 2**53}, "offset is 9007199254740992, beyond ±(2^53-1)"),
        ({"by_zone": {1: "a"}}, "by_zone has a int key 1"),
        ({"nested": {"pods": [{"path": Path("/x")}]}}, "nested['pods'][0]['path'] is a PosixPath"),
        ({"name": "\ud800"}, "name holds a lone surrogate"),
    ],
)
def test_data_that_is_not_json_is_a_type_error_naming_the_key(
    tmp_path: Path, data: dict[str, Any], named: str
) -> None:
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        with pytest.raises(TypeError, match=re.escape(named)):
            journal.append("sample", None, **data)
        assert journal.count == 0


def test_the_event_keeps_its_own_copy_of_the_data(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    pods = ["orders-1"]
    with JournalWriter(path) as journal:
        event = journal.append("impact", "kill", pods=pods)
    pods.append("orders-2")
    assert event.data == {"pods": ["orders-1"]}
    assert read_journal(path).events == [event]


def test_large_floats_written_as_integer_literals_read_back_as_the_same_floats(
    tmp_path: Path,
) -> None:
    # RFC 8785 writes 1e20 as 100000000000000000000: read naively, that is an
    # int beyond 2^53 that would no longer canonicalise, and the chain would break.
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as journal:
        event = journal.append("sample", None, big=1e20, edge=2.0**53, safe=2**53 - 1)
    assert b'"big":100000000000000000000' in path.read_bytes()
    assert read_journal(path).events == [event]


def test_from_json_names_what_is_missing_or_unexpected() -> None:
    with pytest.raises(ValueError, match=r"^missing hash$"):
        JournalEvent.from_json(
            {"seq": 0, "time": "", "mono": 0, "type": "x", "step": None, "data": {}, "prev": ""}
        )
    line = {
        "seq": 0,
        "time": "2026-11-23T19:55:01.000000Z",
        "mono": 0,
        "type": "x",
        "step": None,
        "data": {},
        "prev": GENESIS,
        "hash": GENESIS,
        "extra": 1,
    }
    with pytest.raises(ValueError, match=r"^unexpected extra$"):
        JournalEvent.from_json(line)
    del line["extra"]
    line["time"] = "2026-11-23 19:55:01"
    with pytest.raises(ValueError, match="time is not an RFC 3339 UTC timestamp"):
        JournalEvent.from_json(line)


# --- property -----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
EVENTS = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=12),
        st.none() | st.text(max_size=12),
        st.dictionaries(
            st.text(max_size=8).filter(lambda key: key not in {"self", "type", "step"}),
            JSON_VALUES,
            max_size=5,
        ),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(EVENTS)
def test_any_events_with_any_json_data_round_trip_and_verify(
    events: list[tuple[str, str | None, dict[str, Any]]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.jsonl"
        with JournalWriter(path) as journal:
            written = [journal.append(kind, step, **data) for kind, step, data in events]
        read = read_journal(path)
        assert read.events == written
        assert read.partial_tail is None
        assert path.read_bytes() == b"".join(event.to_json_line() for event in read.events)
        for event in read.events:
            assert event.hash == hashlib.sha256(canonical_json(event.body())).hexdigest()


@given(
    sampler=st.text(max_size=20),
    ok=st.booleans(),
    at=st.floats(allow_nan=False, allow_infinity=False),
    latency=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    summary=st.text(max_size=60),
)
@settings(max_examples=300, deadline=None)
def test_a_sample_written_by_the_fast_path_is_the_line_append_writes(
    sampler: str, ok: bool, at: float, latency: float | None, summary: str
) -> None:
    folder = Path(tempfile.mkdtemp())
    with JournalWriter(folder / "fast.jsonl", clock=SteppingClock()) as fast:
        fast.append_sample(sampler, ok, at, latency, summary)
    with JournalWriter(folder / "general.jsonl", clock=SteppingClock()) as general:
        general.append(
            "sample", None, sampler=sampler, ok=ok, at=at, latencyMs=latency, summary=summary
        )
    assert (folder / "fast.jsonl").read_bytes() == (folder / "general.jsonl").read_bytes()
    assert read_journal(folder / "fast.jsonl").events[0].data["sampler"] == sampler


@given(
    seq=st.integers(0, 2**40),
    mono=st.floats(allow_nan=False, allow_infinity=False),
    kind=st.text(min_size=1, max_size=20),
    step=st.none() | st.text(max_size=20),
)
@settings(max_examples=300, deadline=None)
def test_the_written_out_envelope_is_the_canonical_one(
    seq: int, mono: float, kind: str, step: str | None
) -> None:
    from drillkit.engine.journal_lines import _rest_piece, _rest_piece_reference

    time, prev = "2026-11-24T02:50:01.123456Z", "ab" * 32
    try:
        expected = _rest_piece_reference(seq, time, mono, kind, step, prev)
    except DrillError:  # a lone surrogate has no canonical form: both refuse it
        with pytest.raises(DrillError):
            _rest_piece(seq, time, mono, kind, step, prev)
        return
    assert _rest_piece(seq, time, mono, kind, step, prev) == expected
