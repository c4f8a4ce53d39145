"""Discovery and version: what ``kubectl`` and the clients read before any real request.

``/api`` and ``/apis`` list the groups, ``/api/v1`` and ``/apis/G/V`` the
resources with verbs, scope, kind, short names and subresources (``pods/eviction``
is ``policy/v1 Eviction``, ``deployments/scale`` is ``autoscaling/v1 Scale``).
Aggregated discovery (``apidiscovery.k8s.io/v2``) is not offered: clients fall
back to these documents when the answer's content type is plain JSON, as they
do against older servers. OpenAPI is absent (404), which ``kubectl get``,
``cordon`` and ``-o json`` tolerate.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from tests.support.kube.errors import JsonObject
from tests.support.kube.resources import ResourceType

_SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "status": (None, None, None, ("get", "patch", "update")),
    "finalize": (None, None, None, ("update",)),
}


@dataclass(frozen=True)
class ServerVersion:
    major: str = "1"
    minor: str = "31"
    patch: str = "4"

    @property
    def git_version(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    def document(self) -> JsonObject:
        return {
            "major": self.major,
            "minor": self.minor,
            "gitVersion": self.git_version,
            "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
            "gitTreeState": "clean",
            "buildDate": "2024-12-10T11:38:07Z",
            "goVersion": "go1.22.9",
            "compiler": "gc",
            "platform": "linux/amd64",
        }


def _group_versions(kinds: Iterable[ResourceType]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind in kinds:
        versions = found.setdefault(kind.group, [])
        if kind.version not in versions:
            versions.append(kind.version)
    return found


def api_versions(address: str) -> JsonObject:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: list[str]) -> JsonObject:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(kinds: Iterable[ResourceType]) -> JsonObject:
    groups = [_group(g, v) for g, v in _group_versions(kinds).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(kinds: Iterable[ResourceType], name: str) -> JsonObject | None:
    versions = _group_versions(kinds).get(name)
    if not name or versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(kinds: Iterable[ResourceType], group: str, version: str) -> JsonObject | None:
    chosen = [k for k in kinds if k.group == group and k.version == version]
    if not chosen:
        return None
    resources: list[JsonObject] = []
    for kind in chosen:
        entry: JsonObject = {
            "name": kind.plural,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": sorted(kind.verbs),
        }
        if kind.short_names:
            entry["shortNames"] = list(kind.short_names)
        if kind.categories:
            entry["categories"] = list(kind.categories)
        digest = hashlib.sha256(kind.qualified.encode()).digest()
        entry["storageVersionHash"] = base64.b64encode(digest[:8]).decode()
        resources.append(entry)
        for sub in kind.subresources:
            sub_group, sub_version, sub_kind, verbs = _SUBRESOURCE_KINDS[sub]
            described: JsonObject = {
                "name": f"{kind.plural}/{sub}",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": sub_kind or kind.kind,
                "verbs": list(verbs),
            }
            if sub_group is not None:
                described.update(group=sub_group, version=sub_version)
            resources.append(described)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
