"""Reading a run folder for its report: the verified journal, the exact definition, the samples.

A report must be rebuildable years later from the folder alone, so this is
the only input a report has; nothing comes from a live runner. The journal is
read with its hash chain verified. ``drill.yaml`` is parsed back into the
drill models (references are inlined in it, so nothing outside the folder is
read) and its digest is recomputed from its content and compared with its
header line and with the digest journaled at run start: a report never
describes a definition other than the one that ran. Sample files are hashed
and counted, so the report says which raw data it stands beside.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit.engine.journal import JournalEvent, read_journal
from drillkit.errors import DrillError
from drillkit.evidence.bundle import DEFINITION, JOURNAL, BundleError, definition_digest
from drillkit.spec.resolve import ReferenceLoader, ResolvedDrill, resolve_drill
from drillkit.spec.source import SourceDocument, parse_yaml

SAMPLES = "samples"
"""The folder of raw samples, one JSON line per sample (see ``drillkit.engine.samples``)."""


class ReportError(DrillError):
    """A run folder cannot be turned into a report: missing, corrupt or inconsistent."""


@dataclass(frozen=True)
class SampleFile:
    """One raw sample file: its name in the folder, sha256 and number of rows."""

    name: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class RunFolder:
    """Everything a report is computed from, read and checked."""

    path: Path
    events: tuple[JournalEvent, ...]
    journal_head: str
    journal_sha256: str
    torn_tail_bytes: int
    """Bytes of an unfinished last journal line (a crash mid-write); 0 if the file ends cleanly."""
    definition: ResolvedDrill
    definition_sha256: str
    sample_files: tuple[SampleFile, ...]

    @property
    def run_started(self) -> JournalEvent:
        return self.events[0]


def read_run_folder(run_dir: Path) -> RunFolder:
    """Read and cross-check ``run_dir``; ``ReportError`` names the first problem."""
    run_dir = Path(run_dir)
    journal_path = run_dir / JOURNAL
    if not journal_path.is_file():
        raise ReportError(
            f"{run_dir} has no {JOURNAL}",
            fix="pass a run folder: reports/<drill>/<run-id>/ as a run leaves it",
        )
    read = read_journal(journal_path)
    events = tuple(read.events)
    if not events or events[0].type != "run-started":
        raise ReportError(
            f"{journal_path}: the first event is not `run-started`",
            fix="a report needs the journal a run writes from its first event",
        )
    definition = _read_definition(run_dir, str(events[0].data.get("digest", "")))
    return RunFolder(
        path=run_dir,
        events=events,
        journal_head=read.head,
        journal_sha256=_sha256(journal_path),
        torn_tail_bytes=len(read.partial_tail or b""),
        definition=definition,
        definition_sha256=_sha256(run_dir / DEFINITION),
        sample_files=_sample_files(run_dir),
    )


def _read_definition(run_dir: Path, journaled: str) -> ResolvedDrill:
    path = run_dir / DEFINITION
    try:
        header = definition_digest(run_dir)
    except BundleError as exc:
        raise ReportError(f"{run_dir}: {exc.message}", fix=_DEFINITION_FIX) from None
    if header != journaled:
        raise ReportError(
            f"{path}: its header names digest {header}, but the journal recorded {journaled}",
            fix=_DEFINITION_FIX,
        )
    source = parse_yaml(path.read_text(encoding="utf-8"), path=path, display=DEFINITION)
    inlined: dict[str, Any] = {}
    stripped = _strip_inlined(source.data, inlined)
    try:
        resolved = resolve_drill(
            SourceDocument(path, DEFINITION, stripped, source.positions),
            _InlinedReferences(path, inlined),
        )
    except DrillError as exc:
        raise ReportError(
            f"{path} does not parse with this drillkit: {exc.message}",
            fix="render the report with the drillkit version that ran the drill "
            "(its version is in journal.jsonl's first event)",
        ) from None
    if resolved.digest != header:
        raise ReportError(
            f"{path}: its content has digest {resolved.digest}, not the {header} it claims",
            fix=_DEFINITION_FIX,
        )
    return resolved


_DEFINITION_FIX = (
    "drill.yaml must be the exact definition the run used; compare the folder with its "
    "signed copy (`drill verify`)"
)


class _InlinedReferences(ReferenceLoader):
    """Serves the documents inlined in drill.yaml instead of reading the repository."""

    def __init__(self, path: Path, inlined: dict[str, Any]) -> None:
        super().__init__(path.parent)
        self._path = path
        self._inlined = inlined

    def load(self, ref: str, parse: Callable[[SourceDocument], Any]) -> tuple[Any, Any]:
        if ref not in self._inlined:
            raise ReportError(
                f"{self._path}: reference `{ref}` is not inlined", fix=_DEFINITION_FIX
            )
        data = self._inlined[ref]
        return parse(SourceDocument(self._path, f"{DEFINITION} ({ref})", data)), data


def _strip_inlined(node: Any, inlined: dict[str, Any]) -> Any:
    """The drill as written (``{ref: X}``), collecting each inlined document by reference."""
    if isinstance(node, list):
        return [_strip_inlined(item, inlined) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"ref", "inline"} and isinstance(node["ref"], str):
        inlined[node["ref"]] = node["inline"]
        return {"ref": node["ref"]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if (
            key == "experiment"
            and node.get("type") == "chaostoolkit"
            and isinstance(value, dict)
            and set(value) == {"ref", "inline"}
        ):
            inlined[str(value["ref"])] = value["inline"]
            out[key] = value["ref"]
        else:
            out[key] = _strip_inlined(value, inlined)
    return out


def _sample_files(run_dir: Path) -> tuple[SampleFile, ...]:
    folder = run_dir / SAMPLES
    if not folder.is_dir():
        return ()
    files = []
    for path in sorted(folder.glob("*.jsonl")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            files.append(
                SampleFile(
                    f"{SAMPLES}/{path.name}", hashlib.sha256(data).hexdigest(), data.count(b"\n")
                )
            )
    return tuple(files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
