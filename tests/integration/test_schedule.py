"""`drill schedule render` and `drill upload`: manifests Kubernetes accepts, least privilege,
no secret in any file, and evidence in S3 that Object Lock keeps.

The manifests are checked against Kubernetes' own OpenAPI schemas (kubernetes-validate,
strict: an unknown field fails) and created on the Kubernetes API emulator with the
real kubectl. Uploads go to moto's S3 over HTTP, with Object Lock as S3 models it.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from drillkit.evidence.key_files import Ed25519FileSigner, generate_key_file
from drillkit.spec.targets import TargetRegistry
from tests.support.drill_cli import drill_in
from tests.support.history_bundles import RunSpec, make_bundle
from tests.support.kube.catalogue import CLUSTER_ROLES, CONFIGMAPS, CRONJOBS, ROLES
from tests.support.kube.fixtures import KubeCluster
from tests.support.moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.31"  # what the emulator says it is
DRILLS = ("pod-kill-orders", "restore-orders", "zone-outage-orders", "readiness-orders")


def drill(repo: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return drill_in(repo, *args, timeout=timeout)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    key = generate_key_file(root / "keys" / "prod.key")
    target = {
        "provider": "kubernetes",
        "tier": "staging",
        "kubernetes": {"kubeconfig": "/nonexistent/kubeconfig", "context": "emulator"},
        "zones": {"a": "us-east-1a", "b": "us-east-1b", "c": "us-east-1c"},
        "regions": {"primary": "us-east-1", "standby": "us-west-2"},
        "variables": {
            "orders_url": "https://orders.example.com",
            "orders_host": "orders.example.com",
            "orders_port": "443",
            "dns_server": "10.0.0.10",
        },
        "signingKey": str(key.private_path),
    }
    registry = {
        "apiVersion": "drillkit.io/v1",
        "kind": "TargetRegistry",
        "targets": {"staging-k8s": target},
    }
    (root / "targets.yaml").write_text(yaml.safe_dump(registry))
    return root


def documents(folder: Path) -> list[dict[str, object]]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        found += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return found


def test_rendered_manifests_pass_kubernetes_schemas_and_create_on_the_emulator(
    repo: Path, kube_cluster: KubeCluster
) -> None:
    out = repo / "schedule"
    result = drill(
        repo,
        "schedule",
        "render",
        "--target",
        "staging-k8s",
        *DRILLS,
        "--output",
        str(out),
        "--upload",
        "s3://dr-evidence/orders",
    )

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "00-namespace.yaml",
        "10-serviceaccount.yaml",
        "20-rbac.yaml",
        "30-repository-configmap.yaml",
        "40-cronjob-pod-kill-orders.yaml",
        "40-cronjob-readiness-orders.yaml",
        "40-cronjob-restore-orders.yaml",
        "40-cronjob-zone-outage-orders.yaml",
        "Dockerfile",
    ]
    rendered = documents(out)
    for document in rendered:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)

    # Schemas were checked above; the emulator serves no OpenAPI document for kubectl to fetch.
    created = kube_cluster.kubectl("create", "--validate=false", "-f", str(out), check=False)
    assert created.returncode == 0, created.stderr
    assert "cronjob.batch/drill-pod-kill-orders-staging-k8s created" in created.stdout
    store = kube_cluster.store
    assert [c["metadata"]["name"] for c in store.list(CRONJOBS, "drillkit")] == [
        f"drill-{name}-staging-k8s" for name in sorted(DRILLS)
    ]
    assert [r["metadata"]["name"] for r in store.list(ROLES, "orders")] == ["drillkit-staging-k8s"]
    assert [r["metadata"]["name"] for r in store.list(CLUSTER_ROLES)] == ["drillkit-staging-k8s"]
    [configmap] = store.list(CONFIGMAPS, "drillkit")
    assert (
        configmap["data"]["drills__pod-kill-orders.yaml"]
        == (repo / "drills" / "pod-kill-orders.yaml").read_text()
    )
    in_cluster = TargetRegistry.model_validate(yaml.safe_load(configmap["data"]["targets.yaml"]))
    settings = in_cluster.targets["staging-k8s"].kubernetes
    assert settings is not None and settings.in_cluster and settings.kubeconfig is None

    script = store.list(CRONJOBS, "drillkit")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]["command"][2]
    assert script.splitlines() == [
        "set -u",
        "drill run pod-kill-orders --target staging-k8s --yes",
        "status=$?",
        "drill upload /evidence --to s3://dr-evidence/orders --retain-days 400 --mode COMPLIANCE"
        " || status=1",
        'exit "$status"',
    ]
    private = (repo / "keys" / "prod.key").read_text()
    body = private.splitlines()[1]
    for path in out.iterdir():
        assert body not in path.read_text()
    assert "signingKey" not in configmap["data"]["targets.yaml"]
    assert "kubectl -n drillkit create secret generic drillkit-signing-key" in result.stdout
    assert "COPY velero /usr/local/bin/velero" in (out / "Dockerfile").read_text()


def test_permissions_are_the_verbs_and_resources_the_steps_use(repo: Path) -> None:
    result = drill(repo, "schedule", "permissions", "--target", "staging-k8s", "pod-kill-orders")

    assert result.returncode == 0, result.stderr
    assert [line.split() for line in result.stdout.splitlines()[1:]] == [
        ["cluster-wide", "core/namespaces", "get"],
        ["namespace", "default", "coordination.k8s.io/leases", "create,get,update"],
        ["namespace", "orders", "core/pods", "delete,get,list,watch"],
        ["namespace", "orders", "apps/deployments", "get,list,watch"],
        ["namespace", "orders", "apps/statefulsets", "get,list,watch"],
    ]


def test_a_target_that_is_not_kubernetes_is_refused_with_a_fix(repo: Path) -> None:
    result = drill(repo, "schedule", "render", "--target", "sandbox", "--output", "x")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: target sandbox is `local`, not a Kubernetes cluster",
        "  fix: scheduled drills run as CronJobs: pick a kubernetes, eks or aks target",
    ]


def test_upload_keeps_signed_evidence_under_object_lock_and_skips_unsigned_runs(
    aws: MotoServer, tmp_path: Path
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="dr-evidence", ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket="plain")
    key = generate_key_file(tmp_path / "keys" / "team.key")
    signer = Ed25519FileSigner.load(key.private_path, origin="test")
    reports = tmp_path / "reports"
    signed = make_bundle(
        reports,
        RunSpec("restore-orders", "01JA0000000000000000000001", "2026-11-20T10:00:00.000000Z"),
        signer,
    )
    make_bundle(
        reports,
        RunSpec("pod-kill-orders", "01JA0000000000000000000002", "2026-11-21T10:00:00.000000Z"),
        None,
    )

    result = drill(
        tmp_path, "upload", str(reports), "--to", "s3://dr-evidence/orders/", "--retain-days", "30"
    )

    assert result.returncode == 0, result.stderr
    assert (
        "warning: skipped pod-kill-orders/01JA0000000000000000000002: not signed" in result.stderr
    )
    listed = s3.list_objects_v2(Bucket="dr-evidence")["Contents"]
    names = sorted(o["Key"] for o in listed)
    assert names == sorted(
        f"orders/restore-orders/01JA0000000000000000000001/{p.relative_to(signed).as_posix()}"
        for p in signed.rglob("*")
        if p.is_file()
    )
    # moto answers GetObjectRetention with a 500; HEAD carries the same retention facts.
    attestation = "orders/restore-orders/01JA0000000000000000000001/attestation.intoto.json"
    head = s3.head_object(Bucket="dr-evidence", Key=attestation)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    days = (head["ObjectLockRetainUntilDate"] - datetime.now(UTC)).total_seconds() / 86400
    assert 29.9 < days <= 30
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket="dr-evidence", Key=attestation, VersionId=head["VersionId"])
    assert result.stdout.startswith("uploaded 1 bundle(s), ")

    refused = drill(tmp_path, "upload", str(reports), "--to", "s3://plain/orders")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == "error: s3://plain has no Object Lock"


def test_a_game_day_is_scheduled_as_one_cronjob_with_its_plan_in_the_repository(
    repo: Path, kube_cluster: KubeCluster
) -> None:
    plan = repo / "q4-orders.yaml"
    plan.write_text(
        "apiVersion: drillkit.io/v1\nkind: GameDay\nmetadata: {name: q4-orders}\n"
        "spec:\n  target: staging-k8s\n  entries:\n"
        "    - drill: readiness-orders\n    - drill: pod-kill-orders\n"
    )
    out = repo / "gameday-schedule"

    result = drill(
        repo,
        "schedule",
        "render",
        "--target",
        "staging-k8s",
        "--gameday",
        str(plan),
        "--output",
        str(out),
    )

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("40-*")) == ["40-cronjob-gameday-q4-orders.yaml"]
    for document in documents(out):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    created = kube_cluster.kubectl("create", "--validate=false", "-f", str(out), check=False)
    assert created.returncode == 0, created.stderr
    [job] = kube_cluster.store.list(CRONJOBS, "drillkit")
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"][2].splitlines()[1] == (
        "drill gameday run /repo/gamedays/q4-orders.yaml --yes"
    )
    assert {"key": "gamedays__q4-orders.yaml", "path": "gamedays/q4-orders.yaml"} in pod["volumes"][
        2
    ]["configMap"]["items"]
    [configmap] = kube_cluster.store.list(CONFIGMAPS, "drillkit")
    assert configmap["data"]["gamedays__q4-orders.yaml"] == plan.read_text()
    assert "core/pods" in result.stdout  # pod-kill-orders' permissions are in


def test_drill_plan_on_a_kubernetes_target_shows_the_permissions_too(repo: Path) -> None:
    result = drill(repo, "plan", "pod-kill-orders", "--target", "staging-k8s")

    # The target's kubeconfig does not exist, so the blast radius cannot be listed; the
    # permissions come from the plan alone and are shown before that.
    assert "Permissions (least privilege from the drills' steps):" in result.stdout
    assert "  namespace orders         core/pods " in result.stdout
