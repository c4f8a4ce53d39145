"""One line of JSON per figure, for ``benchmarks/run`` to gather into its table.

Each benchmark prints its own report for a person; it also calls ``record``
for the figures that matter, which appends them to the file named by
``$DRILLKIT_BENCH_FIGURES`` (nothing happens when it is unset), so the
one-command run can print every figure side by side without parsing text.
"""

from __future__ import annotations

import json
import os

FIGURES_ENV = "DRILLKIT_BENCH_FIGURES"


def record(
    benchmark: str,
    figure: str,
    value: float,
    unit: str,
    *,
    versus: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> None:
    """Note one figure: ``versus`` names what ``ratio`` compares it with."""
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    line = {
        "benchmark": benchmark,
        "figure": figure,
        "value": value,
        "unit": unit,
        "versus": versus,
        "ratio": ratio,
        "target": target,
        "met": met,
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
