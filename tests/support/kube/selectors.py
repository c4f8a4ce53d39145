"""Label and field selectors, parsed and matched as ``k8s.io/apimachinery`` does.

Label selectors come as strings on a list or watch (``app=web,tier in
(a,b),!canary``) or as ``LabelSelector`` objects in a Deployment or a PDB
(``matchLabels``/``matchExpressions``); both become the same requirements.
Field selectors accept ``=``, ``==`` and ``!=`` on the fields a resource
declares selectable, and refuse others with the API server's 400. The store
reads ``equalities`` to answer from its index instead of scanning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tests.support.kube.errors import ApiError, JsonObject

_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|<|>|[^\s=!<>(),]+)")
_QUALIFIED = re.compile(
    r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    """``in``, ``notin``, ``exists``, ``!``, ``gt``, ``lt`` (``=`` and ``==`` are ``in``, ``!=`` is ``notin``)."""
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator == "in":
            return value is not None and value in self.values
        if self.operator == "notin":
            return value is None or value not in self.values
        if self.operator == "exists":
            return value is not None
        if self.operator == "!":
            return value is None
        if value is None or not value.lstrip("-").isdigit():
            return False
        bound = int(next(iter(self.values)))
        return int(value) > bound if self.operator == "gt" else int(value) < bound

    def text(self) -> str:
        values = sorted(self.values)
        if self.operator == "in" and len(values) == 1:
            return f"{self.key}={values[0]}"
        if self.operator == "notin" and len(values) == 1:
            return f"{self.key}!={values[0]}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(values)})"
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        return f"{self.key}{'>' if self.operator == 'gt' else '<'}{values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False
    """A ``null`` selector object in a PDB or a Service selects nothing (an empty one, everything)."""

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.nothing and all(r.matches(labels) for r in self.requirements)

    def equalities(self) -> list[tuple[str, frozenset[str]]]:
        """``(key, values)`` every match must have: what an index can answer."""
        return [(r.key, r.values) for r in self.requirements if r.operator == "in"]

    def text(self) -> str:
        return ",".join(r.text() for r in sorted(self.requirements, key=lambda r: r.key))

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """The string form of a list's ``labelSelector``; a 400 when it does not parse."""
        if not text or not text.strip():
            return cls()
        tokens = [t for t in _TOKEN.findall(text)]
        if "".join(tokens).replace(" ", "") != re.sub(r"\s", "", text):
            raise _unparsable(text, "unexpected character")
        return cls(tuple(_Parser(tokens, text).requirements()))

    @classmethod
    def from_object(cls, selector: JsonObject | None) -> LabelSelector:
        """A ``metav1.LabelSelector`` (``None`` selects nothing)."""
        if selector is None:
            return cls(nothing=True)
        found = [
            Requirement(k, "in", frozenset([str(v)]))
            for k, v in (selector.get("matchLabels") or {}).items()
        ]
        operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
        for expression in selector.get("matchExpressions") or []:
            operator = operators.get(expression.get("operator", ""))
            if operator is None:
                raise ApiError(
                    400, f'"{expression.get("operator")}" is not a valid label selector operator'
                )
            values = frozenset(str(v) for v in expression.get("values") or [])
            found.append(Requirement(expression["key"], operator, values))
        return cls(tuple(found))

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> LabelSelector:
        """A Service's or a ReplicationController's plain ``key: value`` selector."""
        return cls(tuple(Requirement(k, "in", frozenset([v])) for k, v in labels.items()))


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.at, self.text = tokens, 0, text

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _unparsable(self.text, "found '', expected: identifier")
        self.at += 1
        return token

    def requirements(self) -> Iterable[Requirement]:
        while True:
            yield self.requirement()
            token = self.peek()
            if token is None:
                return
            if token != ",":
                raise _unparsable(self.text, f"found '{token}', expected: ',' or 'end of string'")
            self.at += 1

    def requirement(self) -> Requirement:
        token = self.take()
        if token == "!":
            return Requirement(_key(self.take(), self.text), "!")
        key = _key(token, self.text)
        operator = self.peek()
        if operator in (None, ","):
            return Requirement(key, "exists")
        self.at += 1
        if operator in ("=", "=="):
            return Requirement(key, "in", frozenset([self.value()]))
        if operator == "!=":
            return Requirement(key, "notin", frozenset([self.value()]))
        if operator in (">", "<"):
            bound = self.value()
            if not bound.lstrip("-").isdigit():
                raise _unparsable(
                    self.text, "for 'Gt', 'Lt' operators, the value must be an integer"
                )
            return Requirement(key, "gt" if operator == ">" else "lt", frozenset([bound]))
        if operator in ("in", "notin"):
            if self.take() != "(":
                raise _unparsable(self.text, "found '', expected: '('")
            values: set[str] = set()
            while True:
                token = self.take()
                if token == ")":
                    break
                if token == ",":
                    continue
                values.add(_value(token, self.text))
            return Requirement(key, operator, frozenset(values))
        raise _unparsable(self.text, f"found '{operator}', expected: in, notin, =, ==, !=, gt, lt")

    def value(self) -> str:
        token = self.peek()
        if token in (None, ","):
            return ""
        self.at += 1
        return _value(token, self.text)


