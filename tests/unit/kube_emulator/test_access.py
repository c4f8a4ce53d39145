"""Who may do what: tokens, impersonation, SelfSubjectAccessReview and enforced rules."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import (
    ApiClient,
    ApiException,
    AuthorizationV1Api,
    Configuration,
    CoreV1Api,
    V1ResourceAttributes,
    V1SelfSubjectAccessReview,
    V1SelfSubjectAccessReviewSpec,
)

from tests.support.kube.access import AccessRule
from tests.support.kube.cluster import add_namespace
from tests.support.kube.fixtures import KubeCluster

READ_PODS = AccessRule(
    "sre-read",
    verbs=("get", "list", "watch"),
    resources=("pods",),
    api_groups=("",),
    groups=("sre",),
)
EVICT = AccessRule(
    "drill-evict",
    verbs=("create",),
    resources=("pods/eviction",),
    namespaces=("orders",),
    users=("drill-operator",),
)


def review(
    client: ApiClient, verb: str, resource: str, namespace: str = "orders", subresource: str = ""
) -> tuple[bool, str]:
    body = V1SelfSubjectAccessReview(
        spec=V1SelfSubjectAccessReviewSpec(
            resource_attributes=V1ResourceAttributes(
                verb=verb, resource=resource, subresource=subresource or None, namespace=namespace
            )
        )
    )
    answer = AuthorizationV1Api(client).create_self_subject_access_review(body)
    return answer.status.allowed, answer.status.reason or ""


def test_without_rules_everything_is_allowed_as_for_cluster_admin(kube: KubeCluster) -> None:
    allowed, reason = review(kube.client(), "delete", "nodes", namespace="")

    assert allowed and "cluster-admin" in reason


def test_rules_answer_reviews_for_the_kubeconfig_user(kube: KubeCluster) -> None:
    kube.server.access.rules = [EVICT]
    client = kube.client()

    assert review(client, "create", "pods", subresource="eviction") == (
        True,
        'RBAC: allowed by RoleBinding "drill-evict" to User "drill-operator"',
    )
    assert review(client, "create", "pods", namespace="payments", subresource="eviction") == (
        False,
        "",
    )
    assert review(client, "delete", "pods")[0] is False


def test_impersonation_headers_review_for_the_impersonated_group(kube: KubeCluster) -> None:
    kube.server.access.rules = [
        READ_PODS,
        AccessRule("impersonators", verbs=("impersonate",), users=("drill-operator",)),
    ]
    client = kube.client()
    client.set_default_header("Impersonate-User", "oncall")
    client.set_default_header("Impersonate-Group", "sre")

    assert review(client, "list", "pods")[0] is True
    assert review(client, "delete", "pods")[0] is False
    assert kube.server.requests[-1].user == "oncall"


def test_impersonating_a_group_without_a_user_is_refused(kube: KubeCluster) -> None:
    client = kube.client()
    client.set_default_header("Impersonate-Group", "sre")

    with pytest.raises(ApiException) as failed:
        review(client, "list", "pods")

    assert (
        failed.value.status == 500
        and "without impersonating a user" in json.loads(failed.value.body)["message"]
    )


def test_impersonation_itself_needs_a_rule(kube: KubeCluster) -> None:
    kube.server.access.rules = [READ_PODS]
    client = kube.client()
    client.set_default_header("Impersonate-User", "oncall")

    with pytest.raises(ApiException) as failed:
        review(client, "list", "pods")

    assert failed.value.status == 403
    assert json.loads(failed.value.body)["message"] == (
        'users "oncall" is forbidden: User "drill-operator" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )


def test_enforced_rules_forbid_requests_with_the_real_message(kube: KubeCluster) -> None:
    add_namespace(kube.store, "orders")
    kube.server.access.rules = [
        AccessRule("read-only", verbs=("get", "list"), users=("drill-operator",))
    ]
    kube.server.access.enforce = True
    core = CoreV1Api(kube.client())

    core.list_namespaced_pod("orders")
    with pytest.raises(ApiException) as failed:
        core.delete_collection_namespaced_pod("orders")

    assert failed.value.status == 403
    assert json.loads(failed.value.body)["message"] == (
        'pods is forbidden: User "drill-operator" cannot deletecollection resource "pods" in API group "" '
        'in the namespace "orders"'
    )


def test_an_unknown_bearer_token_is_401(kube: KubeCluster) -> None:
    configuration = Configuration(host=kube.url, api_key={"authorization": "Bearer wrong"})

    with ApiClient(configuration) as client, pytest.raises(ApiException) as failed:
        CoreV1Api(client).list_namespace()

    assert failed.value.status == 401 and json.loads(failed.value.body)["reason"] == "Unauthorized"
