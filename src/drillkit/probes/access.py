"""The ``access`` probe: the people who run the restore are allowed to do what it needs.

A restore runbook fails in a real disaster when the on-call group lacks one
permission nobody exercised. Each check is asked of the platform itself (a
SubjectAccessReview on Kubernetes, the policy file in the sandbox) as the
impersonated group, or as the current user; every check must be allowed.
"""

from __future__ import annotations

from typing import Any

from drillkit.errors import DrillError
from drillkit.probes.registry import GENERIC_PROBES
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.providers.sources import AccessSource
from drillkit.spec.probes import AccessCheck, AccessProbe


class AccessHandler:
    def __init__(self, provider: Any, source: AccessSource) -> None:
        self.provider = provider
        self.source = source

    def measure(self, intent: AccessProbe, ctx: StepContext) -> ProbeResult:
        subject = self.source.subject(intent.impersonate_group)
        results = []
        denied = []
        for check in intent.checks:
            try:
                decision = self.source.allowed(check, intent.impersonate_group, ctx)
            except DrillError as exc:
                return ProbeResult(False, f"cannot check access for {subject}: {exc.message}")
            results.append(
                {**_check(check), "allowed": decision.allowed, "reason": decision.reason}
            )
            if not decision.allowed:
                denied.append(_shown(check))
        values = {"subject": subject, "checks": results}
        if denied:
            return ProbeResult(False, f"{subject} may not {'; '.join(denied)}", values)
        return ProbeResult(True, f"{subject} may do all {len(results)} checked actions", values)


def _check(check: AccessCheck) -> dict[str, Any]:
    return {
        "verb": check.verb,
        "resource": check.resource,
        "group": check.group,
        "namespace": check.namespace,
    }


def _shown(check: AccessCheck) -> str:
    resource = f"{check.resource}.{check.group}" if check.group else check.resource
    where = f" in `{check.namespace}`" if check.namespace else ""
    return f"{check.verb} {resource}{where}"


def _create(provider: Any) -> AccessHandler | None:
    source = provider.access_source()
    return AccessHandler(provider, source) if source is not None else None


GENERIC_PROBES.register("access", _create)
