"""The access probe over the sandbox access policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drillkit.providers.base import ProbeResult
from drillkit.sandbox.access_policy import SandboxAccessPolicy
from drillkit.spec.probes import AccessProbe
from tests.support.probe_context import ProbeContext
from tests.support.sandbox_provider import sandbox_provider
from tests.support.test_provider import TestProvider

CHECKS = [
    {"verb": "create", "resource": "restores", "group": "velero.io", "namespace": "velero"},
    {"verb": "patch", "resource": "deployments", "group": "apps", "namespace": "orders"},
]
POLICY: dict[str, Any] = {
    "groups": {
        "orders-oncall": {
            "members": ["alice"],
            "rules": [
                {"verbs": ["create", "get"], "resources": ["restores"], "groups": ["velero.io"]},
                {"verbs": ["*"], "resources": ["deployments"], "namespaces": ["orders"]},
            ],
        },
        "readers": {"members": ["bob"], "rules": [{"verbs": ["get"], "resources": ["*"]}]},
    },
}


def measure(provider: TestProvider, **fields: object) -> ProbeResult:
    intent = AccessProbe.model_validate({"type": "access", **fields})
    handler = provider.probe_handler("access")
    assert handler is not None
    result: ProbeResult = handler.measure(intent, ProbeContext())
    return result


def test_the_oncall_group_may_do_what_the_runbook_needs(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxAccessPolicy(layout).save(POLICY)

    result = measure(provider, impersonateGroup="orders-oncall", checks=CHECKS)

    assert result.ok, result.summary
    assert result.values["subject"] == "group:orders-oncall"
    assert [c["allowed"] for c in result.values["checks"]] == [True, True]


def test_a_group_without_a_permission_fails_naming_it(tmp_path: Path) -> None:
    provider, layout = sandbox_provider(tmp_path)
    SandboxAccessPolicy(layout).save(POLICY)

    result = measure(provider, impersonateGroup="readers", checks=CHECKS)

    assert not result.ok
    assert result.summary == (
        "group:readers may not create restores.velero.io in `velero`; "
        "patch deployments.apps in `orders`"
    )


def test_the_current_user_gets_the_rules_of_the_groups_listing_them(tmp_path: Path) -> None:
    _, layout = sandbox_provider(tmp_path)
    policy = SandboxAccessPolicy(layout, user="alice")
    policy.save(POLICY)
    check = AccessProbe.model_validate({"type": "access", "checks": CHECKS}).checks[1]

    decision = policy.allowed(check, None, ProbeContext())
    stranger = SandboxAccessPolicy(layout, user="mallory").allowed(check, None, ProbeContext())

    assert decision.allowed and decision.reason == "allowed by orders-oncall"
    assert not stranger.allowed


def test_no_policy_means_nobody_may_do_anything(tmp_path: Path) -> None:
    provider, _ = sandbox_provider(tmp_path)

    result = measure(provider, impersonateGroup="orders-oncall", checks=CHECKS)

    assert not result.ok
    assert "no access policy at" in result.values["checks"][0]["reason"]
