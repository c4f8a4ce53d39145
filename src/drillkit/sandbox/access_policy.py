"""The sandbox's access policy: who may do what, standing in for Kubernetes RBAC.

``access.json`` names users and groups and the rules each holds::

    {"groups": {"orders-oncall": {"members": ["alice"],
                                  "rules": [{"verbs": ["get", "patch"],
                                             "resources": ["deployments"],
                                             "groups": ["apps"],
                                             "namespaces": ["orders"]}]}},
     "users": {"alice": {"rules": [...]}}}

``*`` matches anything in a list; an absent ``groups`` or ``namespaces`` list
matches any. A check runs as the impersonated group when the probe names one
(like ``kubectl auth can-i --as-group``), else as the OS user with the rules
of every group listing them. No policy file means nobody may do anything:
access fails closed.
"""

from __future__ import annotations

import getpass
from typing import Any

from drillkit.errors import PermanentError
from drillkit.providers.base import StepContext
from drillkit.providers.sources import AccessDecision
from drillkit.sandbox.layout import SandboxLayout, read_json, write_json_atomically
from drillkit.spec.probes import AccessCheck


class SandboxAccessPolicy:
    def __init__(self, layout: SandboxLayout, user: str | None = None) -> None:
        self.layout = layout
        self.user = user or _os_user()

    def save(self, policy: dict[str, Any]) -> None:
        write_json_atomically(self.layout.access_policy, policy)

    def subject(self, impersonate_group: str | None) -> str:
        return f"group:{impersonate_group}" if impersonate_group else f"user:{self.user}"

    def allowed(
        self, check: AccessCheck, impersonate_group: str | None, ctx: StepContext
    ) -> AccessDecision:
        policy = self._policy()
        if policy is None:
            return AccessDecision(False, f"no access policy at {self.layout.access_policy}")
        groups: dict[str, Any] = policy.get("groups") or {}
        if impersonate_group is not None:
            held = {impersonate_group: groups.get(impersonate_group) or {}}
        else:
            held = {
                f"user {self.user}": (policy.get("users") or {}).get(self.user) or {},
                **{
                    name: group
                    for name, group in groups.items()
                    if self.user in (group.get("members") or [])
                },
            }
        for holder, grant in held.items():
            for rule in grant.get("rules") or []:
                if _matches(rule, check):
                    return AccessDecision(True, f"allowed by {holder}")
        return AccessDecision(False, "no rule allows it")

    def _policy(self) -> dict[str, Any] | None:
        path = self.layout.access_policy
        if not path.exists():
            return None
        try:
            document = read_json(path)
        except (OSError, ValueError) as exc:
            raise PermanentError(f"cannot read the sandbox access policy: {exc}") from None
        if not isinstance(document, dict):
            raise PermanentError(f"sandbox access policy {path} is not a JSON object")
        return document


def _matches(rule: dict[str, Any], check: AccessCheck) -> bool:
    def has(field: str, value: str, *, absent_matches: bool) -> bool:
        allowed = rule.get(field)
        if allowed is None:
            return absent_matches
        return "*" in allowed or value in allowed

    return (
        has("verbs", check.verb, absent_matches=False)
        and has("resources", check.resource, absent_matches=False)
        and has("groups", check.group, absent_matches=True)
        and has("namespaces", check.namespace or "", absent_matches=True)
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
