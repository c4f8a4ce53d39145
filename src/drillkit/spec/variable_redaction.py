"""Target variables as they may be written down: without the secrets some of them carry.

The journal records the target definition (recovery rebuilds the provider
from it, and the report names the target), but a variable may hold a
database URL with a password, or a token. Passwords inside URLs become
``***``, and so does the whole value of a variable whose name says it is a
secret. Keep secrets out of targets.yaml anyway (``PGPASSWORD``, a secret
store): this is the safety net, not the plan.
"""

from __future__ import annotations

import re

SECRET_NAME = re.compile(r"(password|passwd|secret|token|credential|api_?key|private)", re.I)
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<password>[^@\s/]*)@")
REDACTED = "***"


def redact_value(name: str, value: str) -> str:
    if SECRET_NAME.search(name):
        return REDACTED
    return URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}@", value)


def redact_variables(variables: dict[str, str]) -> dict[str, str]:
    return {name: redact_value(name, value) for name, value in variables.items()}
