"""What a probe may show of what it saw: URLs without secrets, short excerpts, root causes.

Probe summaries end up in the journal, the report and CI logs, which are kept
for years and read by many people. So URLs lose credentials and query strings
(tokens live there), quoted text is cut to ``EXCERPT`` characters, and error
chains are walked to name the real cause instead of echoing a whole response.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

EXCERPT = 120


def safe_url(url: str) -> str:
    """The URL without credentials or query string, which may hold tokens."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return short(url.split("?", 1)[0].rsplit("@", 1)[-1])
    shown = str(parsed.copy_with(username=None, password=None, query=None, fragment=None))
    return shown + ("?…" if parsed.query else "")


def short(value: object) -> str:
    """``value`` as text, cut to ``EXCERPT`` characters."""
    text = str(value)
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def excerpt(body: str) -> str:
    """The start of a response body, quoted, for a failed body check only."""
    if not body:
        return "(empty)"
    return repr(body[:EXCERPT]) + ("…" if len(body) > EXCERPT else "")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from, once each."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
