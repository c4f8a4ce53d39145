"""Kubernetes API errors as drillkit errors: the retry policy travels with the type.

429 and 5xx (and connections that fail) are ``TransientError``: the engine
retries them. Everything else is ``PermanentError`` with a fix that says what
to change. Response bodies are cut short and only their ``message`` is kept,
so a Secret's content echoed by an admission webhook cannot reach a log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from drillkit.errors import DrillError, PermanentError, TransientError

BODY_LIMIT = 240
T = TypeVar("T")


def call_api(
    what: str, host: str, call: Callable[[], T], *, tolerate: tuple[int, ...] = ()
) -> T | None:
    """Run one API call; None for a tolerated status (404 on a delete, say)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return call()
    except ApiException as error:
        if error.status in tolerate:
            return None
        raise api_error(what, host, error) from None
    except HTTPError as error:
        raise TransientError(
            f"cannot reach the Kubernetes API at {host} to {what}: {cut(str(error))}",
            fix="drillkit retries this; if it persists, check the cluster's API endpoint",
        ) from None


def api_error(what: str, host: str, error: Any) -> DrillError:
    body = error.body.decode(errors="replace") if isinstance(error.body, bytes) else error.body
    try:
        detail = str(json.loads(body or "")["message"])
    except (ValueError, KeyError, TypeError):
        detail = str(error.reason or "")
    status = int(error.status or 0)
    message = f"the Kubernetes API answered {status} {error.reason or ''} to {what}: {cut(detail)}"
    if status == 429 or status >= 500:
        return TransientError(
            message, fix=f"drillkit retries this; if it persists, check the API server at {host}"
        )
    fixes = {
        401: "refresh the credentials of this target's kubeconfig context (token, exec plugin)",
        403: "grant drillkit's identity this permission (`drill plan` lists what steps touch)",
        404: "check the names in the drill and the target's cluster",
    }
    return PermanentError(message, fix=fixes.get(status))


def cut(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "..."
