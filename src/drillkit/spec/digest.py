"""Content digests: sha256 over RFC 8785 canonical JSON.

The digest is what auditors compare, so it must not depend on key order,
whitespace, comments or the YAML style a person prefers; RFC 8785 (JSON
Canonicalization Scheme) fixes one byte sequence per JSON value. Every journal
event is hashed this way too, so the encoder is on the engine's hot path: it is
written here on top of the C string escaper of the standard ``json`` module,
several times faster than the pure-Python reference implementation, which the
tests use as an independent oracle.

RFC 8785 in short: no whitespace; object keys sorted by their UTF-16 code
units; strings escaped as ECMAScript's ``JSON.stringify`` does (which is what
``json``'s ``ensure_ascii=False`` escaper produces); numbers in ECMAScript's
shortest round-trip form (``100``, ``1e+21``, ``1e-7``). Integers beyond
±(2^53 - 1), NaN and infinities cannot be represented and are refused.
"""

from __future__ import annotations

import hashlib
import json.encoder
import math
from collections.abc import Callable
from typing import Any

from drillkit.errors import DrillError

MAX_SAFE_INTEGER = 2**53 - 1
_escape: Any = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)
escape_json: Callable[[str], str] = _escape
"""A str as a quoted JSON string, as RFC 8785 writes it (for hand-written canonical forms)."""


class CanonicalizationError(DrillError):
    """A value has no RFC 8785 form (huge integer, NaN, lone surrogate, non-JSON type)."""


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value``."""
    parts: list[str] = []
    _encode(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError(
            "cannot canonicalise a value for its digest: text contains a lone surrogate",
            fix="remove the stray \\ud800-\\udfff escape from the text",
        ) from None


def sha256_digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_escape(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            out.append(str(value))
        else:
            raise _refuse(f"integer {value} is outside ±(2^53 - 1)")
    elif isinstance(value, float):
        out.append(es_number(value))
    elif isinstance(value, dict):
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise _refuse(f"object key {key!r} is not text")
        if not all(key.isascii() for key in keys):
            keys.sort(key=lambda k: k.encode("utf-16-be"))
        else:
            keys.sort()
        out.append("{")
        for index, key in enumerate(keys):
            if index:
                out.append(",")
            out.append(_escape(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise _refuse(f"a {type(value).__name__} is not a JSON value")


def es_number(value: float) -> str:
    """ECMAScript's ``Number.prototype.toString`` for a finite double (RFC 8785 §3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise _refuse(f"number {value} is not finite")
    if value == 0:
        return "0"
    shortest = repr(value)
    if "e" not in shortest:
        # Without an exponent, repr's digits are ECMAScript's: repr writes plain digits only
        # for 1e-4 <= |value| < 1e16, inside ECMAScript's plain range (1e-6 .. 1e21); only
        # an integral value's ".0" differs. Journals write a few such numbers per event.
        return shortest[:-2] if shortest.endswith(".0") else shortest
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    raw = (whole + fraction).lstrip("0")
    power = (int(exponent_text) if exponent_text else 0) - len(fraction)
    digits = raw.rstrip("0")
    power += len(raw) - len(digits)
    # value = digits x 10^power; ECMAScript's n puts the point after n digits.
    n = len(digits) + power
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exponent = n - 1
        text = (
            digits[0]
            + ("." + digits[1:] if k > 1 else "")
            + "e"
            + ("+" if exponent >= 0 else "-")
            + str(abs(exponent))
        )
    return sign + text


def _refuse(reason: str) -> CanonicalizationError:
    return CanonicalizationError(
        f"cannot canonicalise a value for its digest: {reason}",
        fix="keep numbers within ±2^53 and use only JSON types",
    )
