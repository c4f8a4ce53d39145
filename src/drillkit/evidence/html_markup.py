"""Building HTML and SVG in which every value is escaped unless it is already markup.

Drill text is user input: a description or a step name can hold
``<script>``. Rather than remembering to escape at each use, the report's
HTML is built from ``element(...)``, which escapes every child and attribute
value that is not ``Markup`` (text this module produced). Tag and attribute
names are always literals in our code, never data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


class Markup(str):
    """Text that is already safe HTML; everything else is escaped when it is inserted."""

    __slots__ = ()


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[object]) -> Markup:
    return Markup("".join(escape(part) for part in parts))


def element(tag: str, *children: object, **attributes: object) -> Markup:
    """``<tag attr="...">children</tag>``; ``class_`` is ``class``, ``aria_label`` is
    ``aria-label``; attributes set to None or False are left out, True is written bare."""
    return Markup(f"<{tag}{_attributes(attributes)}>{join([escape(c) for c in children])}</{tag}>")


def void(tag: str, **attributes: object) -> Markup:
    """An element without content: ``<meta ...>`` in HTML, ``<circle .../>`` in SVG."""
    closing = "/>" if tag in _SVG_VOID else ">"
    return Markup(f"<{tag}{_attributes(attributes)}{closing}")


_SVG_VOID = frozenset({"circle", "line", "rect", "path", "polyline", "stop"})


def _attributes(attributes: dict[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(f" {key}")
        else:
            parts.append(f' {key}="{html.escape(str(value), quote=True)}"')
    return "".join(parts)
