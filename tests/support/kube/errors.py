"""Errors as the API server sends them: a ``Status`` object with reason, code and details.

Clients branch on ``code`` and ``reason`` (``AlreadyExists`` vs ``Conflict``,
``TooManyRequests`` for a blocked eviction), and on ``details``; the messages
are the API server's own wording, so a provider's error text reads as it will
against a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]

# fmt: off
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
# fmt: on
MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


@dataclass
class ApiError(Exception):
    """An answer other than success, sent as a ``Status`` object."""

    code: int
    message: str
    reason: str | None = None
    """``None``: the usual reason for ``code`` (``Conflict``, ``NotFound``...)."""
    details: JsonObject | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.reason or REASONS.get(self.code, '')}: {self.message}"

    def status(self) -> JsonObject:
        reason = REASONS.get(self.code, "") if self.reason is None else self.reason
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": reason,
            "code": self.code,
        }
        return body if self.details is None else {**body, "details": self.details}


def details(name: str, group: str, kind: str, **more: Any) -> JsonObject:
    """``StatusDetails``: an empty group is left out, as Go's ``omitempty`` leaves it out."""
    found: JsonObject = {"name": name}
    if group:
        found["group"] = group
    return {**found, "kind": kind, **more}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def success(**fields: Any) -> JsonObject:
    """A ``Status`` of success (a delete that returns no object, an eviction)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", **fields}
