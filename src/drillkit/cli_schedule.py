"""``drill schedule render|permissions`` and ``drill upload``: drills as Kubernetes CronJobs.

Thin like the rest of the CLI: plan the drills on the target, compute the
permissions (``drillkit.schedule.rbac``), build the manifests
(``drillkit.schedule.manifests``), write them; upload goes through
``drillkit.providers.evidence_upload``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

KUBERNETES_PROVIDERS = ("kubernetes", "eks", "aks")


@click.group()
def schedule() -> None:
    """Scheduled drills on Kubernetes: CronJob, least-privilege RBAC, runner image."""


_target_option = click.option(
    "--target", "-t", "target_name", required=True, help="A Kubernetes target of the registry."
)
_drills_argument = click.argument("drills", nargs=-1)


@schedule.command("permissions")
@_target_option
@_drills_argument
@click.pass_obj
def permissions_command(state: Any, target_name: str, drills: tuple[str, ...]) -> None:
    """The API verbs x resources the drills need on TARGET, per namespace (changes nothing)."""
    _, _, permissions = _plan(state, target_name, drills)
    _print_permissions(permissions)


@schedule.command("render")
@_target_option
@_drills_argument
@click.option(
    "--output",
    "output_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the manifests and the Dockerfile.",
)
@click.option("--schedule", "cron", default="0 3 * * 1", show_default=True, help="Cron schedule.")
@click.option("--namespace", default="drillkit", show_default=True, help="Where the jobs run.")
@click.option(
    "--image",
    default="registry.example.com/drillkit-runner:latest",
    show_default=True,
    help="The runner image (built from the rendered Dockerfile).",
)
@click.option(
    "--repository",
    "repository_from",
    type=click.Choice(["configmap", "image"]),
    default="configmap",
    show_default=True,
    help="Mount the drill repository from a ConfigMap, or bake it into the image.",
)
@click.option(
    "--signing-secret",
    default="drillkit-signing-key",
    show_default=True,
    help="Secret holding ed25519.key (and optionally passphrase) that signs the evidence.",
)
@click.option(
    "--signing-key-uri",
    default=None,
    help="Sign with a cloud key instead (awskms://..., azurekms://...): the service account "
    "needs the cloud identity (see --service-account-annotation).",
)
@click.option(
    "--upload",
    default=None,
    metavar="s3://BUCKET/PREFIX",
    help="After each run, upload the signed evidence to this bucket (Object Lock).",
)
@click.option("--retain-days", default=400, show_default=True, type=click.IntRange(1, 36500))
@click.option(
    "--lock-mode",
    type=click.Choice(["COMPLIANCE", "GOVERNANCE"]),
    default="COMPLIANCE",
    show_default=True,
)
@click.option(
    "--gameday",
    "gameday_plan",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Schedule this game-day plan (one CronJob running `drill gameday run`) instead of "
    "one CronJob per drill; its drills are the DRILLS.",
)
@click.option(
    "--service-account-annotation",
    "annotations",
    multiple=True,
    metavar="KEY=VALUE",
    help="E.g. eks.amazonaws.com/role-arn=... (IRSA) or azure.workload.identity/client-id=...",
)
@click.pass_obj
def render_command(
    state: Any,
    target_name: str,
    drills: tuple[str, ...],
    output_dir: Path,
    cron: str,
    namespace: str,
    image: str,
    repository_from: str,
    signing_secret: str,
    signing_key_uri: str | None,
    upload: str | None,
    retain_days: int,
    lock_mode: str,
    gameday_plan: Path | None,
    annotations: tuple[str, ...],
) -> None:
    """Write the manifests of CronJobs that run DRILLS (default: all) on TARGET in-cluster.

    \b
    Files: 00-namespace.yaml, 10-serviceaccount.yaml, 20-rbac.yaml (Role per
    namespace, ClusterRole for nodes/namespaces/reviews: least privilege from the
    drills' steps), 30-repository-configmap.yaml (unless --repository image),
    40-cronjob-<drill>.yaml per drill, and Dockerfile for the runner image.
    The signing key is never written: the command that creates its Secret is printed.
    """
    import yaml

    from drillkit.cloud_keys import is_key_uri
    from drillkit.errors import UserInputError
    from drillkit.schedule import manifests

    if signing_key_uri is not None and not is_key_uri(signing_key_uri):
        raise UserInputError(
            f"--signing-key-uri {signing_key_uri!r} is not a cloud key URI",
            fix="awskms:///ARN-or-alias or azurekms://VAULT.vault.azure.net/KEY; for a key "
            "file, use --signing-secret",
        )
    if upload is not None:
        _uploads().parse_destination(upload)
    if len(cron.split()) != 5:
        raise UserInputError(
            f"--schedule {cron!r} is not a cron schedule of five fields",
            fix='e.g. --schedule "0 3 * * 1" (Mondays 03:00)',
        )
    gameday_file: tuple[str, str, str] | None = None
    if gameday_plan is not None:
        gameday_file, drills = _gameday(gameday_plan, target_name, drills)
    repo, plans, permissions = _plan(state, target_name, drills)
    target = repo.target(target_name)
    options = manifests.ScheduleOptions(
        target=target_name,
        drills=tuple(p.drill.name for p in plans),
        schedule=cron,
        namespace=namespace,
        image=image,
        repository_from=repository_from,
        signing_secret=signing_secret,
        signing_key_uri=signing_key_uri,
        upload=upload,
        retain_days=retain_days,
        lock_mode=lock_mode,
        needs_velero=any(r.group == "velero.io" for r in permissions.rules),
        service_account_annotations=_annotations(annotations),
    )
    files: dict[str, list[dict[str, Any]]] = {
        "00-namespace.yaml": [manifests.namespace_document(options)],
        "10-serviceaccount.yaml": [manifests.service_account(options)],
        "20-rbac.yaml": manifests.rbac_documents(options, permissions),
    }
    items: list[dict[str, str]] = []
    in_cluster = _in_cluster_targets(target_name, target)
    if repository_from == "configmap":
        repository = manifests.repository_files(Path(repo.root), in_cluster)
        if gameday_file is not None:
            repository[gameday_file[1]] = gameday_file[2]
        configmap, items = manifests.repository_configmap(options, repository)
        size = sum(len(v.encode()) for v in configmap["data"].values())
        if size > manifests.CONFIGMAP_LIMIT:
            raise UserInputError(
                f"the drill repository is {size // 1024} KiB, more than a ConfigMap holds",
                fix="use --repository image to bake it into the runner image",
            )
        files["30-repository-configmap.yaml"] = [configmap]
    if gameday_file is not None:
        job = manifests.Job.gameday(options, gameday_file[0], gameday_file[1])
        files[f"40-cronjob-gameday-{gameday_file[0]}.yaml"] = [
            manifests.cronjob(options, job, items)
        ]
    else:
        for plan in plans:
            job = manifests.Job.drill(options, plan.drill.name)
            files[f"40-cronjob-{plan.drill.name}.yaml"] = [manifests.cronjob(options, job, items)]
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, documents in files.items():
        text = yaml.dump_all(documents, Dumper=_block_dumper(), sort_keys=False, width=100)
        (output_dir / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output_dir / name}")
    (output_dir / "Dockerfile").write_text(manifests.dockerfile(options), encoding="utf-8")
    click.echo(f"wrote {output_dir / 'Dockerfile'}")
    if repository_from == "image":
        if gameday_file is not None:
            click.echo(f"note: copy {gameday_plan} into the image at /repo/{gameday_file[1]}")
        (output_dir / "targets.yaml").write_text(in_cluster, encoding="utf-8")
        click.echo(f"wrote {output_dir / 'targets.yaml'} (copy it to the image's build context)")
    _print_permissions(permissions)
    _print_next(options, output_dir)


@click.command("upload")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "destination", required=True, metavar="s3://BUCKET/PREFIX")
@click.option("--retain-days", default=400, show_default=True, type=int)
@click.option(
    "--mode",
    type=click.Choice(["COMPLIANCE", "GOVERNANCE"]),
    default="COMPLIANCE",
    show_default=True,
    help="Object Lock retention mode of every object.",
)
def upload_command(source: Path, destination: str, retain_days: int, mode: str) -> None:
    """Upload signed evidence (a run folder or a reports folder) to S3 with Object Lock.

    Only to a bucket with Object Lock enabled; each object is retained until
    now + --retain-days in --mode. Unsigned runs are named and skipped.
    Exit codes: 0 uploaded, 1 an upload failed, 2 bad input or no Object Lock.
    """
    result = _uploads().upload(source, destination, retain_days=retain_days, mode=mode)
    for skipped in result.skipped:
        click.echo(f"warning: skipped {skipped}", err=True)
    until = result.retain_until.strftime("%Y-%m-%d")
    click.echo(
        f"uploaded {len(result.bundles)} bundle(s), {len(result.keys)} objects to "
        f"s3://{result.bucket} ({result.mode} until {until})"
    )


def _plan(state: Any, target_name: str, drills: tuple[str, ...]) -> tuple[Any, list[Any], Any]:
    from drillkit.engine.plan import make_plan
    from drillkit.errors import UserInputError
    from drillkit.schedule.rbac import permissions

    repo = state.repository()
    target = repo.target(target_name)
    if target.provider not in KUBERNETES_PROVIDERS or target.kubernetes is None:
        raise UserInputError(
            f"target {target_name} is `{target.provider}`, not a Kubernetes cluster",
            fix="scheduled drills run as CronJobs: pick a kubernetes, eks or aks target",
        )
    names = list(drills) or [path.stem for path in repo.drill_paths()]
    plans = [make_plan(repo.load_named(name), target_name, target) for name in names]
    settings = target.kubernetes
    return repo, plans, permissions(plans, settings.lock_namespace, settings.velero_namespace)


def _print_permissions(permissions: Any) -> None:
    from drillkit.schedule.rbac import CLUSTER

    click.echo("Permissions (least privilege from the drills' steps):")
    for namespace, grants in sorted(permissions.merged().items()):
        where = "cluster-wide" if namespace == CLUSTER else f"namespace {namespace}"
        for (group, resource), verbs in sorted(grants.items()):
            name = f"{group or 'core'}/{resource}"
            click.echo(f"  {where:<24} {name:<48} {','.join(sorted(verbs))}")
    for step in permissions.unknown:
        click.echo(
            f"warning: {step}: its API calls are not known; add the rules it needs to "
            "20-rbac.yaml by hand",
            err=True,
        )


def _in_cluster_targets(target_name: str, target: Any) -> str:
    """targets.yaml for the pod: the target reaches its cluster from inside, no key file."""
    import yaml

    document = target.model_dump(mode="json", by_alias=True, exclude_none=True)
    settings = target.kubernetes
    document["kubernetes"] = {
        "inCluster": True,
        "lockNamespace": settings.lock_namespace,
        "veleroNamespace": settings.velero_namespace,
    }
    document.pop("signingKey", None)
    registry = {
        "apiVersion": "drillkit.io/v1",
        "kind": "TargetRegistry",
        "targets": {target_name: document},
    }
    return yaml.safe_dump(registry, sort_keys=False)


def _annotations(pairs: tuple[str, ...]) -> dict[str, str]:
    from drillkit.errors import UserInputError

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserInputError(
                f"--service-account-annotation {pair!r} is not KEY=VALUE",
                fix="e.g. eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/drill",
            )
        out[key] = value
    return out


def _block_dumper() -> Any:
    """A YAML dumper that writes multi-line text (the job's script) as a literal block."""
    import yaml

    class BlockDumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    BlockDumper.add_representer(str, text)
    return BlockDumper


def _uploads() -> Any:
    """The evidence upload provider, loaded by name like the cloud signers (``cloud_keys``):
    it imports boto3, which only ``drillkit.providers`` may."""
    import importlib

    return importlib.import_module("drillkit.providers.evidence_upload")


def _gameday(
    path: Path, target_name: str, drills: tuple[str, ...]
) -> tuple[tuple[str, str, str], tuple[str, ...]]:
    """(plan name, its path in the repository mount, its text) and the plan's drills."""
    from drillkit.errors import UserInputError
    from drillkit.gameday.plan_file import load_plan

    loaded = load_plan(path)
    entries = [e for e in loaded.plan.spec.entries if e.is_drill]
    elsewhere = sorted({loaded.target_of(e) for e in entries} - {target_name})
    if elsewhere:
        raise UserInputError(
            f"{path}: the game-day also runs on {', '.join(elsewhere)}; a CronJob on "
            f"{target_name} reaches only its own cluster",
            fix="split the plan per target, or schedule it where every target is reachable",
        )
    if drills:
        raise UserInputError(
            "give either DRILLS or --gameday: the game-day's drills are its entries",
            fix=f"drop the drill names: drill schedule render --target {target_name} "
            f"--gameday {path} ...",
        )
    names = tuple(dict.fromkeys(str(e.drill) for e in entries))
    return (loaded.name, f"gamedays/{loaded.name}.yaml", loaded.raw.decode("utf-8")), names


def _print_next(options: Any, output_dir: Path) -> None:
    from drillkit.schedule.manifests import KEY_FILE

    click.echo("Next:")
    if options.signing_key_uri is None:
        click.echo(
            f"  kubectl -n {options.namespace} create secret generic {options.signing_secret} "
            f"--from-file={KEY_FILE}=PATH/TO/PRIVATE.key"
        )
    image = options.image
    click.echo(f"  docker build -f {output_dir / 'Dockerfile'} -t {image} . && docker push {image}")
    click.echo(f"  kubectl apply -f {output_dir}")


def print_plan_permissions(planned: Any) -> None:
    """The Kubernetes permissions of one plan, as `drill plan` shows them."""
    from drillkit.schedule.rbac import permissions

    settings = planned.target.kubernetes
    _print_permissions(permissions([planned], settings.lock_namespace, settings.velero_namespace))
