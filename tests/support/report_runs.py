"""Real run folders for report tests: real drills, run by the real engine, in a test world.

``ReportLab`` is a ``Lab`` whose target also has sandbox-format state (a
secret, a backup, workloads with live processes, an access policy) and a
real TLS server with a trustme certificate, so the platform probes and the
``tls`` probe measure something real. ``CertifiedTestProvider`` is the file
backed test provider with the real generic ``tls`` probe. ``finished_run``
runs one drill of a kind in-process, once per test session, and returns the
runner's result: the run folder it leaves is what the report is built from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions, RunResult
from drillkit.probes.registry import probe_for
from drillkit.providers.base import Provider
from drillkit.providers.sources import BackupRecord
from drillkit.sandbox.access_policy import SandboxAccessPolicy
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.workload_status import Replica, SandboxWorkloads, Workload
from drillkit.spec.repository import DrillRepository
from tests.support.lab import TARGET, Lab, drill_yaml
from tests.support.test_provider import SOURCED_PROBES, TestProvider
from tests.support.tls_server import TlsServer

PASSWORD = b"report-secret-value-must-never-leak-7f3a"
CERTIFICATE_DAYS = 90
HOSTILE = '<script>alert("owned")</script><img src="http://203.0.113.9/x.png"> & "quotes"'

RUNBOOK = """\
apiVersion: drillkit.io/v1
kind: Runbook
metadata: {name: restore-orders, version: 2.1.0, owner: team-orders@example.com}
spec:
  steps:
    - name: restore-namespace
      restore: {type: backup-restore, backup: {schedule: orders-hourly}, namespaces: [orders]}
    - name: wait-for-orders
      restore: {type: wait-for-recovery, namespace: orders}
"""
METRICS_PROBE = """\
apiVersion: drillkit.io/v1
kind: Probe
metadata:
  name: orders-metrics
  description: The orders service's request metrics reach the monitoring stack.
  labels: {drillkit.io/proves: observability-works}
spec: {type: http, url: "${orders_url}/metrics"}
"""
MEASURE = """\
rto:
  probe: {type: http, url: "${orders_url}/readyz"}
  interval: 50ms
  stableFor: 3
rpo:
  canary:
    type: rpo-canary
    interval: 100ms
    http: {writeUrl: "${orders_url}/orders", readUrl: "${orders_url}/orders"}
"""
RESTORE_DRILL_STEPS = """\
- name: backup-is-fresh
  probe: {type: backup-age, schedule: orders-hourly, namespaces: [orders]}
- name: soak
  description: Let the canary write records the backup may not hold.
  wait: 400ms
- name: lose-namespace
  fault: {type: namespace-loss, namespace: orders}
- name: restore-from-backup
  restore: {ref: runbooks/restore-orders.yaml}
- name: service-answers
  probe: {type: http, url: "${orders_url}/readyz"}
  within: 5s
  interval: 100ms
- name: workloads-ready
  probe: {type: workload-ready, namespace: orders, workloads: [orders-api]}
- name: secrets-resolve
  probe: {type: secret, name: orders-db, key: password, namespace: orders}
- name: certificate-valid
  probe: {type: tls, host: 127.0.0.1, port: ${tls_port}, caBundle: "${ca_bundle}"}
- name: traffic-routed
  probe: {type: routing, name: orders.lab.test, expect: {region: primary}}
- name: metrics-flow
  probe: {ref: probes/orders-metrics.yaml}
- name: on-call-can-act
  probe:
    type: access
    impersonateGroup: orders-oncall
    checks:
      - {verb: create, resource: restores, group: velero.io, namespace: velero}
