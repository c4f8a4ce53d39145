"""The bytes of one journal line: canonical RFC 8785 JSON of an event, built in pieces.

Writer and reader both build a line from ``data`` and the envelope (``mono``,
``prev``, ``seq``, ``step``, ``time``, ``type``) with these functions, so what
is hashed on write is what is checked on read. The envelope and the
``sample`` event, written every few milliseconds, are spelled out as text;
the general encoder is their reference (property tests hold them to it) and
takes over for anything unusual.
"""

from __future__ import annotations

import math
import re
from typing import Any

from drillkit.spec.digest import canonical_json, es_number, escape_json

_SAFE_INTEGER = 2**53 - 1  # RFC 8785 refuses integers a double may not hold exactly
_PLAIN = re.compile(r"[0-9A-Za-z:.\-]*")
"""Text that needs no JSON escaping: hex digests, RFC 3339 timestamps."""
type_of = type  # the builtin, under a name the methods' ``type`` parameters do not shadow


def _data_piece(data: dict[str, Any]) -> bytes:
    """The start of a canonical event line, up to the end of ``data``."""
    return b'{"data":' + canonical_json(data)


def _rest_piece(seq: int, time: str, mono: float, type: str, step: str | None, prev: str) -> bytes:
    """The end of a canonical event's body, after ``data``: keys sort data < hash < mono.

    Written out rather than through ``canonical_json``: every event pays for it,
    and its shape is fixed. ``_rest_piece_reference`` is the general form the
    tests hold it to; anything unusual (a non-float ``mono``, a ``prev`` or ``time``
    that needs escaping) takes that form.
    """
    if type_of(mono) is float and _PLAIN.fullmatch(prev) and _PLAIN.fullmatch(time):
        shown_step = "null" if step is None else escape_json(step)
        text = (
            f',"mono":{es_number(mono)},"prev":"{prev}","seq":{seq},"step":{shown_step},'
            f'"time":"{time}","type":{escape_json(type)}}}'
        )
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the general form says so
    return _rest_piece_reference(seq, time, mono, type, step, prev)


def _rest_piece_reference(
    seq: int, time: str, mono: float, type: str, step: str | None, prev: str
) -> bytes:
    rest = {"mono": mono, "prev": prev, "seq": seq, "step": step, "time": time, "type": type}
    return b"," + canonical_json(rest)[1:]


def sample_data_piece(
    sampler: str, ok: bool, at: float, latency_ms: float | None, summary: str
) -> bytes | None:
    """The canonical ``data`` of a ``sample`` event, written out; None when a value needs
    the general encoder (not a float, a lone surrogate), which ``append`` then uses."""
    if type_of(at) is not float or (latency_ms is not None and type_of(latency_ms) is not float):
        return None
    latency = "null" if latency_ms is None else es_number(latency_ms)
    text = (
        f'{{"data":{{"at":{es_number(at)},"latencyMs":{latency},'
        f'"ok":{"true" if ok else "false"},"sampler":{escape_json(sampler)},'
        f'"summary":{escape_json(summary)}}}'
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _line(data_piece: bytes, digest: str, rest_piece: bytes) -> bytes:
    """Canonical JSON of body plus hash: ``hash`` sorts between ``data`` and ``mono``."""
    return data_piece + b',"hash":"' + digest.encode("ascii") + b'"' + rest_piece + b"\n"


def _json_copy(value: Any, where: str) -> Any:
    """A plain copy of ``value`` if it is JSON that canonicalises; ``TypeError`` otherwise."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError(f"journal data {where} holds a lone surrogate, not UTF-8") from None
        return str.__str__(value)
    if isinstance(value, int):
        if not -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            raise TypeError(f"journal data {where} is {value}, beyond ±(2^53-1); record a str")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"journal data {where} is {value}, not a finite number")
        return float(value)
    if isinstance(value, dict):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"journal data {where} has a {type(key).__name__} key {key!r}")
            copy[str.__str__(key)] = _json_copy(item, f"{where}[{key!r}]")
        return copy
    if isinstance(value, list):
        return [_json_copy(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TypeError(
        f"journal data {where} is a {type(value).__name__}, not a JSON value "
        "(use dict, list, str, int, float, bool or None)"
    )
