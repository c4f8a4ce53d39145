"""Bad input never gets a traceback: 10,000 mutated drill, probe, runbook and target files,
and 1,000 mutated evidence bundles.

Drill repository files are mutated with ``mutations.mutate_text`` (seeded) and
checked the way `drill validate` checks them, in-process for speed: every
outcome is either valid or a ``DrillError`` with a message; any other
exception is what a user would have seen as an internal error. A sample also
goes through the real CLI entry point (click's runner), which must exit 0 or 2,
never with an internal error. Evidence bundles: a real signed bundle (a
drill run by the real engine, sealed with an Ed25519 key) is mutated one file
at a time, or has a file added, removed or renamed; `verify_bundle` must
fail every one of them, with a named check, and raise nothing.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from drillkit.cli import cli
from drillkit.errors import DrillError
from drillkit.evidence.bundle import list_files
from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.seal import seal_bundle
from drillkit.evidence.verification import verify_bundle
from drillkit.spec.repository import DrillRepository
from drillkit.spec.validate import validate
from tests.reliability.figures import tally
from tests.reliability.mutations import mutate_bytes, mutate_text
from tests.support.report_runs import finished_run

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", "20261124"))
ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_FILES = 10_000
BUNDLES = 1_000
CLI_SAMPLE = 100


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(ROOT / "targets.example.yaml", root / "targets.yaml")
    return root


def check_file(root: Path, path: Path) -> tuple[bool, str | None]:
    """(valid, None), or (False, message); raises whatever escaped our error handling."""
    repository = DrillRepository(root)
    if path.name == "targets.yaml":
        try:
            repository.targets()
        except DrillError as exc:
            return False, exc.diagnostics()
        return True, None
    report = validate(repository, [path])
    problems = [p for f in report.files for p in f.problems]
    return (not problems), (str(problems[0]) if problems else None)


def test_ten_thousand_mutated_repository_files_never_escape_as_internal_errors(repo: Path) -> None:
    chooser = random.Random(f"{SEED}/repository")
    sources = [
        *sorted(
            p for folder in ("drills", "probes", "runbooks") for p in (repo / folder).glob("*.yaml")
        ),
        repo / "targets.yaml",
    ]
    originals = {p: p.read_text() for p in sources}
    figures = tally("bad input: repository files")
    escaped: list[str] = []
    rejected = 0
    runner = CliRunner()
    cli_codes: dict[int, int] = {}
    for number in range(REPOSITORY_FILES):
        path = chooser.choice(sources)
        text = originals[path]
        for _ in range(chooser.randint(1, 3)):
            text = mutate_text(text, chooser)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            valid, message = check_file(repo, path)
            rejected += 0 if valid else 1
            ok = valid or bool(message and message.strip())
        except Exception as exc:  # an internal error: the trial fails
            ok = False
            escaped.append(f"#{number} {path.name}: {type(exc).__name__}: {exc}\n{text[:400]}")
        if number < CLI_SAMPLE:
            result = runner.invoke(
                cli, ["--repo", str(repo), "validate", str(path)], catch_exceptions=True
            )
            cli_codes[result.exit_code] = cli_codes.get(result.exit_code, 0) + 1
            if result.exit_code not in (0, 2) or "internal error" in result.output:
                ok = False
                escaped.append(f"#{number} CLI exit {result.exit_code}: {result.output[-400:]}")
        figures.record(ok)
        path.write_text(originals[path], encoding="utf-8")
    figures.notes.append(
        f"{REPOSITORY_FILES} mutated files, {rejected} rejected with a message, "
        f"{REPOSITORY_FILES - rejected} still valid; CLI sample exit codes {cli_codes}"
    )
    assert not escaped, f"{len(escaped)} internal errors; first:\n" + "\n".join(escaped[:5])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A real run of the restore drill, sealed and signed with a fresh Ed25519 key."""
    run = finished_run("passing", tmp_path_factory)
    folder = tmp_path_factory.mktemp("bundle") / "run"
    shutil.copytree(run.run_dir, folder)
    key = generate_key_file(folder.parent / "signing.key")
    del key
    seal_bundle(folder, Ed25519FileSigner.load(folder.parent / "signing.key", origin="test"))
    public = (folder.parent / "signing.key.pub").read_bytes()
    assert verify_bundle(folder, public).ok
    return folder, public


def test_a_thousand_mutated_bundles_all_fail_verification_and_nothing_escapes(
    bundle: tuple[Path, bytes], tmp_path: Path
) -> None:
    pristine, public = bundle
    chooser = random.Random(f"{SEED}/bundles")
    names = [*list_files(pristine), "attestation.intoto.json"]
    figures = tally("bad input: evidence bundles")
    problems: list[str] = []
    failed_at: dict[str, int] = {}
    work = tmp_path / "run"
    shutil.copytree(pristine, work)
    for number in range(BUNDLES):
        name = chooser.choice(sorted(set(names)))
        target = work / name
        original = target.read_bytes()
        action = chooser.choice(("mutate", "mutate", "mutate", "remove", "add", "rename"))
        extra: Path | None = None
        if action == "mutate":
            target.write_bytes(mutate_bytes(original, chooser))
        elif action == "remove":
            target.unlink()
        elif action == "add":
            extra = work / chooser.choice(("notes.txt", "samples/extra.jsonl", ".hidden"))
            extra.parent.mkdir(exist_ok=True)
            extra.write_bytes(b"added after signing\n")
        else:
            extra = target.with_name(target.name + ".renamed")
            target.rename(extra)
        try:
            result = verify_bundle(work, public)
            ok = not result.ok and result.first_failure is not None
            if ok and result.first_failure is not None:
                name_ = result.first_failure.name
                failed_at[name_] = failed_at.get(name_, 0) + 1
            elif result.ok:
                changed = target.read_bytes() if target.exists() else b""
                problems.append(
                    f"#{number}: {action} {name} still verifies "
                    f"(at byte {_first_difference(original, changed)}: "
                    f"{original[max(0, _first_difference(original, changed) - 30) :][:60]!r} -> "
                    f"{changed[max(0, _first_difference(original, changed) - 30) :][:60]!r})"
                )
        except DrillError as exc:
            ok = False
            problems.append(f"#{number}: {action} {name}: raised {exc.message}")
        except Exception as exc:  # an internal error
            ok = False
            problems.append(f"#{number}: {action} {name}: {type(exc).__name__}: {exc}")
        figures.record(ok)
        if extra is not None and extra.exists():
            if action == "rename":
                extra.rename(target)
            else:
                extra.unlink()
        target.write_bytes(original)
    assert verify_bundle(work, public).ok  # every trial was undone: the copy verifies again
    figures.notes.append(f"failed at: {dict(sorted(failed_at.items()))}")
    assert not problems, f"{len(problems)} problems; first:\n" + "\n".join(problems[:5])


def _first_difference(old: bytes, new: bytes) -> int:
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(new))
