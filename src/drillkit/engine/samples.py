"""Raw probe samples as files, one JSON line per sample: ``samples/<sampler>.jsonl``.

Auditors and plotting tools want the raw series without parsing the whole
journal. The files are derived from the journal after the run (the journal
stays the source of truth, and these files can be rebuilt from it), with the
time of each sample both as monotonic seconds and relative to the first fault.
"""

from __future__ import annotations

import json
from pathlib import Path

from drillkit.engine.journal import read_journal


def write_samples(journal: Path, folder: Path) -> list[Path]:
    """Write one file per sampler (and the RPO canary's writes); returns the files written."""
    events = read_journal(journal).events
    fault_start = next((e.mono for e in events if e.type == "fault-undo-planned"), None)
    series: dict[str, list[dict[str, object]]] = {}
    for event in events:
        if event.type == "sample":
            name = str(event.data.get("sampler"))
            at = float(event.data.get("at", event.mono))
            series.setdefault(name, []).append(
                {
                    "at": at,
                    "sinceFault": None if fault_start is None else round(at - fault_start, 6),
                    "ok": event.data.get("ok"),
                    "latencyMs": event.data.get("latencyMs"),
                    "summary": event.data.get("summary"),
                }
            )
        elif event.type == "canary-write":
            at = float(event.data["at"])
            series.setdefault("rpo-canary", []).append(
                {
                    "seq": event.data.get("seq"),
                    "at": at,
                    "sinceFault": None if fault_start is None else round(at - fault_start, 6),
                    "acknowledged": event.data.get("ok"),
                }
            )
    if not series:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in sorted(series.items()):
        path = folder / f"{name.replace(':', '-')}.jsonl"
        path.write_text(
            "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows), encoding="utf-8"
        )
        written.append(path)
    return written
