"""The shared shape of every drillkit model: strict, frozen, camelCase in YAML.

``extra="forbid"`` is what turns a misspelt key into an error with a
suggestion instead of a silently ignored setting; ``frozen`` because a loaded
definition is evidence and must not change while a run uses it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel

API_VERSION = "drillkit.io/v1"

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


class SpecModel(BaseModel):
    """Base of every model parsed from a user's file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"expected a name of lowercase letters, digits and '-' (at most 63, "
            f"like `restore-orders`), found {value!r}"
        )
    return value


def _check_label_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value):
        raise ValueError(f"expected a label key like `app` or `example.com/tier`, found {value!r}")
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema({"type": "string", "pattern": _NAME.pattern, "maxLength": 63}),
]
LabelKey = Annotated[str, AfterValidator(_check_label_key)]


def _check_http_url(value: str) -> str:
    if not (value.startswith(("http://", "https://", "${")) and len(value) > 8):
        raise ValueError(
            f"expected an http:// or https:// URL (or one starting with a target"
            f" variable like `${{orders_url}}/healthz`), found {value!r}"
        )
    return value


HttpUrl = Annotated[
    str,
    AfterValidator(_check_http_url),
    WithJsonSchema({"type": "string", "pattern": "^(https?://|\\$\\{)", "format": "uri-template"}),
]
