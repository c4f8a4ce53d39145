"""The manifests of a scheduled drill: what ``drill schedule render`` writes, as plain documents.

For one target and some drills: a Namespace, a ServiceAccount, the RBAC the
drills need (``rbac``; a Role and RoleBinding per namespace, a ClusterRole and
ClusterRoleBinding for cluster-scoped calls), a ConfigMap holding the drill
repository (or nothing, when the repository is baked into the image), one
CronJob per drill, and the Dockerfile of the runner image.

The CronJob's container runs ``drill run DRILL --target T --yes`` with the
repository mounted read-only, evidence in an emptyDir, then ``drill upload``
to S3 with Object Lock when an upload URI is given; the job fails when the
drill did not pass or the upload failed. The signing key comes from a Secret
mounted as a file (never rendered here: the command to create it is printed)
or is a cloud key URI the pod's workload identity may use. The pod runs as a
non-root user with a read-only root filesystem and no capabilities. In the
ConfigMap's ``targets.yaml`` the target reaches its cluster with ``inCluster``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillkit.schedule.rbac import CLUSTER, Permissions

REPOSITORY_FOLDERS = ("drills", "probes", "runbooks", "experiments")
MOUNT_REPOSITORY = "/repo"
MOUNT_EVIDENCE = "/evidence"
MOUNT_KEY = "/var/run/secrets/drillkit/signing"
KEY_FILE = "ed25519.key"
CONFIGMAP_LIMIT = 900 * 1024
"""A ConfigMap holds at most 1 MiB; leave room for metadata."""


@dataclass(frozen=True)
class ScheduleOptions:
    target: str
    drills: tuple[str, ...]
    schedule: str = "0 3 * * 1"
    namespace: str = "drillkit"
    image: str = "registry.example.com/drillkit-runner:latest"
    repository_from: str = "configmap"
    """``configmap`` or ``image``."""
    signing_secret: str = "drillkit-signing-key"
    signing_key_uri: str | None = None
    upload: str | None = None
    retain_days: int = 400
    lock_mode: str = "COMPLIANCE"
    needs_velero: bool = False
    service_account_annotations: dict[str, str] = field(default_factory=dict)

    @property
    def base_name(self) -> str:
        return f"drillkit-{self.target}"[:52].rstrip("-")


def _meta(name: str, options: ScheduleOptions, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {
            "app.kubernetes.io/name": "drillkit",
            "app.kubernetes.io/component": "scheduled-drill",
            "drillkit.io/target": options.target,
        },
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def namespace_document(options: ScheduleOptions) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(options.namespace, options)}


def service_account(options: ScheduleOptions) -> dict[str, Any]:
    meta = _meta(options.base_name, options, options.namespace)
    if options.service_account_annotations:
        meta["annotations"] = dict(options.service_account_annotations)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": True,
    }


def rbac_documents(options: ScheduleOptions, permissions: Permissions) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    subject = [
        {"kind": "ServiceAccount", "name": options.base_name, "namespace": options.namespace}
    ]
    for namespace, grants in sorted(permissions.merged().items()):
        rules = [
            {"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
            for (group, resource), verbs in sorted(grants.items())
        ]
        if namespace == CLUSTER:
            kind, binding, meta_ns = "ClusterRole", "ClusterRoleBinding", None
        else:
            kind, binding, meta_ns = "Role", "RoleBinding", namespace
        name = options.base_name
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": _meta(name, options, meta_ns),
                "rules": rules,
            }
        )
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": binding,
                "metadata": _meta(name, options, meta_ns),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
                "subjects": subject,
            }
        )
    return documents


def config_key(relative: str) -> str:
    """A ConfigMap key for a repository path (keys may not hold ``/``)."""
    return relative.replace("/", "__")


def repository_configmap(
    options: ScheduleOptions, files: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The ConfigMap and the volume items that put each key back at its path."""
    data = {config_key(path): text for path, text in sorted(files.items())}
    items = [{"key": config_key(path), "path": path} for path in sorted(files)]
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{options.base_name}-repository", options, options.namespace),
        "data": data,
    }
    return document, items


@dataclass(frozen=True)
class Job:
    """What one CronJob runs: a drill, or a game-day plan from the repository."""

    name: str
    command: str
    label: tuple[str, str]

    @classmethod
    def drill(cls, options: ScheduleOptions, drill: str) -> Job:
        command = f"drill run {shlex.quote(drill)} --target {shlex.quote(options.target)} --yes"
        name = f"drill-{drill}-{options.target}"[:52].rstrip("-")
        return cls(name, command, ("drillkit.io/drill", drill))

    @classmethod
    def gameday(cls, options: ScheduleOptions, plan: str, path: str) -> Job:
        command = f"drill gameday run {shlex.quote(f'{MOUNT_REPOSITORY}/{path}')} --yes"
        name = f"gameday-{plan}-{options.target}"[:52].rstrip("-")
        return cls(name, command, ("drillkit.io/gameday", plan))


