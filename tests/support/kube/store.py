"""Every object the emulator holds, with one revision counter, and the writes that change them.

Objects live per resource in an ``index.Table`` (immutable entries of
compact JSON, sorted keys, a value index for selectors). Writes go through
here only: create (server-set ``uid``, ``creationTimestamp``, ``generation``,
``generateName``), replace and update (``resourceVersion`` preconditions,
status kept or written alone as a ``status`` subresource does), delete
(dependents deleted in the background or orphaned; a namespace takes its
content along), and a trusted bulk ``load`` for scale seeding. Every write
bumps the one revision (etcd's model) and appends one change to the watch log.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tests.support.kube.defaults import DEFAULTS, random_suffix
from tests.support.kube.errors import ApiError, JsonObject
from tests.support.kube.index import Entry, Key, Selection, Table
from tests.support.kube.resources import ResourceType
from tests.support.kube.selectors import FieldSelector, LabelSelector, field_values
from tests.support.kube.watch import Change, EventLog

_MICRO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})")
_RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
Objects = list[JsonObject]
"""Named outside ``ResourceStore``, whose ``list`` method would shadow the builtin there."""


def now_text() -> str:
    """``metav1.Time`` as the API server writes it: UTC, whole seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ResourceStore:
    """Every object, by (resource, namespace, name); each write bumps one revision counter."""

    def __init__(self, *, history: int = 200_000) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, Table] = {}
        self._dependents: defaultdict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self._revision = 0
        self.events = EventLog(history)
        self.listeners: list[Callable[[Change], None]] = []
        """Called under the store's lock after every change: keep them to a set update."""
        self.attachments: dict[str, Any] = {}
        """State that lives with the cluster, not a controller (Velero's backup storage)."""

    def reopen_events(self) -> None:
        """A new, empty watch log after a stop: old revisions can no longer be watched from."""
        with self._lock:
            self.events = EventLog(self.events.capacity)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def revision(self) -> int:
        return self._revision

    def _table(self, kind: ResourceType) -> Table:
        table = self._tables.get(kind.qualified)
        if table is None:
            table = self._tables[kind.qualified] = Table(kind)
        return table

    # -- reading ---------------------------------------------------------------------------

    def entry(self, kind: ResourceType, namespace: str, name: str) -> Entry | None:
        table = self._tables.get(kind.qualified)
        return None if table is None else table.entries.get((namespace, name))

    def get(self, kind: ResourceType, namespace: str, name: str) -> JsonObject:
        found = self.entry(kind, namespace, name)
        if found is None:
            raise kind.not_found(name)
        return found.decode(kind)

    def find(self, kind: ResourceType, namespace: str, name: str) -> JsonObject | None:
        found = self.entry(kind, namespace, name)
        return None if found is None else found.decode(kind)

    def list(
        self,
        kind: ResourceType,
        namespace: str | None = None,
        *,
        labels: str | LabelSelector | None = None,
        fields: str | None = None,
    ) -> Objects:
        """Decoded objects, sorted by namespace and name; selectors as a client sends them."""
        selector = labels if isinstance(labels, LabelSelector) else LabelSelector.parse(labels)
        chosen = self.select(
            kind, namespace, selector, FieldSelector.parse(fields, kind.selectable_fields)
        )
        return [entry.decode(kind) for entry in chosen.entries]

    def count(self, kind: ResourceType) -> int:
        table = self._tables.get(kind.qualified)
        return 0 if table is None else len(table.entries)

    def select(
        self,
        kind: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        after: Key | None = None,
        limit: int | None = None,
    ) -> Selection:
        """Matching entries in key order, from after ``after``, at most ``limit`` of them."""
        with self._lock:
            table = self._tables.get(kind.qualified)
            if table is None:
                return Selection([], self._revision, None, None)
            return table.select(
                namespace, labels, fields, after=after, limit=limit, revision=self._revision
            )

    def namespaces_in_use(self, kind: ResourceType) -> set[str]:
        with self._lock:
            table = self._tables.get(kind.qualified)
            return set() if table is None else {k[0] for k in table.entries}

    def dependents(self, uid: str) -> Sequence[tuple[str, str, str]]:
        with self._lock:
            return sorted(self._dependents.get(uid, ()))

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        kind: ResourceType,
        namespace: str,
        obj: JsonObject,
        *,
        dry_run: bool = False,
        uid: str | None = None,
    ) -> JsonObject:
        """Store a new object: server-set ``uid``, ``creationTimestamp``, ``generation``.

        ``uid`` fixes the uid (a cluster's ``kube-system``, a seeded object a test names).
        """
        meta = self._admit(kind, namespace, obj)
        if meta.get("resourceVersion"):  # etcd3 store.Create returns a plain error: a 500
            raise ApiError(500, "resourceVersion should not be set on objects to be created")
        generate = meta.get("generateName")
        generated = not meta.get("name") and bool(generate)
        if generated:
            meta["name"] = f"{generate}{random_suffix(str(uuid.uuid4()))}"
        name = meta.get("name") or ""
        if not name:
            problem = "Required value: name or generateName is required"
            raise kind.invalid(name, [("metadata.name", problem)])
        if problems := kind.check_name(name):
            raise kind.invalid(name, problems)
        with self._lock:
            entries = self._table(kind).entries
            scope = namespace if kind.namespaced else ""
            for _ in range(5):  # a generated name that is taken is drawn again
                if (scope, name) not in entries:
                    break
                if not generated:
                    raise kind.already_exists(name)
                name = meta["name"] = f"{generate}{random_suffix(str(uuid.uuid4()))}"
            else:
                raise kind.already_exists(name)
            meta["uid"] = uid or str(uuid.uuid4())
            meta["creationTimestamp"] = meta.get("creationTimestamp") or now_text()
            if kind.generation:
                meta["generation"] = 1
            return obj if dry_run else self._store(kind, obj)

    def replace(
        self,
        kind: ResourceType,
        namespace: str,
        name: str,
        obj: JsonObject,
        *,
        keep_status: bool = False,
        status_only: bool = False,
        dry_run: bool = False,
    ) -> tuple[JsonObject, bool]:
        """Update, or create where the resource allows it; ``True`` when it created."""
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != name:
            raise ApiError(
                400,
                f"the name of the object ({meta.get('name')}) does not "
                f"match the name on the URL ({name})",
            )
        with self._lock:
            current = self.entry(kind, namespace if kind.namespaced else "", name)
            if meta.get("uid") and meta["uid"] != (current.uid if current else ""):
                raise kind.conflict(
                    name,
                    f"Precondition failed: UID in precondition: "
                    f"{meta['uid']}, UID in object meta: {current.uid if current else ''}",
                )
            if current is None:
                if not kind.create_on_update:
                    raise kind.not_found(name)
                self._admit(kind, namespace, obj)
                meta.pop("resourceVersion", None)
                return self.create(kind, namespace, obj, dry_run=dry_run), True
            sent = meta.get("resourceVersion")
            if not sent and not kind.unconditional_update:
                self._admit(kind, namespace, obj)
                problem = "Invalid value: 0x0: must be specified for an update"
                raise kind.invalid(name, [("metadata.resourceVersion", problem)])
            if sent and sent != str(current.revision):
                raise kind.conflict(name)
            return self._update(kind, current, obj, keep_status, status_only, dry_run), False

    def update(
        self,
        kind: ResourceType,
        namespace: str,
        name: str,
        change: Callable[[JsonObject], JsonObject | None],
        *,
        keep_status: bool = False,
        status_only: bool = False,
        dry_run: bool = False,
    ) -> JsonObject:
        """Read, change (in place or by returning a new object), write: one atomic step.

        A ``resourceVersion`` the change leaves different from the stored one is
        a precondition that failed (409), which is how a PATCH carrying one behaves.
        """
        with self._lock:
            current = self.entry(kind, namespace if kind.namespaced else "", name)
            if current is None:
                raise kind.not_found(name)
            obj = current.decode(kind)
            changed = change(obj)
            obj = obj if changed is None else changed
            meta = obj.setdefault("metadata", {})
            sent = meta.get("resourceVersion")
            if sent and sent != str(current.revision):
                raise kind.conflict(name)
            if meta.get("uid") and meta["uid"] != current.uid:
                raise kind.conflict(
                    name,
                    f"Precondition failed: UID in precondition: {meta['uid']}, "
                    f"UID in object meta: {current.uid}",
                )
            meta["name"] = name
            return self._update(kind, current, obj, keep_status, status_only, dry_run)

    def edit(
        self, kind: ResourceType, namespace: str, name: str, change: Callable[[JsonObject], object]
    ) -> JsonObject:
        """Change an object behind every client's back: a new ``resourceVersion``, no checks."""

        def run(obj: JsonObject) -> None:
            change(obj)
            obj["metadata"].pop("resourceVersion", None)

        return self.update(kind, namespace, name, run)

    def _update(
        self,
        kind: ResourceType,
        current: Entry,
        obj: JsonObject,
        keep_status: bool,
        status_only: bool,
        dry_run: bool,
    ) -> JsonObject:
        old = current.decode(kind)
        if status_only:
            status = obj.get("status")
            obj = old
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        elif keep_status:
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)
        meta = self._admit(kind, current.namespace, obj)
        meta.update(uid=current.uid, creationTimestamp=old["metadata"]["creationTimestamp"])
        if kind.generation:
            generation = old["metadata"].get("generation", 1)
            if _spec_of(obj) != _spec_of(old):
                generation += 1
            meta["generation"] = generation
        if dry_run:
            return obj
        return self._store(kind, obj)

    def delete(
        self,
        kind: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: JsonObject | None = None,
        dry_run: bool = False,
    ) -> JsonObject:
        """Remove and return the object; its dependents go too (or lose the reference: Orphan)."""
        with self._lock:
            entry = self.entry(kind, namespace if kind.namespaced else "", name)
            if entry is None:
                raise kind.not_found(name)
            for field, have in (("uid", entry.uid), ("resourceVersion", str(entry.revision))):
                want = (preconditions or {}).get(field)
                if want and want != have:
                    label = "UID" if field == "uid" else "ResourceVersion"
                    raise kind.conflict(
                        name,
                        f"Precondition failed: {label} in precondition: {want}, "
                        f"{label} in object meta: {have}",
                    )
            gone = entry.decode(kind)
            if dry_run:
                return gone
            self._remove(kind, entry)
            if kind.qualified == "namespaces":
                self._empty_namespace(name)
            self._cascade(entry.uid, propagation or "Background")
            return gone

    def _cascade(self, uid: str, propagation: str) -> None:
        for qualified, namespace, name in sorted(self._dependents.pop(uid, set())):
            table = self._tables.get(qualified)
            entry = None if table is None else table.entries.get((namespace, name))
            if table is None or entry is None:
                continue
            if propagation == "Orphan":
                obj = entry.decode(table.kind)
                refs = [
                    r for r in obj["metadata"].get("ownerReferences", []) if r.get("uid") != uid
                ]
                if refs:
                    obj["metadata"]["ownerReferences"] = refs
                else:
                    obj["metadata"].pop("ownerReferences", None)
                self._store(table.kind, obj)
            else:
                self._remove(table.kind, entry)
                self._cascade(entry.uid, propagation)

    def _empty_namespace(self, namespace: str) -> None:
        for table in list(self._tables.values()):
            if not table.kind.namespaced:
                continue
            for key in [k for k in table.entries if k[0] == namespace]:
                entry = table.entries.get(key)
                if entry is not None:
                    self._remove(table.kind, entry)

    def load(
        self,
        kind: ResourceType,
        namespace: str,
        name: str,
        *,
        uid: str,
        labels: dict[str, str],
        fields: dict[str, str],
        owners: tuple[str, ...],
        item: bytes,
    ) -> None:
        """Add an object the caller already encoded (bulk seeding of a large cluster).

        ``item`` is the object's compact JSON without ``apiVersion``/``kind``, with
        ``@@RV@@`` where its ``resourceVersion`` goes. Nothing is checked or
        defaulted: the caller builds it from an object that went through ``create``.
        ``labels`` may be shared between entries; nobody mutates them.
        """
        with self._lock:
            self._revision += 1
            entry = Entry(
                namespace if kind.namespaced else "",
                name,
                uid,
                self._revision,
                labels,
                fields,
                owners,
                item.replace(b"@@RV@@", str(self._revision).encode()),
            )
            if self._table(kind).put(entry) is not None:
                raise kind.already_exists(name)
            for owner in owners:
                self._dependents[owner].add((kind.qualified, entry.namespace, name))
            self._announce(Change(self._revision, "ADDED", kind.qualified, entry))

    # -- the one place that writes ---------------------------------------------------------

    def _store(self, kind: ResourceType, obj: JsonObject) -> JsonObject:
        """Write ``obj`` as the next revision; returns it with that ``resourceVersion``."""
        self._revision += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._revision)
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        entry = Entry(
            namespace=meta.get("namespace", "") if kind.namespaced else "",
            name=meta["name"],
            uid=meta["uid"],
            revision=self._revision,
            labels=dict(meta.get("labels") or {}),
            fields=field_values(obj, kind.field_labels),
            owners=tuple(r["uid"] for r in meta.get("ownerReferences") or [] if r.get("uid")),
            item=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )
        before = self._table(kind).put(entry)
        where = (kind.qualified, entry.namespace, entry.name)
        if before is not None:
            for owner in set(before.owners) - set(entry.owners):
                self._dependents[owner].discard(where)
        for owner in entry.owners:
            self._dependents[owner].add(where)
        self._announce(
            Change(
                self._revision,
                "ADDED" if before is None else "MODIFIED",
                kind.qualified,
                entry,
                before,
            )
        )
        return obj

    def _remove(self, kind: ResourceType, entry: Entry) -> None:
        self._table(kind).remove(entry.key)
        where = (kind.qualified, entry.namespace, entry.name)
        for owner in entry.owners:
            self._dependents[owner].discard(where)
        self._revision += 1
        obj = entry.decode(kind)
        obj["metadata"]["resourceVersion"] = str(self._revision)
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        final = Entry(
            entry.namespace,
            entry.name,
            entry.uid,
            self._revision,
            entry.labels,
            entry.fields,
            entry.owners,
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        )
        self._announce(Change(self._revision, "DELETED", kind.qualified, final, entry))

    def _announce(self, change: Change) -> None:
        self.events.append(change)
        for listener in self.listeners:
            listener(change)

    def _admit(self, kind: ResourceType, namespace: str, obj: JsonObject) -> JsonObject:
        """Decode as the API server does: type fields, namespace, MicroTimes, defaults, validation."""
        obj.update(apiVersion=kind.api_version, kind=kind.kind)
        meta: JsonObject = obj.setdefault("metadata", {})
        if kind.namespaced:
            if meta.setdefault("namespace", namespace) != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request",
                )
        else:
            meta.pop("namespace", None)
        for path in kind.micro_times:
            _admit_micro_time(kind, obj, path)
        defaulting = DEFAULTS.get(kind.qualified)
        if defaulting is not None:
            defaulting(obj)
        if kind.has_status and not kind.custom:
            obj.setdefault("status", {})  # a Go struct: serialised as {} even when empty
        problems = kind.validate(obj) if kind.validate is not None else []
        if problems:
            raise kind.invalid(meta.get("name", ""), problems)
        return meta


def _spec_of(obj: JsonObject) -> JsonObject:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _admit_micro_time(kind: ResourceType, obj: JsonObject, path: str) -> None:
    *parents, leaf = path.split(".")
    holder = obj
    for part in parents:
        holder = holder.get(part) or {}
    value = holder.get(leaf)
    if value is None:
        return
    if not (isinstance(value, str) and _MICRO_TIME.fullmatch(value)):
        raise ApiError(
            400,
            f'{kind.kind} in version "{kind.version}" cannot be handled as '
            f'a {kind.kind}: parsing time "{value}" as "{_RFC3339_MICRO}"',
        )
    moment = datetime.fromisoformat(value).astimezone(UTC)
    holder[leaf] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
