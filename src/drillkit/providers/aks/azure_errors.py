"""Azure SDK errors as drillkit errors: the retry policy travels with the type.

429, 5xx and connections that fail are ``TransientError`` (the engine
retries them); a credential the chain cannot find, 401, 403 and 404 are
``PermanentError`` with a fix that says what to change. Only the service's
error code and the start of its message are kept, so nothing a response
echoes (a secret's value, say) can reach a log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from drillkit.errors import DrillError, PermanentError, TransientError

BODY_LIMIT = 240
T = TypeVar("T")

_FIXES = {
    401: "sign in again (`az login`), or check the workload or managed identity drillkit runs as",
    403: "grant drillkit's identity the role docs/aks.md lists for this step",
    404: "check the target's `azure` settings (subscription, resource group, cluster) and names",
    409: "another operation is running on this resource; wait for it and retry",
}


def call_azure(what: str, call: Callable[[], T], *, tolerate: tuple[int, ...] = ()) -> T | None:
    """Run one Azure SDK call; None for a tolerated status (404 on a delete, say)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        return call()
    except ClientAuthenticationError as error:
        if error.status_code is None:
            raise PermanentError(
                f"no Azure credential could {what}: {cut(str(error.message))}",
                fix="sign in with `az login`, or run where a workload or managed identity "
                "is set up (drillkit uses DefaultAzureCredential)",
            ) from None
        raise azure_error(what, error) from None
    except HttpResponseError as error:
        if error.status_code in tolerate:
            return None
        raise azure_error(what, error) from None
    except (ServiceRequestError, ServiceResponseError) as error:
        raise TransientError(
            f"cannot reach Azure to {what}: {cut(str(error.message))}",
            fix="drillkit retries this; if it persists, check the network and `resourceManager`",
        ) from None


def azure_error(what: str, error: object) -> DrillError:
    status = int(getattr(error, "status_code", 0) or 0)
    detail = getattr(error, "error", None)
    code = getattr(detail, "code", None) or getattr(error, "reason", "") or ""
    message = getattr(detail, "message", None) or ""
    text = f"Azure answered {status} {code} to {what}: {cut(str(message))}".rstrip(": ")
    if status == 429 or status >= 500:
        return TransientError(text, fix="drillkit retries this; if it persists, check Azure status")
    return PermanentError(text, fix=_FIXES.get(status))


def cut(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= BODY_LIMIT else first[:BODY_LIMIT] + "..."
