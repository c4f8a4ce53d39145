"""Writing a run's four report files: report.json, report.md, report.html and junit.xml.

Called at the end of every run, before the bundle is signed, and by ``drill
report`` to render a folder again. All four are rendered in memory from one
``Report`` first, so a rendering error writes nothing; each is then written
to a temporary file beside its final name and renamed, so a reader (or a
signer) never sees half a report. ``render_report`` gives one rendering's
bytes without writing anything (``drill report --format``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from drillkit.errors import DrillError
from drillkit.evidence.render_html import render_html
from drillkit.evidence.render_junit import render_junit
from drillkit.evidence.render_markdown import render_markdown
from drillkit.evidence.report import Report, build_report, report_json

REPORT_FILES = ("report.json", "report.md", "report.html", "junit.xml")
"""The files ``write_reports`` writes, in this order."""
FORMATS = {"json": "report.json", "md": "report.md", "html": "report.html", "junit": "junit.xml"}
"""``drill report --format`` names and the file each rendering is written to."""


def render_report(run_dir: Path, format_name: str) -> bytes:
    """One rendering of the run's report (a ``FORMATS`` name): the bytes its file would hold."""
    if format_name not in FORMATS:
        raise ValueError(f"unknown report format {format_name!r}; one of {', '.join(FORMATS)}")
    return _rendered(build_report(Path(run_dir)), (FORMATS[format_name],))[FORMATS[format_name]]


def write_reports(run_dir: Path, output_dir: Path | None = None) -> list[Path]:
    """Render the reports of the run in ``run_dir`` into ``output_dir`` (default: ``run_dir``).

    Returns the paths written, in ``REPORT_FILES`` order.
    """
    rendered = _rendered(build_report(Path(run_dir)), REPORT_FILES)
    folder = Path(output_dir) if output_dir is not None else Path(run_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _not_writable(folder, exc) from exc
    written = []
    for name in REPORT_FILES:
        path = folder / name
        _write_atomically(path, rendered[name])
        written.append(path)
    return written


_RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "report.json": report_json,
    "report.md": lambda report: render_markdown(report).encode("utf-8"),
    "report.html": lambda report: render_html(report).encode("utf-8"),
    "junit.xml": render_junit,
}


def _rendered(report: Report, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: _RENDERERS[name](report) for name in names}


def _write_atomically(path: Path, data: bytes) -> None:
    temporary: str | None = None
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        raise _not_writable(path.parent, exc) from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _not_writable(folder: Path, exc: OSError) -> DrillError:
    return DrillError(
        f"cannot write the reports into {folder}: {exc.strerror or exc}",
        fix="make the folder writable, or render elsewhere with `drill report RUN --output DIR`",
    )