def cronjob(options: ScheduleOptions, job: Job, items: list[dict[str, str]]) -> dict[str, Any]:
    name = job.name
    env: list[dict[str, Any]] = [
        {"name": "DRILLKIT_REPO", "value": MOUNT_REPOSITORY},
        {"name": "DRILLKIT_OUTPUT", "value": MOUNT_EVIDENCE},
        {"name": "HOME", "value": "/tmp"},
        {"name": "XDG_DATA_HOME", "value": "/tmp/data"},
        {"name": "DRILLKIT_LOCK_DIR", "value": "/tmp/locks"},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "evidence", "mountPath": MOUNT_EVIDENCE},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "evidence", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if options.repository_from == "configmap":
        mounts.append({"name": "repository", "mountPath": MOUNT_REPOSITORY, "readOnly": True})
        volumes.append(
            {
                "name": "repository",
                "configMap": {"name": f"{options.base_name}-repository", "items": items},
            }
        )
    if options.signing_key_uri:
        env.append({"name": "DRILLKIT_SIGNING_KEY", "value": options.signing_key_uri})
    else:
        env.append({"name": "DRILLKIT_SIGNING_KEY", "value": f"{MOUNT_KEY}/{KEY_FILE}"})
        env.append(
            {
                "name": "DRILLKIT_SIGNING_KEY_PASSPHRASE",
                "valueFrom": {
                    "secretKeyRef": {
                        "name": options.signing_secret,
                        "key": "passphrase",
                        "optional": True,
                    }
                },
            }
        )
        mounts.append({"name": "signing-key", "mountPath": MOUNT_KEY, "readOnly": True})
        volumes.append(
            {
                "name": "signing-key",
                "secret": {
                    "secretName": options.signing_secret,
                    "defaultMode": 0o400,
                    "items": [{"key": KEY_FILE, "path": KEY_FILE}],
                },
            }
        )
    container = {
        "name": "drill",
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", run_script(options, job.command)],
        "env": env,
        "volumeMounts": mounts,
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, options, options.namespace),
        "spec": {
            "schedule": options.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 4 * 3600,
                    "template": {
                        "metadata": {
                            "labels": {
                                "app.kubernetes.io/name": "drillkit",
                                job.label[0]: job.label[1],
                            }
                        },
                        "spec": {
                            "serviceAccountName": options.base_name,
                            "restartPolicy": "Never",
                            "securityContext": {
                                "seccompProfile": {"type": "RuntimeDefault"},
                                "fsGroup": 10001,
                            },
                            "containers": [container],
                            "volumes": volumes,
                        },
                    },
                }
            },
        },
    }


def run_script(options: ScheduleOptions, command: str) -> str:
    """The container's shell script: run, then upload; fail when either did."""
    lines = ["set -u", command, "status=$?"]
    if options.upload:
        upload = (
            f"drill upload {MOUNT_EVIDENCE} --to {shlex.quote(options.upload)} "
            f"--retain-days {options.retain_days} --mode {options.lock_mode}"
        )
        lines.append(f"{upload} || status=1")
    lines.append('exit "$status"')
    return "\n".join(lines) + "\n"


def dockerfile(options: ScheduleOptions) -> str:
    lines = [
        "# The drillkit runner image for scheduled drills (written by `drill schedule render`).",
        "# Build from a checkout of drillkit: docker build -f THIS_FILE -t IMAGE .",
        "FROM python:3.11-slim",
        "WORKDIR /opt/drillkit",
        "COPY pyproject.toml README.md ./",
        "COPY requirements/ requirements/",
        "COPY src/ src/",
        "RUN pip install --no-cache-dir -c requirements/constraints.txt . \\",
        " && useradd --uid 10001 --create-home drill",
    ]
    if options.needs_velero:
        lines += [
            "# backup-restore drills call the velero CLI: put the binary of your Velero",
            "# server's version next to this file (from your artefact mirror) before building.",
            "COPY velero /usr/local/bin/velero",
        ]
    if options.repository_from == "image":
        lines += [
            "# The drill repository, baked in (--repository image): rebuild when a drill changes.",
            *(f"COPY {folder}/ {MOUNT_REPOSITORY}/{folder}/" for folder in REPOSITORY_FOLDERS),
            f"COPY targets.yaml {MOUNT_REPOSITORY}/targets.yaml",
        ]
    lines += ["USER 10001", 'ENTRYPOINT ["drill"]']
    return "\n".join(lines) + "\n"


def repository_files(root: Path, targets_yaml: str) -> dict[str, str]:
    """The drill repository's text files for the ConfigMap, with the in-cluster targets.yaml."""
    files: dict[str, str] = {"targets.yaml": targets_yaml}
    for folder in REPOSITORY_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    return files