def _key(token: str, text: str) -> str:
    if not _QUALIFIED.fullmatch(token) or len(token.rpartition("/")[2]) > 63:
        raise _unparsable(
            text,
            f'key: Invalid value: "{token}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.'",
        )
    return token


def _value(token: str, text: str) -> str:
    if not _VALUE.fullmatch(token) or len(token) > 63:
        raise _unparsable(
            text,
            f'values[0]: Invalid value: "{token}": a valid label must be an '
            "empty string or consist of alphanumeric characters, '-', '_' or '.'",
        )
    return token


def _unparsable(text: str, why: str) -> ApiError:
    return ApiError(400, f"unable to parse requirement: {why}")


@dataclass(frozen=True)
class FieldSelector:
    """``(field, operator, value)`` terms, all of which must hold."""

    terms: tuple[tuple[str, bool, str], ...] = ()
    """``(field, equal, value)``: ``equal`` is ``False`` for ``!=``."""

    def matches(self, fields: Mapping[str, str], name: str = "", namespace: str = "") -> bool:
        """Whether an object with these selectable ``fields``, name and namespace is selected."""
        for field, equal, value in self.terms:
            if field == "metadata.name":
                actual = name
            elif field == "metadata.namespace":
                actual = namespace
            else:
                actual = fields.get(field, "")
            if (actual == value) != equal:
                return False
        return True

    def name(self) -> str | None:
        """The one name an equality on ``metadata.name`` pins the selection to, if any."""
        return next((v for f, equal, v in self.terms if f == "metadata.name" and equal), None)

    def equalities(self) -> list[tuple[str, frozenset[str]]]:
        return [(f, frozenset([v])) for f, equal, v in self.terms if equal]

    @classmethod
    def parse(cls, text: str | None, allowed: tuple[str, ...]) -> FieldSelector:
        if not text:
            return cls()
        terms = []
        for part in _split_unescaped(text):
            match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|!=|=)(.*)", part)
            if match is None:
                raise ApiError(400, f"invalid selector: '{text}'; can't understand '{part}'")
            field, operator, value = match.groups()
            if field not in allowed:
                raise ApiError(400, f"field label not supported: {field}")
            terms.append((field, operator != "!=", value.replace("\\,", ",").replace("\\=", "=")))
        return cls(tuple(terms))


def _split_unescaped(text: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if char == "," and not escaped:
            parts.append(current)
            current = ""
            continue
        current += char
        escaped = char == "\\" and not escaped
    return [*parts, current]


_BOOLEANS = frozenset({"spec.unschedulable", "spec.hostNetwork"})
"""Go booleans: unset reads as ``false``, as the registries' field functions print them."""


def field_values(obj: JsonObject, names: tuple[str, ...]) -> dict[str, str]:
    """The selectable fields of ``obj`` as strings (``true``/``false`` for booleans, ``""`` unset)."""
    found = {}
    for name in names:
        holder: object = obj
        for part in name.split("."):
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, bool):
            found[name] = "true" if holder else "false"
        elif holder is None:
            found[name] = "false" if name in _BOOLEANS else ""
        else:
            found[name] = str(holder)
    return found
