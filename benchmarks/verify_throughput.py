"""Verification throughput: `drill verify` against `sha256sum` over the same evidence bundle.

An auditor verifies a bundle that may hold hundreds of megabytes of raw
samples, so verification should cost about what hashing the files costs.
This builds a real signed bundle in a temporary folder: a small drill runs
through the real runner against an in-process provider, large sample files
(base64 lines of random bytes) are added to its ``samples/`` folder, and
``seal_bundle`` renders the reports and signs everything with a fresh
Ed25519 key file, exactly as at the end of a run. Then it times
``verify_bundle`` (every check: signature, every subject's sha256,
completeness, journal chain, definition, report schema) and ``sha256sum``
over the same files, in a subprocess, best of three each with a warm page
cache, and prints MB/s for both (MB = 10^6 bytes) and their ratio. Target:
verification within 1.5x of sha256sum's time. ``openssl dgst -sha256`` over
the same files is timed too, for reference: coreutils' ``sha256sum`` has its
own portable SHA-256, while Python's ``hashlib`` uses OpenSSL's, which uses
the CPU's SHA instructions where there are any.

Usage: python benchmarks/verify_throughput.py [--megabytes N] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from figures import record
from instant_provider import InstantProvider, register_instant_provider

from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.evidence.bundle import list_files
from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.evidence.seal import seal_bundle
from drillkit.evidence.verification import verify_bundle
from drillkit.spec.repository import DrillRepository

TARGET_RATIO = 1.5
SAMPLE_FILE_MB = 64
DRILL = """\
apiVersion: drillkit.io/v1
kind: Drill
metadata: {name: bulk-samples, version: 1.0.0, owner: bench, tier: 3}
spec:
  objectives: {}
  targets: ['*']
  steps:
    - {name: lose-pod, fault: {type: pod-kill, namespace: orders, selector: {app: api}}}
    - {name: service-answers, probe: {type: tls, host: orders.bench.test}}
    - {name: settle, wait: 0s}
"""


def _run_folder(root: Path) -> Path:
    """A finished, unsigned run folder of the real runner."""
    register_instant_provider()
    os.environ["DRILLKIT_LOCK_DIR"] = str(root / "locks")
    (root / "drills").mkdir(parents=True)
    (root / "drills" / "bulk-samples.yaml").write_text(DRILL)
    (root / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\n"
        "targets:\n  bench: {provider: bench-instant, tier: dev}\n"
    )
    repo = DrillRepository.discover(root)
    target = repo.target("bench")
    plan = make_plan(repo.load_named("bulk-samples"), "bench", target)
    runner = Runner(
        plan,
        InstantProvider("bench", target),
        RunOptions(output_dir=root / "reports"),
        SilentProgress(),
    )
    result = runner.run()
    if result.summary.verdict != "passed":
        sys.exit(f"the benchmark drill did not pass: {result.summary.to_json()}")
    return result.run_dir


def _add_samples(run_dir: Path, megabytes: int) -> int:
    """Sample files of ``SAMPLE_FILE_MB`` (the last one smaller) adding up to ``megabytes``."""
    samples = run_dir / "samples"
    samples.mkdir(exist_ok=True)
    remaining = megabytes * 1_000_000
    index = 0
    while remaining > 0:
        size = min(remaining, SAMPLE_FILE_MB * 1_000_000)
        with (samples / f"bulk-{index:02d}.jsonl").open("wb") as handle:
            written = 0
            while written < size:
                # 76-character base64 lines: text with rows, like real sample files.
                block = base64.encodebytes(os.urandom(3 * 1024 * 1024))[: size - written]
                handle.write(block)
                written += len(block)
        remaining -= size
        index += 1
    return index


def _best(runs: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def _sha256sum(run_dir: Path, names: list[str]) -> None:
    subprocess.run(["sha256sum", "--", *names], cwd=run_dir, stdout=subprocess.DEVNULL, check=True)


def _openssl(run_dir: Path, names: list[str]) -> None:
    subprocess.run(
        ["openssl", "dgst", "-sha256", "--", *names],
        cwd=run_dir,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def _tool_version(command: str) -> str:
    try:
        first = subprocess.run(
            [command, "--version"], capture_output=True, text=True, check=True
        ).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return command
    return first.replace(f"{command} (GNU coreutils) ", "coreutils ")


def _file_system(path: Path) -> str:
    try:
        found = (
            subprocess.run(
                ["df", "--output=fstype,target", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.splitlines()[1]
            .split()
        )
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"
    return f"{found[0]} (mounted at {found[1]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500, help="sample data to add (MB)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each; best counts")
    parser.add_argument("--keep", action="store_true", help="keep the bundle folder")
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        sys.exit("sha256sum is not installed (GNU coreutils)")
    root = Path(tempfile.mkdtemp(prefix="drillkit-verify-bench-"))
    try:
        started = time.perf_counter()
        run_dir = _run_folder(root)
        sample_files = _add_samples(run_dir, args.megabytes)
        key = generate_key_file(root / "keys" / "bench.key")
        seal_bundle(run_dir, Ed25519FileSigner.load(key.private_path, origin="benchmark"))
        public_pem = key.public_path.read_bytes()
        names = list_files(run_dir)
        total = sum((run_dir / name).stat().st_size for name in names)
        build_seconds = time.perf_counter() - started

        first = verify_bundle(run_dir, public_pem)  # also warms the page cache
        if not first.ok:
            sys.exit(f"the benchmark bundle does not verify: {first.first_failure}")
        _sha256sum(run_dir, names)
        verify_seconds = _best(args.runs, lambda: verify_bundle(run_dir, public_pem))
        sha_seconds = _best(args.runs, lambda: _sha256sum(run_dir, names))
        openssl_seconds = (
            _best(args.runs, lambda: _openssl(run_dir, names)) if shutil.which("openssl") else None
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    ratio = verify_seconds / sha_seconds
    met = ratio <= TARGET_RATIO
    megabytes = total / 1e6
    print(
        f"verify throughput: {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        f"  bundle   {megabytes:,.1f} MB in {len(names)} files ({sample_files} large sample "
        f"files), signed Ed25519, built in {build_seconds:.1f} s"
    )
    print(f"  folder   {_file_system(root.parent)}, page cache warm, best of {args.runs}")
    print(f"  {'':<34}{'seconds':>9}{'MB/s':>9}")
    verify_label = "verify_bundle (all 9 checks)"
    print(f"  {verify_label:<34}{verify_seconds:>9.3f}{megabytes / verify_seconds:>9.0f}")
    print(
        f"  {'sha256sum (' + _tool_version('sha256sum') + ')':<34}"
        f"{sha_seconds:>9.3f}{megabytes / sha_seconds:>9.0f}"
    )
    if openssl_seconds is not None:  # for reference: the SHA-256 code hashlib also uses
        openssl_label = "openssl dgst -sha256 (reference)"
        print(f"  {openssl_label:<34}{openssl_seconds:>9.3f}{megabytes / openssl_seconds:>9.0f}")
    print(
        f"  ratio    verify / sha256sum = {ratio:.2f}x   "
        f"target: within {TARGET_RATIO}x of sha256sum: {'met' if met else 'NOT met'}"
    )
    if args.keep:
        print(f"  bundle kept in {run_dir}")
    record(
        "verify",
        f"drill verify on {megabytes:,.0f} MB",
        megabytes / verify_seconds,
        "MB/s",
        versus=f"sha256sum {megabytes / sha_seconds:,.0f} MB/s",
        ratio=ratio,
        target=f"time within {TARGET_RATIO}x of sha256sum",
        met=met,
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
