"""Content digests: sha256 over RFC 8785 canonical JSON.

The digest is what auditors compare, so it must not depend on key order,
whitespace, comments or the YAML style a person prefers; RFC 8785 fixes one
byte sequence per JSON value. Integers beyond 2**53 are refused by RFC 8785,
and the YAML loader refuses them earlier with a clear message.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from drillkit.errors import DrillError


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value``."""
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise DrillError(
            f"cannot canonicalise a value for its digest: {exc}",
            fix="keep numbers within ±2^53 and use only JSON types",
        ) from exc


def sha256_digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