"""
ACCESS_POLICY: dict[str, Any] = {
    "groups": {
        "orders-oncall": {
            "members": ["alice"],
            "rules": [{"verbs": ["create"], "resources": ["restores"], "groups": ["velero.io"]}],
        }
    }
}


class CertifiedTestProvider(TestProvider):
    """The test world, with the real generic ``tls`` probe against a real server."""

    name = "test-certified"

    def fault_handler(self, kind: str) -> Any:
        return TestProvider.faults.create(kind, self)

    def restore_handler(self, kind: str) -> Any:
        return TestProvider.restores.create(kind, self)

    def canary_handler(self, kind: str) -> Any:
        return TestProvider.canaries.create(kind, self)

    def probe_handler(self, kind: str) -> Any:
        if kind == "tls":
            return probe_for("tls", self)
        if kind in SOURCED_PROBES:
            return super().probe_handler(kind)
        return TestProvider.probes.create(kind, self)


class CloudIdentityProvider(CertifiedTestProvider):
    """Journals the caller identities a cloud provider would: AWS STS and Kubernetes user."""

    name = "test-cloud"

    def identity(self) -> dict[str, Any]:
        return {
            **super().identity(),
            "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/orders-prod",
            "region": "eu-west-1",
            "aws": {
                "callerArn": "arn:aws:sts::111122223333:assumed-role/drill-runner/sre-on-call",
                "account": "111122223333",
            },
            "kubernetes": {"user": "drill-runner@orders-prod"},
        }


@dataclass
class ReportLab:
    """A lab with sandbox-format state and a TLS server; use ``report_lab`` to get one."""

    lab: Lab
    tls_port: int

    @property
    def root(self) -> Path:
        return self.lab.root

    def add_restore_drill(
        self, name: str, *, objectives: str, fault_timeout: str | None = None, hostile: bool = False
    ) -> None:
        """The full restore drill; ``hostile`` puts ``HOSTILE`` in its free text."""
        steps = RESTORE_DRILL_STEPS.replace("${tls_port}", str(self.tls_port))
        if fault_timeout is not None:
            steps = steps.replace(
                "- name: lose-namespace\n", f"- name: lose-namespace\n  timeout: {fault_timeout}\n"
            )
        quoted = HOSTILE.replace("'", "''")
        if hostile:
            steps = steps.replace(
                "  description: Let the canary write records the backup may not hold.",
                f"  description: '{quoted}'",
            )
        document = drill_yaml(
            name,
            steps,
            objectives=objectives,
            measure=MEASURE,
            extra_spec="scope: {namespaces: [orders], services: [orders-api, orders-worker]}\n",
        )
        if hostile:
            document = document.replace(
                "owner: sre@example.com", f"owner: '{quoted}', description: '{quoted}'"
            )
        (self.root / "drills" / f"{name}.yaml").write_text(document)

    def run(
        self, drill: str, *, dry_run: bool = False, provider: type[Provider] | None = None
    ) -> RunResult:
        repo = DrillRepository.discover(self.root)
        target = repo.target(TARGET)
        plan = make_plan(repo.load_named(drill), TARGET, target)
        runner = Runner(
            plan,
            (provider or CertifiedTestProvider)(TARGET, target),
            RunOptions(
                output_dir=self.root / "reports",
                dry_run=dry_run,
                undo_grace_seconds=2.0,
                operator="sre-on-call",
            ),
            SilentProgress(),
        )
        return runner.run()


@contextmanager
def report_lab(root: Path, **config: Any) -> Iterator[ReportLab]:
    """A ``ReportLab`` under ``root`` for the duration of the ``with`` block."""
    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("DRILLKIT_LOCK_DIR", str(root / "locks"))
        authority = trustme.CA()
        now = datetime.now(UTC)
        leaf = authority.issue_cert(
            "127.0.0.1",
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=CERTIFICATE_DAYS),
        )
        (root / "tls").mkdir(parents=True)
        ca_bundle = root / "tls" / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_bundle))
        server = stack.enter_context(
            TlsServer(
                b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
                leaf.private_key_pem.bytes(),
                root / "tls",
            )
        )
        lab = Lab.create(root / "lab", sandbox=True, **config)
        _add_target_variable(lab, "ca_bundle", str(ca_bundle))
        (lab.root / "runbooks").mkdir()
        (lab.root / "runbooks" / "restore-orders.yaml").write_text(RUNBOOK)
        (lab.root / "probes").mkdir()
        (lab.root / "probes" / "orders-metrics.yaml").write_text(METRICS_PROBE)
        _sandbox_state(SandboxLayout(lab.root / "sandbox"))
        yield ReportLab(lab, server.port)


def _add_target_variable(lab: Lab, name: str, value: str) -> None:
    path = lab.root / "targets.yaml"
    text = path.read_text()
    path.write_text(text.replace("variables: {", f"variables: {{{name}: '{value}', ", 1))


def _sandbox_state(layout: SandboxLayout) -> None:
    SandboxSecretStore(layout).put("orders-db", {"password": PASSWORD}, namespace="orders")
    done = datetime.now(UTC) - timedelta(minutes=2)
    SandboxBackupCatalog(layout).record(
        "orders-hourly", BackupRecord("orders-hourly-1", "Completed", done, done, ("orders",))
    )
    replicas = tuple(
        Replica(f"orders-api-{i}", os.getpid(), f"node-{z}1", f"zone-{z}", "primary", True)
        for i, z in enumerate("abc")
    )
    SandboxWorkloads(layout).save(Workload("orders-api", "orders", 3, {}, replicas))
    SandboxAccessPolicy(layout).save(ACCESS_POLICY)


@dataclass(frozen=True)
class FinishedRun:
    """A run folder left by a real run, and the lab repository its drill came from."""

    kind: str
    result: RunResult
    repository: Path
    drill: str

    @property
    def run_dir(self) -> Path:
        return self.result.run_dir


RUN_KINDS = ("passing", "failing-objective", "aborted", "dry-run", "hostile")
_FINISHED: dict[str, FinishedRun] = {}


def finished_run(kind: str, factory: pytest.TempPathFactory) -> FinishedRun:
    """A run of ``kind``, made once per test session (tests must not change its folder).

    - passing: the full restore drill; every step passes, every objective is met;
    - failing-objective: the same drill with an RTO objective of 100ms, missed;
    - aborted: the fault step times out, the run aborts and undoes;
    - dry-run: the passing drill with ``--dry-run``;
    - hostile: the passing drill with HTML in its description, owner and a step.
    """
    if kind not in _FINISHED:
        _FINISHED[kind] = _run(kind, factory.mktemp(f"report-{kind}"))
    return _FINISHED[kind]


def _run(kind: str, root: Path) -> FinishedRun:
    config: dict[str, Any] = {"recoverSeconds": 0.6, "loseLastSeconds": 0.25}
    if kind == "aborted":
        config["applySeconds"] = 30
    objectives = "rto: 30s, rpo: 5m, minCertificateDays: 14"
    with report_lab(root, **config) as lab:
        drill = "restore-orders"
        lab.add_restore_drill(
            drill,
            objectives=objectives.replace("30s", "100ms")
            if kind == "failing-objective"
            else objectives,
            fault_timeout="300ms" if kind == "aborted" else None,
            hostile=kind == "hostile",
        )
        result = lab.run(
            drill,
            dry_run=kind == "dry-run",
            provider=CloudIdentityProvider if kind == "failing-objective" else None,
        )
    return FinishedRun(kind, result, lab.root, drill)
