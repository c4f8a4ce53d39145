"""The ``access`` probe's Kubernetes source: SelfSubjectAccessReview, optionally impersonating.

Asking the API server itself is the only faithful answer (RBAC, webhooks and
aggregated roles all count). To check a break-glass group, the review is sent
with ``Impersonate-User``/``Impersonate-Group`` headers, as
``kubectl auth can-i --as=... --as-group=...`` does; drillkit's identity then
needs the ``impersonate`` verb.
"""

from __future__ import annotations

from typing import Any

from drillkit.providers.base import StepContext
from drillkit.providers.sources import AccessDecision
from drillkit.spec.probes import AccessCheck

IMPERSONATED_USER = "drillkit:access-check"


class SelfSubjectAccess:
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def subject(self, impersonate_group: str | None) -> str:
        if impersonate_group:
            return f"group:{impersonate_group}"
        return f"user:{self.provider.connection.user or 'the current context'}"

    def allowed(
        self, check: AccessCheck, impersonate_group: str | None, ctx: StepContext
    ) -> AccessDecision:
        from kubernetes import client

        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=check.verb,
                    resource=check.resource,
                    group=check.group,
                    namespace=check.namespace,
                )
            )
        )
        api = client.AuthorizationV1Api(self.provider.api_client)
        headers = (
            {"Impersonate-User": IMPERSONATED_USER, "Impersonate-Group": impersonate_group}
            if impersonate_group
            else {}
        )
        answer = self.provider.api(
            f"review access to {check.verb} {check.resource}",
            lambda: api.create_self_subject_access_review(review, _headers=headers),
        )
        status = answer.status
        return AccessDecision(
            bool(status.allowed), str(status.reason or status.evaluation_error or "")
        )
