"""Label selectors as the API server takes them, and reading pages of a list call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

PAGE_SIZE = 500


def label_selector(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def paged(list_call: Callable[..., Any], **arguments: Any) -> Iterator[Any]:
    """Every item of a list call, ``PAGE_SIZE`` at a time (server-side ``limit``/``continue``)."""
    token: str | None = None
    while True:
        page = (
            list_call(limit=PAGE_SIZE, _continue=token, **arguments)
            if token
            else list_call(limit=PAGE_SIZE, **arguments)
        )
        yield from page.items or []
        token = page.metadata._continue if page.metadata is not None else None
        if not token:
            return


def paged_raw(list_call: Callable[..., Any], **arguments: Any) -> Iterator[dict[str, Any]]:
    """Like ``paged``, but each item as the server's JSON, without the client's models.

    Building the client's model objects costs far more than the request; a plan
    that only needs names and a node name from 100,000 pods reads them raw.
    """
    token: str | None = None
    while True:
        extra = {"_continue": token} if token else {}
        response = list_call(limit=PAGE_SIZE, _preload_content=False, **extra, **arguments)
        page = json.loads(response.data)
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return
