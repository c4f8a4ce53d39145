"""The storage of one resource: immutable entries, sorted keys and a value index.

Each object is stored once as compact JSON (``Entry.item``, without
``apiVersion``/``kind``, as list items are served) beside its labels and
selectable fields, so a list page is a join of stored bytes: no deep copy per
request, and 100,000 pods cost their JSON and little more. Label values and a
few fields (``spec.nodeName``, ``status.phase``) are indexed, so a selective
selector reads a handful of entries instead of scanning; keys are kept sorted
(lazily, then incrementally) for pagination in the API server's key order.
Entries are never mutated: a write replaces one, which is what lets readers
serialise outside the store's lock.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tests.support.kube.errors import JsonObject
from tests.support.kube.resources import ResourceType
from tests.support.kube.selectors import FieldSelector, LabelSelector

INDEXED_FIELDS = frozenset({"spec.nodeName", "status.phase", "spec.unschedulable", "type"})
_LAST = "\U0010ffff"
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored version of one object; immutable."""

    namespace: str
    name: str
    uid: str
    revision: int
    labels: dict[str, str]
    fields: dict[str, str]
    owners: tuple[str, ...]
    item: bytes
    """Compact JSON of the object without ``apiVersion`` and ``kind``."""

    @property
    def key(self) -> Key:
        return self.namespace, self.name

    def full(self, kind: ResourceType) -> bytes:
        """The object's JSON with its type fields first, as a GET or a watch event sends it."""
        return _type_prefix(kind) + self.item[1:]

    def decode(self, kind: ResourceType) -> JsonObject:
        return {"apiVersion": kind.api_version, "kind": kind.kind, **json.loads(self.item)}


def _type_prefix(kind: ResourceType) -> bytes:
    return f'{{"apiVersion":"{kind.api_version}","kind":"{kind.kind}",'.encode()


Entries = list[Entry]


@dataclass(frozen=True)
class Selection:
    """One page of a list: the entries, the revision read at, where the next page starts."""

    entries: list[Entry]
    revision: int
    next_key: Key | None
    remaining: int | None
    """Items after this page, when known (no selector), as ``remainingItemCount``."""


class Table:
    """One resource's entries, their sorted keys (built lazily) and the value index."""

    def __init__(self, kind: ResourceType) -> None:
        self.kind = kind
        self.entries: dict[Key, Entry] = {}
        self._sorted: list[Key] | None = None
        self.labels: defaultdict[tuple[str, str], set[Key]] = defaultdict(set)
        self.fields: defaultdict[tuple[str, str], set[Key]] = defaultdict(set)

    def sorted_keys(self) -> list[Key]:
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        return self._sorted

    def put(self, entry: Entry) -> Entry | None:
        key = entry.key
        before = self.entries.get(key)
        self.entries[key] = entry
        if before is None:
            if self._sorted is not None:
                bisect.insort(self._sorted, key)
        else:
            self._unindex(before)
        for term in entry.labels.items():
            self.labels[term].add(key)
        for name, value in entry.fields.items():
            if name in INDEXED_FIELDS:
                self.fields[(name, value)].add(key)
        return before

    def remove(self, key: Key) -> Entry:
        entry = self.entries.pop(key)
        self._unindex(entry)
        if self._sorted is not None:
            at = bisect.bisect_left(self._sorted, key)
            del self._sorted[at]
        return entry

    def _unindex(self, entry: Entry) -> None:
        key = entry.key
        for term in entry.labels.items():
            self.labels[term].discard(key)
        for name, value in entry.fields.items():
            if name in INDEXED_FIELDS:
                self.fields[(name, value)].discard(key)

    def candidates(
        self, labels: LabelSelector, fields: FieldSelector, limit: int
    ) -> set[Key] | None:
        """The smallest index answer every match must be in, if it has at most ``limit`` keys.

        ``None`` means: scan the sorted keys instead (no equality to use, or
        even the best one selects too much for sorting it to pay off).
        """
        options = [(self.labels, key, values) for key, values in labels.equalities()]
        options += [(self.fields, f, v) for f, v in fields.equalities() if f in INDEXED_FIELDS]
        best: list[set[Key]] | None = None
        for index, name, values in options:
            sets = [index[(name, v)] for v in values if (name, v) in index]
            if best is None or sum(map(len, sets)) < sum(map(len, best)):
                best = sets
        if best is None or sum(map(len, best)) > limit:
            return None
        return set().union(*best)

    def select(
        self,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        after: Key | None,
        limit: int | None,
        revision: int,
    ) -> Selection:
        """Matching entries in key order, from after ``after``, at most ``limit`` of them.

        An index answer small enough to sort is used when a selector has an
        equality; otherwise the sorted keys are scanned from ``after``, which
        stops as soon as the page is full.
        """
        table, kind = self, self.kind
        scoped = namespace or None
        found: Entries = []
        wanted = None if limit is None else limit + 1
        total = len(table.entries)
        pool = table.candidates(labels, fields, max(256, total // 8))
        pinned = fields.name()
        if pinned is not None and (scoped is not None or not kind.namespaced):
            pool = {(scoped or "", pinned)} & table.entries.keys()
        elif pinned is not None:
            pool = {k for k in table.entries if k[1] == pinned}
        if pool is not None:
            keys: Iterable[Key] = sorted(
                k
                for k in pool
                if (scoped is None or k[0] == scoped) and (after is None or k > after)
            )
            remaining_base: int | None = None
        else:
            ordered = table.sorted_keys()
            low = bisect.bisect_left(ordered, (scoped, "")) if scoped else 0
            high = bisect.bisect_right(ordered, (scoped, _LAST)) if scoped else len(ordered)
            if after is not None:
                low = max(low, bisect.bisect_right(ordered, after))
            keys = ordered[low:high] if wanted is None else _islice(ordered, low, high)
            remaining_base = high - low
        simple = labels.empty and not fields.terms
        scanned = 0
        for key in keys:
            scanned += 1
            entry = table.entries[key]
            if simple or (
                labels.matches(entry.labels)
                and fields.matches(entry.fields, entry.name, entry.namespace)
            ):
                found.append(entry)
                if wanted is not None and len(found) == wanted:
                    break
        more = wanted is not None and len(found) == wanted
        page = found[:limit] if more else found
        remaining = None
        if more and simple and remaining_base is not None:
            remaining = remaining_base - (scanned - 1)
        return Selection(page, revision, page[-1].key if more else None, remaining)


def _islice(ordered: list[Key], low: int, high: int) -> Iterable[Key]:
    """``ordered[low:high]`` without copying it (a page usually stops early)."""
    for at in range(low, high):
        yield ordered[at]
