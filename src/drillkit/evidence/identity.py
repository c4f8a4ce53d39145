"""Who ran the drill and where: operator, cloud identities, cluster, regions and scope.

Only facts the journal holds are used: the run facts journaled at start (OS
user, host, the target definition as it was) and the ``identity`` events a
provider journals after opening (cluster identity, caller identity). A fact
nobody recorded stays ``None`` and the renderers say "not recorded"; nothing
is looked up again at render time, when the answer could have changed.

Providers journal identity facts under any keys; these are the ones read
into named fields (nested keys are joined with dots):

- AWS caller: ``awsCallerArn``, ``aws.callerArn``, ``aws.arn``, ``callerArn``
- Azure caller: ``azureObjectId``, ``azure.objectId``, ``objectId``
- Kubernetes user: ``kubernetesUser``, ``kubernetes.user``, ``kubernetes.username``
- cluster: ``cluster``, ``clusterArn``, ``clusterId``, ``aws.cluster``,
  ``azure.cluster``, ``kubernetes.cluster``, ``kubernetes.context``
- regions: ``region``, ``regions``, ``aws.region``, ``azure.region``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drillkit.engine.journal import JournalEvent
from drillkit.evidence.report_model import OperatorFacts, TargetFacts
from drillkit.spec.drill import Drill

_AWS_CALLER = ("awsCallerArn", "aws.callerArn", "aws.arn", "callerArn")
_AZURE_CALLER = ("azureObjectId", "azure.objectId", "objectId")
_KUBERNETES_USER = ("kubernetesUser", "kubernetes.user", "kubernetes.username")
_CLUSTER = (
    "cluster",
    "clusterArn",
    "clusterId",
    "aws.cluster",
    "azure.cluster",
    "kubernetes.cluster",
    "kubernetes.context",
)
_REGION_PREFIXES = ("region", "regions", "aws.region", "azure.region")


def identity_facts(events: Sequence[JournalEvent]) -> dict[str, str]:
    """Every fact of every ``identity`` event, flattened to dotted keys (later events win)."""
    facts: dict[str, str] = {}
    for event in events:
        if event.type == "identity":
            _flatten(event.data, "", facts)
    return dict(sorted(facts.items()))


def operator_facts(run_facts: dict[str, Any], identity: dict[str, str]) -> OperatorFacts:
    return OperatorFacts(
        os_user=_text(run_facts.get("operator")),
        host=_text(run_facts.get("host")),
        aws_caller_arn=_first(identity, _AWS_CALLER),
        azure_object_id=_first(identity, _AZURE_CALLER),
        kubernetes_user=_first(identity, _KUBERNETES_USER),
        identity=identity,
    )


def target_facts(run_facts: dict[str, Any], identity: dict[str, str], drill: Drill) -> TargetFacts:
    definition = run_facts.get("targetDefinition")
    target: dict[str, Any] = definition if isinstance(definition, dict) else {}
    settings: dict[str, str] = {}
    for section in ("aws", "azure", "kubernetes"):
        if isinstance(target.get(section), dict):
            _flatten(target[section], f"{section}.", settings)
    regions = [value for key, value in identity.items() if key.split("[")[0] in _REGION_PREFIXES]
    if settings.get("aws.region"):
        regions.append(settings["aws.region"])
    regions.extend(str(v) for v in _mapping(target.get("regions")).values())
    return TargetFacts(
        name=str(run_facts.get("target", "")),
        provider=str(run_facts.get("provider", target.get("provider", ""))),
        tier=_text(target.get("tier")),
        description=str(target.get("description") or ""),
        cluster=_first(identity, _CLUSTER) or _cluster_from_settings(settings),
        regions=tuple(dict.fromkeys(regions)),
        zones=tuple(dict.fromkeys(str(v) for v in _mapping(target.get("zones")).values())),
        namespaces=tuple(drill.spec.scope.namespaces),
        services=tuple(drill.spec.scope.services),
    )


def _cluster_from_settings(settings: dict[str, str]) -> str | None:
    if settings.get("aws.cluster"):
        return (
            f"EKS {settings['aws.cluster']} ({settings.get('aws.region', 'region not recorded')})"
        )
    if settings.get("azure.cluster"):
        return (
            f"AKS {settings['azure.cluster']} (resource group "
            f"{settings.get('azure.resourceGroup', '?')}, subscription "
            f"{settings.get('azure.subscriptionId', '?')})"
        )
    if settings.get("kubernetes.context"):
        return f"kubeconfig context {settings['kubernetes.context']}"
    if settings.get("kubernetes.inCluster") == "true":
        return "the cluster drillkit runs in (in-cluster service account)"
    return None


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}." if isinstance(item, dict) else f"{prefix}{key}", out)
        return
    key = prefix.rstrip(".")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{key}[{index}]", out)
        return
    if value is None:
        return
    out[key] = "true" if value is True else "false" if value is False else str(value)


def _first(facts: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((facts[key] for key in keys if facts.get(key)), None)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
