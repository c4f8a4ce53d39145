"""AWS API errors as drillkit errors: the retry policy travels with the type.

Throttling, 5xx answers and connections that fail are ``TransientError`` (the
engine retries them); everything else is ``PermanentError`` with a fix that
says what to change. Missing credentials are a ``UserInputError``: nothing
was changed and the operator has to log in. Only the error code and a cut
message are kept, so a request echoed back by AWS cannot reach a log whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from drillkit.errors import DrillError, PermanentError, TransientError, UserInputError

BODY_LIMIT = 240
T = TypeVar("T")
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
    }
)
_GRANT = "grant drillkit's AWS identity this permission (docs/eks.md lists them)"
_REFRESH = "refresh the AWS credentials of this target (`aws sso login`, a new role session)"
FIXES = {
    "AccessDenied": _GRANT,
    "AccessDeniedException": _GRANT,
    "UnauthorizedOperation": _GRANT,
    "ExpiredToken": _REFRESH,
    "ExpiredTokenException": _REFRESH,
    "ResourceNotFoundException": "check the names in the target's `aws` section and the drill",
}


def call_aws(what: str, call: Callable[[], T], *, tolerate: tuple[str, ...] = ()) -> T | None:
    """Run one AWS call; None when it fails with a tolerated error code (a missing resource)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        return call()
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in tolerate:
            return None
        raise aws_error(what, error) from None
    except (NoCredentialsError, PartialCredentialsError, NoRegionError) as error:
        raise UserInputError(
            f"no usable AWS credentials to {what}: {cut(str(error))}",
            fix="set `aws.profile` or `aws.roleArn` on the target, or log in "
            "(AWS_PROFILE, `aws sso login`, an instance or pod role)",
        ) from None
    except ConnectionError as error:
        raise TransientError(
            f"cannot reach AWS to {what}: {cut(str(error))}",
            fix="drillkit retries this; if it persists, check the network and AWS_ENDPOINT_URL",
        ) from None
    except BotoCoreError as error:
        raise PermanentError(f"AWS refused to {what}: {cut(str(error))}") from None


def aws_error(what: str, error: object) -> DrillError:
    response = getattr(error, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    detail = str(response.get("Error", {}).get("Message", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = f"AWS answered {code or status} to {what}: {cut(detail)}"
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return TransientError(
            message, fix="drillkit retries this; if it persists, check AWS health"
        )
    return PermanentError(message, fix=FIXES.get(code))


def cut(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "..."
