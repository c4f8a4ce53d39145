"""Discovery, version and typed models: what the clients read before and while they work."""

from __future__ import annotations

import pytest
from kubernetes.client import (
    ApisApi,
    AppsV1Api,
    CoordinationV1Api,
    CoreApi,
    CoreV1Api,
    CustomObjectsApi,
    PolicyV1Api,
    VersionApi,
)

from tests.support.kube.fixtures import KubeCluster


def test_version_and_api_groups_are_discoverable(kube: KubeCluster) -> None:
    client = kube.client()

    version = VersionApi(client).get_code()
    groups = {
        g.name: g.preferred_version.version for g in ApisApi(client).get_api_versions().groups
    }

    assert (version.major, version.minor, version.git_version) == ("1", "31", "v1.31.4")
    assert CoreApi(client).get_api_versions().versions == ["v1"]
    assert groups == {
        "apps": "v1",
        "policy": "v1",
        "coordination.k8s.io": "v1",
        "authorization.k8s.io": "v1",
        "authentication.k8s.io": "v1",
        "velero.io": "v1",
        "external-secrets.io": "v1beta1",
        "batch": "v1",
        "rbac.authorization.k8s.io": "v1",
    }


def test_resource_lists_name_verbs_scope_kind_and_subresources(kube: KubeCluster) -> None:
    client = kube.client()

    core = {r.name: r for r in CoreV1Api(client).get_api_resources().resources}
    apps = {r.name: r for r in AppsV1Api(client).get_api_resources().resources}

    assert core["nodes"].namespaced is False and core["pods"].namespaced is True
    assert (
        core["pods/eviction"].group,
        core["pods/eviction"].kind,
        core["pods/eviction"].verbs,
    ) == ("policy", "Eviction", ["create"])
    assert "watch" in core["pods"].verbs and core["pods"].short_names == ["po"]
    assert (apps["deployments/scale"].group, apps["deployments/scale"].kind) == (
        "autoscaling",
        "Scale",
    )


def test_an_unknown_path_is_a_404_status(kube: KubeCluster) -> None:
    http = kube.client().rest_client.pool_manager

    answer = http.request("GET", f"{kube.url}/apis/example.com/v1/widgets")

    assert answer.status == 404 and b'"reason":"NotFound"' in answer.data


def test_every_seeded_kind_reads_into_the_clients_typed_models(kube_cluster: KubeCluster) -> None:
    """kubernetes 37's models check required fields: a missing one fails deserialisation."""
    kube_cluster.run_controllers().wait_idle()
    client = kube_cluster.client()
    core, apps = CoreV1Api(client), AppsV1Api(client)

    listed = {
        "nodes": core.list_node().items,
        "pods": core.list_pod_for_all_namespaces().items,
        "namespaces": core.list_namespace().items,
        "services": core.list_service_for_all_namespaces().items,
        "secrets": core.list_secret_for_all_namespaces().items,
        "configmaps": core.list_config_map_for_all_namespaces().items,
        "serviceaccounts": core.list_service_account_for_all_namespaces().items,
        "deployments": apps.list_deployment_for_all_namespaces().items,
        "replicasets": apps.list_replica_set_for_all_namespaces().items,
        "pdbs": PolicyV1Api(client).list_pod_disruption_budget_for_all_namespaces().items,
        "leases": CoordinationV1Api(client).list_lease_for_all_namespaces().items,
    }

    assert {k: bool(v) for k, v in listed.items()} == {k: k != "leases" for k in listed}
    assert all(p.status.container_statuses[0].ready for p in listed["pods"])


@pytest.mark.parametrize(
    ("group", "version", "plural", "namespace"),
    [
        ("velero.io", "v1", "backups", "velero"),
        ("velero.io", "v1", "schedules", "velero"),
        ("velero.io", "v1", "backupstoragelocations", "velero"),
        ("external-secrets.io", "v1beta1", "externalsecrets", "orders"),
    ],
)
def test_custom_resources_are_served_with_their_status(
    kube: KubeCluster, group: str, version: str, plural: str, namespace: str
) -> None:
    kube.seed()

    found = CustomObjectsApi(kube.client()).list_namespaced_custom_object(
        group, version, namespace, plural
    )

    assert found["items"] and all(item.get("status") for item in found["items"])
    assert found["kind"].endswith("List")
