"""What the run journal costs per event, side by side with a bare JSON line write.

Appends N events with realistic data (probe results, provider calls, step
boundaries) through ``JournalWriter`` and through the simplest thing that
could work, ``json.dumps`` + ``os.write`` on an ``O_APPEND`` file, then prints
microseconds per event and events per second for: append without fsync,
append with fsync, and read + verify of the whole chain, with the ratio
against the bare version. The difference is the price of RFC 8785 canonical
JSON and the sha256 chain, which is what lets an auditor detect an edit.

fsync is measured over fewer events (``--fsync-events``): its cost is the
disk's, and on tmpfs it is nearly free, so the folder's filesystem is printed.

Usage: python benchmarks/journal_overhead.py [--events N] [--fsync-events N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from figures import record

from drillkit.engine.clock import SystemClock, rfc3339
from drillkit.engine.journal import JournalWriter, read_journal

Event = tuple[str, str | None, dict[str, Any]]


def realistic_events(count: int) -> Iterator[Event]:
    """The mix a sandbox run writes: mostly probe samples, some provider calls and steps."""
    for index in range(count):
        kind = index % 10
        if kind < 7:
            yield (
                "probe-result",
                "verify-orders",
                {
                    "sampler": "orders-http",
                    "attempt": index,
                    "ok": index % 13 != 0,
                    "status": 200 if index % 13 else 503,
                    "seconds": 0.0123 + (index % 17) / 1000,
                    "url": "https://orders.sandbox.drillkit.local/healthz",
                    "detail": None if index % 13 else "upstream connect error",
                },
            )
        elif kind < 9:
            yield (
                "provider-call",
                "kill-orders-pod",
                {
                    "call": "delete_namespaced_pod",
                    "args": {"namespace": "orders", "name": f"orders-{index % 5}", "grace": 0},
                    "attempt": 1,
                    "seconds": 0.004,
                    "ok": True,
                },
            )
        else:
            yield (
                "step-ended",
                "restore-from-backup",
                {"index": 3, "kind": "restore", "status": "passed", "seconds": 12.5},
            )


def time_journal(path: Path, events: list[Event], *, fsync: bool) -> float:
    started = time.perf_counter()
    with JournalWriter(path, fsync=fsync) as journal:
        for kind, step, data in events:
            journal.append(kind, step, **data)
    return time.perf_counter() - started


def time_bare(path: Path, events: list[Event], *, fsync: bool) -> float:
    """The baseline: one json.dumps line per event, no canonical form, no hash."""
    clock = SystemClock()
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for seq, (kind, step, data) in enumerate(events):
            record = {
                "seq": seq,
                "time": rfc3339(clock.wall()),
                "mono": clock.monotonic(),
                "type": kind,
                "step": step,
                "data": data,
            }
            os.write(fd, json.dumps(record).encode() + b"\n")
            if fsync:
                os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def time_read(path: Path, reader: Callable[[Path], int]) -> float:
    started = time.perf_counter()
    reader(path)
    return time.perf_counter() - started


def read_bare(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if json.loads(line))


def read_verified(path: Path) -> int:
    return len(read_journal(path).events)


def filesystem_of(folder: Path) -> str:
    """The filesystem type holding ``folder`` (Linux), since it decides what fsync costs."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    resolved = str(folder.resolve())
    for mount in mounts:
        parts = mount.split()
        if len(parts) >= 3 and resolved.startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return f"{kind} (mounted at {best})"


def row(label: str, seconds: float, count: int, bare: float | None) -> str:
    per_event = seconds / count * 1e6
    rate = count / seconds
    ratio = f"{seconds / bare:6.1f}x" if bare else "      "
    return f"  {label:<28} {per_event:10.1f} µs {rate:12,.0f} ev/s   {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per measurement")
    parser.add_argument("--fsync-events", type=int, default=2_000, help="events for fsync rows")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the temporary files")
    args = parser.parse_args()

    events = list(realistic_events(args.events))
    fsync_events = events[: args.fsync_events]
    with tempfile.TemporaryDirectory(prefix="drillkit-journal-", dir=args.dir) as scratch:
        folder = Path(scratch)
        print(f"date      {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC")
        print(f"machine   {platform.machine()}, {os.cpu_count()} cores, {platform.system()}")
        print(f"python    {sys.version.split()[0]}")
        print(f"folder    {filesystem_of(folder)}")
        print(f"events    {len(events):,} (fsync rows: {len(fsync_events):,})\n")

        journal_plain = time_journal(folder / "journal.jsonl", events, fsync=False)
        bare_plain = time_bare(folder / "bare.jsonl", events, fsync=False)
        journal_fsync = time_journal(folder / "journal-fsync.jsonl", fsync_events, fsync=True)
        bare_fsync = time_bare(folder / "bare-fsync.jsonl", fsync_events, fsync=True)
        journal_read = time_read(folder / "journal.jsonl", read_verified)
        bare_read = time_read(folder / "bare.jsonl", read_bare)
        size = (folder / "journal.jsonl").stat().st_size

        print(f"  {'':<28} {'per event':>13} {'rate':>17}   vs bare")
        print(row("bare json.dumps + os.write", bare_plain, len(events), None))
        print(row("journal append", journal_plain, len(events), bare_plain))
        print(row("bare write + fsync", bare_fsync, len(fsync_events), None))
        print(row("journal append + fsync", journal_fsync, len(fsync_events), bare_fsync))
        print(row("bare json.loads per line", bare_read, len(events), None))
        print(row("journal read + verify", journal_read, len(events), bare_read))
        print(f"\n  journal size {size / 1e6:.1f} MB, {size / len(events):.0f} bytes per event")
        record(
            "journal",
            "append per event",
            journal_plain / len(events) * 1e6,
            "µs",
            versus="json.dumps + os.write",
            ratio=journal_plain / bare_plain,
        )
        record(
            "journal",
            "read + verify per event",
            journal_read / len(events) * 1e6,
            "µs",
            versus="json.loads per line",
            ratio=journal_read / bare_read,
        )


if __name__ == "__main__":
    main()
