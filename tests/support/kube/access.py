"""Who is asking, and may they: bearer tokens, impersonation, and an RBAC-like rule table.

A request's user comes from its bearer token (an unknown token is the real
401), or is the default user when it sends none. ``Impersonate-User`` and
``Impersonate-Group`` headers switch to that identity, as the API server's
impersonation filter does (groups without a user are refused). Rules are
allow-only, like RBAC: with none configured everything is allowed (the
default user is in ``system:masters``); once a test sets rules, what no rule
allows is denied. SelfSubjectAccessReview answers from the same table, and
``enforce`` makes every request subject to it (403 with the real wording).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.support.kube.errors import ApiError, JsonObject, details

AUTHENTICATED = "system:authenticated"


class Headers(Protocol):
    def get(self, name: str, default: Any = None) -> Any: ...

    def get_all(self, name: str, failobj: Any = None) -> Any: ...


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = (AUTHENTICATED,)


ADMIN = User("kubernetes-admin", ("system:masters", AUTHENTICATED))


@dataclass(frozen=True)
class Attributes:
    """What a request does, in the authorizer's terms."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    """For a non-resource request (``/version``, ``/healthz``)."""

    @property
    def full_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class AccessRule:
    """Allow ``verbs`` on ``resources`` (``pods``, ``pods/eviction``) to users or groups.

    ``"*"`` matches anything; ``namespaces=("*",)`` includes cluster-scoped
    requests, ``("",)`` only them. ``name`` appears in review reasons, as a
    RoleBinding's name does.
    """

    name: str
    verbs: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    api_groups: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def subject(self, user: User) -> str | None:
        if user.name in self.users:
            return f'User "{user.name}"'
        found = next((g for g in user.groups if g in self.groups), None)
        return None if found is None else f'Group "{found}"'

    def allows(self, attributes: Attributes) -> bool:
        def within(value: str, allowed: Sequence[str]) -> bool:
            return "*" in allowed or value in allowed

        return (
            within(attributes.verb, self.verbs)
            and within(attributes.full_resource, self.resources)
            and within(attributes.group, self.api_groups)
            and within(attributes.namespace, self.namespaces)
        )


@dataclass
class AccessControl:
    """The authenticator and authorizer of one emulator; tests edit ``rules`` and ``tokens``."""

    tokens: dict[str, User] = field(default_factory=dict)
    default_user: User = ADMIN
    rules: list[AccessRule] | None = None
    """``None``: allow everything. A list: only what a rule allows."""
    enforce: bool = False
    """Check every request, not only SelfSubjectAccessReviews."""

    def authenticate(self, headers: Headers) -> User:
        """The user making the request, after impersonation."""
        authorization = headers.get("Authorization") or ""
        if authorization.startswith("Bearer "):
            user = self.tokens.get(authorization.removeprefix("Bearer ").strip())
            if user is None:
                raise ApiError(401, "Unauthorized")
        else:
            user = self.default_user
        name = headers.get("Impersonate-User")
        groups = tuple(headers.get_all("Impersonate-Group") or ())
        if not name:
            if groups:
                raise ApiError(500, f"requested {list(groups)} without impersonating a user")
            return user
        for resource, value in [("users", name)] + [("groups", g) for g in groups]:
            if not self.allowed(user, Attributes("impersonate", resource=resource, name=value))[0]:
                raise ApiError(
                    403,
                    f'{resource} "{value}" is forbidden: User "{user.name}" cannot impersonate '
                    f'resource "{resource}" in API group "" at the cluster scope',
                    details=details(value, "", resource),
                )
        return User(name, (*groups, AUTHENTICATED))

    def allowed(self, user: User, attributes: Attributes) -> tuple[bool, str]:
        """Whether ``user`` may, and the reason an RBAC authorizer would give."""
        if self.rules is None:
            return True, (
                'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole '
                '"cluster-admin" to Group "system:masters"'
            )
        for rule in self.rules:
            subject = rule.subject(user)
            if subject is not None and rule.allows(attributes):
                return True, f'RBAC: allowed by RoleBinding "{rule.name}" to {subject}'
        return False, ""

    def check(self, user: User, attributes: Attributes, qualified: str) -> None:
        """Raise the real 403 when ``enforce`` is on and no rule allows the request."""
        if not self.enforce or self.allowed(user, attributes)[0]:
            return
        target = f'{qualified} "{attributes.name}"' if attributes.name else qualified
        scope = (
            f'in the namespace "{attributes.namespace}"'
            if attributes.namespace
            else "at the cluster scope"
        )
        raise ApiError(
            403,
            f'{target} is forbidden: User "{user.name}" cannot {attributes.verb} resource '
            f'"{attributes.full_resource}" in API group "{attributes.group}" {scope}',
            details=details(attributes.name, attributes.group, attributes.resource),
        )

    def review(self, user: User, review: Any) -> JsonObject:
        """A SelfSubjectAccessReview, answered (status filled in), as the API server returns it."""
        if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
            raise ApiError(400, "the body of the request is not a SelfSubjectAccessReview")
        spec = review["spec"]
        resource, other = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if bool(resource) == bool(other):
            raise ApiError(
                422,
                'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
                "must be specified",
            )
        if resource:
            attributes = Attributes(
                verb=resource.get("verb", ""),
                group=resource.get("group", ""),
                resource=resource.get("resource", ""),
                subresource=resource.get("subresource", ""),
                namespace=resource.get("namespace", ""),
                name=resource.get("name", ""),
            )
        else:
            attributes = Attributes(verb=other.get("verb", ""), path=other.get("path", ""))
        allowed, reason = self.allowed(user, attributes)
        status: JsonObject = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    def who_am_i(self, user: User) -> JsonObject:
        """A SelfSubjectReview (``kubectl auth whoami``)."""
        return {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": {"username": user.name, "groups": list(user.groups)}},
        }
