"""Readiness as Prometheus metrics, in the text exposition format (version 0.0.4).

For the monitoring people already run: ``drill metrics`` prints the text, and
``drill metrics --output FILE`` writes it for node_exporter's textfile
collector, atomically (a temporary file in the same folder, then a rename),
so the collector never reads half a file. Every series is labelled with
``drill`` and ``target``; values come from the run index, so they are the
bundles' figures. A gauge is absent rather than zero when nothing was
measured (an RTO that was never measured is not an RTO of zero).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from drillkit.history.index import latest
from drillkit.history.records import RunRecord

_METRICS: tuple[tuple[str, str], ...] = (
    ("drillkit_last_success_timestamp_seconds", "End of the newest passing run (Unix time)."),
    ("drillkit_last_run_timestamp_seconds", "End of the newest run that counts (Unix time)."),
    ("drillkit_last_run_passed", "1 when the newest run passed, else 0."),
    ("drillkit_last_rto_seconds", "RTO measured by the newest run, in seconds."),
    ("drillkit_rto_objective_seconds", "The drill's RTO objective, in seconds."),
    ("drillkit_last_rpo_seconds", "RPO measured by the newest run, in seconds."),
    ("drillkit_rpo_objective_seconds", "The drill's RPO objective, in seconds."),
    ("drillkit_objectives_met", "1 when the newest run met every declared objective, else 0."),
    ("drillkit_runs", "Runs of the drill on the target in the history (dry runs excluded)."),
)


def exposition(records: Iterable[RunRecord]) -> str:
    """The metrics text for every drill x target in ``records``."""
    samples: dict[str, list[str]] = {name: [] for name, _ in _METRICS}
    for (drill, target), runs in latest(list(records)):
        counted = [r for r in runs if r.counts]
        if not counted:
            continue
        newest = counted[-1]
        passes = [r for r in counted if r.passed]
        labels = f'{{drill="{_label(drill)}",target="{_label(target)}"}}'
        values: dict[str, float | None] = {
            "drillkit_last_success_timestamp_seconds": passes[-1].finished_datetime().timestamp()
            if passes
            else None,
            "drillkit_last_run_timestamp_seconds": newest.finished_datetime().timestamp(),
            "drillkit_last_run_passed": 1.0 if newest.passed else 0.0,
            "drillkit_last_rto_seconds": newest.rto_seconds,
            "drillkit_rto_objective_seconds": newest.rto_objective_seconds,
            "drillkit_last_rpo_seconds": newest.rpo_seconds,
            "drillkit_rpo_objective_seconds": newest.rpo_objective_seconds,
            "drillkit_objectives_met": 1.0 if newest.objectives_met else 0.0,
            "drillkit_runs": float(len(counted)),
        }
        for name, value in values.items():
            if value is not None:
                samples[name].append(f"{name}{labels} {_number(value)}")
    lines: list[str] = []
    for name, help_text in _METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the collector (mode 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else f"{int(value)}"
