"""Secret values never reach anything drillkit writes or prints.

The sandbox's database secret (a fresh random password per sandbox) is read
by the orders service and digested by the drills' `secret` probes. After the
drills that touch it run (restore-orders, readiness-orders, region failover),
the password, and its base64 and hex forms, must appear in no file of the run
folders, the sandbox's own state and logs, and no line drillkit printed. The
platform's own copies are excluded, as a cluster's Secret and a Velero backup
of it would be: the secret store and the backups' copies of it (``secrets/``
folders under the sandbox).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.topology import NAMESPACE, SECRET
from tests.reliability.figures import tally
from tests.reliability.sandbox_repo import drill, make_repository, wait_healthy
from tests.support.groups import SANDBOX
from tests.support.session import SANDBOX_DIR

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

DRILLS = (("restore-orders",), ("readiness-orders",), ("region-failover-orders", "--yes"))


def forms(value: bytes) -> list[bytes]:
    return [
        value,
        base64.b64encode(value),
        base64.urlsafe_b64encode(value).rstrip(b"="),
        value.hex().encode(),
    ]


def test_the_sandbox_secret_never_appears_in_evidence_logs_or_output(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    repo = make_repository(tmp_path_factory.mktemp("secrets-repo"))
    layout = SandboxLayout(Path(os.environ[SANDBOX_DIR]))
    printed: list[str] = []
    for args in DRILLS:
        result = drill(repo, "run", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        printed += [result.stdout, result.stderr]
        wait_healthy(layout)
    password = SandboxSecretStore(layout).value(SECRET, "password", namespace=NAMESPACE)
    assert len(password) >= 16
    needles = forms(password)
    scanned, leaks = 0, []
    for root in (repo / "reports", layout.root):
        for path in root.rglob("*"):
            if not path.is_file() or (
                root == layout.root and "secrets" in path.relative_to(root).parts
            ):
                continue
            scanned += 1
            data = path.read_bytes()
            leaks += [f"{path}: {needle[:4]!r}..." for needle in needles if needle in data]
    leaks += [
        f"output: {needle[:4]!r}..."
        for text in printed
        for needle in needles
        if needle.decode() in text
    ]
    figures = tally("secrets: value never written")
    figures.record(not leaks)
    figures.notes.append(f"{scanned} files and {len(printed)} output streams scanned, 4 forms each")
    assert scanned > 20
    assert not leaks, leaks
