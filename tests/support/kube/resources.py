"""What the emulator knows about one API resource: its path, its kind, its registry rules.

A ``ResourceType`` carries what a real API server reads from a type's
registry strategy: whether it is namespaced, which subresources it has
(``status`` makes the main resource ignore status writes), whether
``metadata.generation`` follows spec changes, whether DELETE answers with the
object or a ``Status``, which field selectors it accepts, and its validation.
Discovery, routing, tables and errors are all derived from these records, so
adding a resource is one entry in ``catalogue``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.kube.errors import MODIFIED, ApiError, JsonObject, details

Validator = Callable[[JsonObject], list[tuple[str, str]]]
"""``(field, message)`` pairs; ``message`` starts with ``Invalid value:`` or ``Required value:``."""

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


@dataclass(frozen=True)
class ResourceType:
    """One API resource the server serves, the rules of its registry strategy, its errors."""

    group: str
    """``""`` for the core group (``/api/v1``)."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[str, ...] = ()
    """``status`` (status writes only there), ``scale``, ``eviction``."""
    micro_times: tuple[str, ...] = ()
    """Dotted paths of ``MicroTime`` fields (``spec.renewTime``)."""
    create_on_update: bool = False
    unconditional_update: bool = True
    generation: bool = False
    """``metadata.generation`` starts at 1 and grows with every spec change."""
    return_deleted: bool = False
    """DELETE answers with the object (pods, services), else with a ``Status``."""
    custom: bool = False
    """A custom resource: list items keep their type fields; no strategic merge patch."""
    field_labels: tuple[str, ...] = ()
    """Field selectors accepted besides ``metadata.name`` and ``metadata.namespace``."""
    dns_label_names: bool = False
    validate: Validator | None = None
    singular_name: str = field(default="")

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``leases.coordination.k8s.io``, as the API server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def selectable_fields(self) -> tuple[str, ...]:
        base = ("metadata.name", "metadata.namespace") if self.namespaced else ("metadata.name",)
        return base + self.field_labels

    def error(self, code: int, name: str, message: str, reason: str | None = None) -> ApiError:
        return ApiError(
            code, message, reason=reason, details=details(name, self.group, self.plural)
        )

    def not_found(self, name: str) -> ApiError:
        return self.error(404, name, f'{self.qualified} "{name}" not found')

    def already_exists(self, name: str) -> ApiError:
        message = f'{self.qualified} "{name}" already exists'
        return self.error(409, name, message, reason="AlreadyExists")

    def conflict(self, name: str, why: str = MODIFIED) -> ApiError:
        return self.error(
            409, name, f'Operation cannot be fulfilled on {self.qualified} "{name}": {why}'
        )

    def invalid(self, name: str, problems: list[tuple[str, str]]) -> ApiError:
        """422 with one cause per field, worded as ``field.ErrorList`` words them."""
        qualified_kind = f"{self.kind}.{self.group}" if self.group else self.kind
        text = f'{qualified_kind} "{name}" is invalid: ' + ", ".join(
            f"{where}: {what}" for where, what in problems
        )
        causes = [
            {"reason": _cause_reason(what), "message": what, "field": where}
            for where, what in problems
        ]
        return ApiError(422, text, details=details(name, self.group, self.kind, causes=causes))

    def check_name(self, name: str) -> list[tuple[str, str]]:
        rule, pattern, limit = (
            (_LABEL_RULE, _LABEL, 63)
            if self.dns_label_names
            else (_SUBDOMAIN_RULE, _SUBDOMAIN, 253)
        )
        if not pattern.fullmatch(name):
            return [("metadata.name", f'Invalid value: "{name}": {rule}')]
        if len(name) > limit:
            return [
                (
                    "metadata.name",
                    f'Invalid value: "{name}": must be no more than {limit} characters',
                )
            ]
        return []


def _cause_reason(message: str) -> str:
    for prefix, reason in (
        ("Required value", "FieldValueRequired"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Forbidden", "FieldValueForbidden"),
    ):
        if message.startswith(prefix):
            return reason
    return "FieldValueInvalid"
