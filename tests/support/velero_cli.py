"""A test `velero` CLI: the subcommands drillkit calls, against the Kubernetes API emulator.

``install_velero(folder)`` writes a ``velero`` executable into ``folder`` that
runs this module with the test interpreter; put ``folder`` first on PATH.

Like the real CLI it reads the kubeconfig (``--kubeconfig``, ``--kubecontext``,
else ``$KUBECONFIG``), works on Backup and Restore objects of the velero.io/v1
API in the Velero namespace (``-n``, default ``velero``), and prints JSON the
way the real CLI does: one object for a named get, a ``BackupList`` /
``RestoreList`` otherwise. The emulator's Velero controller does the actual
restoring. Logs come from the Restore's ``status`` (the emulator keeps a few
lines there), since there is no object storage here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

VERSION = "v1.15.0"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="velero")
    parser.add_argument("-n", "--namespace", default="velero")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--kubecontext")
    parser.add_argument("words", nargs="+")
    parser.add_argument("-o", "--output")
    parser.add_argument("--client-only", action="store_true")
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--from-backup")
    parser.add_argument("--from-schedule")
    parser.add_argument("--include-namespaces")
    parser.add_argument("--existing-resource-policy")
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_intermixed_args(argv)
    words = args.words
    if words[0] == "version":
        print(f"Client:\n\tVersion: {VERSION}\n\tGit commit: test")
        return 0
    api = _custom_api(args)
    if words[:2] == ["backup", "get"]:
        return _get(api, args, "backups", "BackupList", words[2] if len(words) > 2 else None)
    if words[:2] == ["restore", "get"]:
        return _get(api, args, "restores", "RestoreList", words[2] if len(words) > 2 else None)
    if words[:2] == ["restore", "create"] and len(words) == 3:
        return _create_restore(api, args, words[2])
    if words[:2] == ["restore", "describe"] and len(words) == 3:
        return _describe(api, args, words[2])
    if words[:2] == ["restore", "logs"] and len(words) == 3:
        return _logs(api, args, words[2])
    print(f"An error occurred: unknown command {' '.join(words)!r}", file=sys.stderr)
    return 1


def _custom_api(args: argparse.Namespace) -> Any:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=args.kubeconfig, context=args.kubecontext, client_configuration=configuration
    )
    return client.CustomObjectsApi(client.ApiClient(configuration))


def _read(api: Any, args: argparse.Namespace, plural: str, name: str) -> dict[str, Any] | None:
    from kubernetes.client.exceptions import ApiException

    try:
        found: dict[str, Any] = api.get_namespaced_custom_object(
            "velero.io", "v1", args.namespace, plural, name
        )
        return found
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _get(api: Any, args: argparse.Namespace, plural: str, kind: str, name: str | None) -> int:
    if name is not None:
        found = _read(api, args, plural, name)
        if found is None:
            print(
                f'An error occurred: {plural[:-1]}s.velero.io "{name}" not found', file=sys.stderr
            )
            return 1
        print(json.dumps(found, indent=4))
        return 0
    listed = api.list_namespaced_custom_object("velero.io", "v1", args.namespace, plural)
    print(
        json.dumps(
            {
                "kind": kind,
                "apiVersion": "velero.io/v1",
                "metadata": {},
                "items": listed.get("items", []),
            },
            indent=4,
        )
    )
    return 0


def _create_restore(api: Any, args: argparse.Namespace, name: str) -> int:
    if bool(args.from_backup) == bool(args.from_schedule):
        print(
            "An error occurred: either a backup or schedule must be specified, but not both",
            file=sys.stderr,
        )
        return 1
    if args.from_backup and _read(api, args, "backups", args.from_backup) is None:
        print(
            f'An error occurred: backups.velero.io "{args.from_backup}" not found', file=sys.stderr
        )
        return 1
    spec: dict[str, Any] = {"includedNamespaces": (args.include_namespaces or "*").split(",")}
    if args.from_backup:
        spec["backupName"] = args.from_backup
    else:
        spec["scheduleName"] = args.from_schedule
    if args.existing_resource_policy:
        spec["existingResourcePolicy"] = args.existing_resource_policy
    body = {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": name, "namespace": args.namespace},
        "spec": spec,
    }
    api.create_namespaced_custom_object("velero.io", "v1", args.namespace, "restores", body)
    print(f'Restore request "{name}" submitted successfully.')
    print(f"Run `velero restore describe {name}` or `velero restore logs {name}` for more details.")
    return 0


def _describe(api: Any, args: argparse.Namespace, name: str) -> int:
    restore = _read(api, args, "restores", name)
    if restore is None:
        print(f'An error occurred: restores.velero.io "{name}" not found', file=sys.stderr)
        return 1
    spec, status = restore.get("spec") or {}, restore.get("status") or {}
    print(f"Name:         {name}\nNamespace:    {args.namespace}\n")
    print(f"Phase:                       {status.get('phase', 'New')}\n")
    print(f"Warnings:  {status.get('warnings', 0)}\nErrors:    {status.get('errors', 0)}\n")
    print(f"Backup:  {spec.get('backupName', '')}\n")
    print(
        f"Namespaces:\n  Included:  {', '.join(spec.get('includedNamespaces') or ['*'])}\n  Excluded:  <none>\n"
    )
    print(
        f"Started:    {status.get('startTimestamp', '<n/a>')}\nCompleted:  {status.get('completionTimestamp', '<n/a>')}"
    )
    return 0


def _logs(api: Any, args: argparse.Namespace, name: str) -> int:
    restore = _read(api, args, "restores", name)
    if restore is None:
        print(f'An error occurred: restores.velero.io "{name}" not found', file=sys.stderr)
        return 1
    for line in (restore.get("status") or {}).get("logs") or []:
        print(line)
    return 0


def install_velero(folder: Path) -> Path:
    """A ``velero`` executable in ``folder`` that runs this module; returns its path."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    executable = folder / "velero"
    root = Path(__file__).resolve().parents[2]
    executable.write_text(
        f'#!/bin/sh\nPYTHONPATH={root} exec {sys.executable} -m tests.support.velero_cli "$@"\n'
    )
    os.chmod(executable, 0o755)
    return executable


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
