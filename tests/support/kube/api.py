"""The REST verbs: from a parsed request to the answer a real API server would give.

Paths resolve to a resource, namespace, name and subresource the way the API
server's installer lays them out (``/api/v1/namespaces/NS/pods/NAME/eviction``,
``/apis/apps/v1/deployments`` for all namespaces). Verbs follow the generic
registry: create answers 201 (``generateName`` filled in, the namespace must
exist), update checks ``resourceVersion``, patch takes the three JSON patch
kinds, the main resource ignores status writes where a ``status`` subresource
exists, delete cascades, list pages with ``limit``/``continue``, watch streams.
Lists are assembled from stored bytes; only tables (``kubectl get``) decode.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from tests.support.kube.access import AccessControl, Attributes, Headers, User
from tests.support.kube.catalogue import (
    NAMESPACES,
    PDBS,
    PODS,
    SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_REVIEWS,
)
from tests.support.kube.discovery import (
    ServerVersion,
    api_group,
    api_group_list,
    api_versions,
    resource_list,
)
from tests.support.kube.errors import ApiError, JsonObject, details, success
from tests.support.kube.index import Entry, Key
from tests.support.kube.patches import apply_patch
from tests.support.kube.policy import DisruptionBudgets
from tests.support.kube.resources import ResourceType
from tests.support.kube.selectors import FieldSelector, LabelSelector
from tests.support.kube.store import ResourceStore, now_text
from tests.support.kube.tables import table
from tests.support.kube.watch import Change, follow

DEFAULT_WATCH_SECONDS = 1800


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    user: User

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type") or "application/json")

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise ApiError(400, f"the body of the request could not be decoded: {error}") from None

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


@dataclass(frozen=True)
class Answer:
    code: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of(cls, code: int, document: JsonObject) -> Answer:
        return cls(code, _dump(document))


@dataclass(frozen=True)
class Stream:
    """A watch: JSON lines sent with chunked transfer encoding until the iterator ends."""

    lines: Iterator[bytes]


@dataclass(frozen=True)
class Target:
    kind: ResourceType
    namespace: str | None
    """``None``: a cluster-scoped resource, or a namespaced one across all namespaces."""
    name: str | None
    subresource: str | None


def _dump(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class Api:
    """Answers requests for ``kinds`` from ``store``; ``address`` is what ``/api`` advertises."""

    def __init__(
        self,
        store: ResourceStore,
        kinds: tuple[ResourceType, ...],
        access: AccessControl,
        version: ServerVersion,
        address: str,
        stopping: Any,
    ) -> None:
        self.store, self.kinds, self.access, self.version = store, kinds, access, version
        self.address, self._stopping = address, stopping
        self._by_path = {(k.group, k.version, k.plural): k for k in kinds}
        self._namespaces = NAMESPACES in kinds
        self.budgets = DisruptionBudgets.of(store)

    # -- routing ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer | Stream:
        path = request.path.rstrip("/") or "/"
        document = self._non_resource(path)
        if document is not None:
            return document
        target = self.resolve(path)
        if target is None:
            raise ApiError(404, "the server could not find the requested resource", details={})
        verb = self._verb(request, target)
        kind = target.kind
        self.access.check(
            request.user,
            Attributes(
                verb,
                kind.group,
                kind.plural,
                target.subresource or "",
                target.namespace or "",
                target.name or "",
            ),
            kind.qualified,
        )
        return getattr(self, f"_{verb}")(request, target)  # type: ignore[no-any-return]

    def _non_resource(self, path: str) -> Answer | None:
        if path == "/version":
            return Answer.of(200, self.version.document())
        if path in ("/healthz", "/livez", "/readyz"):
            return Answer(200, b"ok", "text/plain; charset=utf-8")
        if path == "/api":
            return Answer.of(200, api_versions(self.address))
        if path == "/apis":
            return Answer.of(200, api_group_list(self.kinds))
        parts = path.strip("/").split("/")
        document = None
        if parts[0] == "api" and len(parts) == 2:
            document = resource_list(self.kinds, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            document = api_group(self.kinds, parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            document = resource_list(self.kinds, parts[1], parts[2])
        else:
            return None
        if document is None:
            raise ApiError(404, "the server could not find the requested resource", details={})
        return Answer.of(200, document)

    def resolve(self, path: str) -> Target | None:
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            nested = self._by_path.get((group, version, rest[2]))
            if nested is not None and nested.namespaced:
                namespace, rest = rest[1], rest[2:]
        kind = self._by_path.get((group, version, rest[0]))
        if kind is None or len(rest) > 3:
            return None
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and subresource not in kind.subresources:
            return None
        if kind.namespaced and namespace is None and name is not None:
            return None
        return Target(kind, namespace, name, subresource)

    def _verb(self, request: Request, target: Target) -> str:
        method, named, sub = request.method, target.name is not None, target.subresource
        verb = {
            ("GET", False): "watch" if request.query.get("watch") in ("true", "1") else "list",
            ("GET", True): "get",
            ("POST", False): "create",
            ("POST", True): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }.get((method, named))
        if verb is None or verb not in target.kind.verbs:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if verb == "create" and named and sub != "eviction":
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if sub == "eviction" and verb != "create":
            raise ApiError(405, "the server does not allow this method on the requested resource")
        return verb

    # -- reading ---------------------------------------------------------------------------

    def _get(self, request: Request, target: Target) -> Answer:
        kind, name = target.kind, str(target.name)
        if kind is PDBS:
            self.budgets.refresh(target.namespace)
        entry = self.store.entry(kind, target.namespace or "", name)
        if entry is None:
            raise kind.not_found(name)
        if target.subresource == "scale":
            return Answer.of(200, scale_of(kind, entry.decode(kind)))
        if _wants_table(request):
            meta = {"resourceVersion": str(entry.revision)}
            return Answer.of(200, self._table(request, kind, [entry], meta))
        return Answer(200, entry.full(kind))

    def _list(self, request: Request, target: Target) -> Answer:
        kind, query = target.kind, request.query
        labels = LabelSelector.parse(query.get("labelSelector"))
        fields = FieldSelector.parse(query.get("fieldSelector"), kind.selectable_fields)
        limit = _positive(query.get("limit"), "limit")
        after, read_at = _decode_continue(query.get("continue"), target)
        if kind is PDBS:
            self.budgets.refresh(target.namespace)
        chosen = self.store.select(kind, target.namespace, labels, fields, after=after, limit=limit)
        revision = read_at or chosen.revision
        meta: JsonObject = {"resourceVersion": str(revision)}
        if chosen.next_key is not None:
            meta["continue"] = _encode_continue(chosen.next_key, revision, target)
            if chosen.remaining is not None:
                meta["remainingItemCount"] = chosen.remaining
        if _wants_table(request):
            return Answer.of(200, self._table(request, kind, chosen.entries, meta))
        head = _dump({"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": meta})
        items = [e.full(kind) if kind.custom else e.item for e in chosen.entries]
        return Answer(200, head[:-1] + b',"items":[' + b",".join(items) + b"]}")

    def _table(
        self, request: Request, kind: ResourceType, entries: list[Entry], meta: JsonObject
    ) -> JsonObject:
        include = request.query.get("includeObject", "Metadata")
        return table(kind, (e.decode(kind) for e in entries), meta, with_object=include == "Object")

    def _watch(self, request: Request, target: Target) -> Stream:
        kind, query, namespace = target.kind, request.query, target.namespace
        labels = LabelSelector.parse(query.get("labelSelector"))
        fields = FieldSelector.parse(query.get("fieldSelector"), kind.selectable_fields)
        timeout = _positive(query.get("timeoutSeconds"), "timeoutSeconds") or DEFAULT_WATCH_SECONDS
        since_text = query.get("resourceVersion") or ""
        if kind is PDBS:
            self.budgets.refresh(namespace)
        store = self.store
        with store.lock:
            if since_text in ("", "0"):
                initial = store.select(kind, namespace, labels, fields).entries
                since = store.revision
            else:
                if not since_text.isdigit():
                    raise ApiError(400, f'invalid resource version: "{since_text}"')
                initial, since = [], int(since_text)

        def matches(entry: Entry | None) -> bool:
            return (
                entry is not None
                and (namespace is None or entry.namespace == namespace)
                and labels.matches(entry.labels)
                and fields.matches(entry.fields, entry.name, entry.namespace)
            )

        def wanted(change: Change) -> str | None:
            if change.resource != kind.qualified:
                return None
            now = matches(change.entry)
            if change.type == "MODIFIED":
                before = matches(change.before)
                return (
                    ("MODIFIED" if before else "ADDED") if now else ("DELETED" if before else None)
                )
            return change.type if now else None

        def encode(event: str, entry: Entry) -> bytes:
            return b'{"type":"' + event.encode() + b'","object":' + entry.full(kind) + b"}\n"

        def bookmark(revision: int) -> bytes:
            marker = {
                "kind": kind.kind,
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(revision)},
            }
            return _dump({"type": "BOOKMARK", "object": marker}) + b"\n"

        marks = bookmark if query.get("allowWatchBookmarks") == "true" else None
        changes = follow(
            store.events,
            since,
            wanted=wanted,
            timeout=float(timeout),
            bookmark=marks,
            encode=encode,
            stopping=self._stopping,
        )
        return Stream(chain((encode("ADDED", e) for e in initial), changes))

    # -- writing ---------------------------------------------------------------------------

    def _create(self, request: Request, target: Target) -> Answer:
        kind, body = target.kind, request.json()
        if target.subresource == "eviction":
            name, namespace = str(target.name), str(target.namespace)
            code, answer = self.budgets.evict(namespace, name, body, dry_run=request.dry_run)
            return Answer.of(code, answer)
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request is not a JSON object")
        if kind is SELF_SUBJECT_ACCESS_REVIEWS:
            return Answer.of(201, self.access.review(request.user, body))
        if kind is SELF_SUBJECT_REVIEWS:
            return Answer.of(201, self.access.who_am_i(request.user))
        _check_type(kind, body)
        namespace = target.namespace or ""
        if kind.namespaced:
            self._namespace_must_exist(namespace)
        if kind.has_status:
            body.pop("status", None)
            if kind is PODS:
                body["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        created = self.store.create(kind, namespace, body, dry_run=request.dry_run)
        return Answer.of(201, created)

    def _namespace_must_exist(self, namespace: str) -> None:
        if self._namespaces and self.store.entry(NAMESPACES, "", namespace) is None:
            raise NAMESPACES.not_found(namespace)

    def _update(self, request: Request, target: Target) -> Answer:
        kind, name, body = target.kind, str(target.name), request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request is not a JSON object")
        namespace = target.namespace or ""
        if target.subresource == "scale":
            return Answer.of(200, self._rescale(kind, namespace, name, body))
        _check_type(kind, body)
        status_only = target.subresource == "status"
        if kind.namespaced and kind.create_on_update:
            self._namespace_must_exist(namespace)
        obj, created = self.store.replace(
            kind,
            namespace,
            name,
            body,
            keep_status=kind.has_status and not status_only,
            status_only=status_only,
            dry_run=request.dry_run,
        )
        return Answer.of(201 if created else 200, obj)

    def _patch(self, request: Request, target: Target) -> Answer:
        kind, name, patch = target.kind, str(target.name), request.json()
        namespace = target.namespace or ""
        if target.subresource == "scale":
            current = scale_of(kind, self.store.get(kind, namespace, name))
            changed = apply_patch(request.content_type, current, patch, custom=False)
            return Answer.of(200, self._rescale(kind, namespace, name, changed))
        status_only = target.subresource == "status"
        obj = self.store.update(
            kind,
            namespace,
            name,
            lambda current: apply_patch(request.content_type, current, patch, custom=kind.custom),
            keep_status=kind.has_status and not status_only,
            status_only=status_only,
            dry_run=request.dry_run,
        )
        return Answer.of(200, obj)

    def _rescale(
        self, kind: ResourceType, namespace: str, name: str, scale: JsonObject
    ) -> JsonObject:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(
                422,
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {replicas}: '
                "must be greater than or equal to 0",
                details=details(name, "autoscaling", "Scale"),
            )
        expected = (scale.get("metadata") or {}).get("resourceVersion")

        def change(obj: JsonObject) -> None:
            if expected:
                obj["metadata"]["resourceVersion"] = expected
            obj.setdefault("spec", {})["replicas"] = replicas

        return scale_of(kind, self.store.update(kind, namespace, name, change, keep_status=True))

    def _delete(self, request: Request, target: Target) -> Answer:
        kind, name = target.kind, str(target.name)
        options = request.json()
        options = options if isinstance(options, dict) else {}
        propagation = options.get("propagationPolicy") or request.query.get("propagationPolicy")
        if options.get("orphanDependents") or request.query.get("orphanDependents") == "true":
            propagation = "Orphan"
        dry_run = request.dry_run or options.get("dryRun") == ["All"]
        gone = self.store.delete(
            kind,
            target.namespace or "",
            name,
            propagation=propagation,
            preconditions=options.get("preconditions"),
            dry_run=dry_run,
        )
        if kind is NAMESPACES:
            gone["metadata"]["deletionTimestamp"] = now_text()
            gone.setdefault("status", {})["phase"] = "Terminating"
            return Answer.of(200, gone)
        if kind.return_deleted:
            grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
            grace = int(grace) if grace is not None else (30 if kind is PODS else 0)
            if grace > 0:
                gone["metadata"]["deletionTimestamp"] = _in(grace)
                gone["metadata"]["deletionGracePeriodSeconds"] = grace
            return Answer.of(200, gone)
        uid = gone["metadata"]["uid"]
        return Answer.of(200, success(details=details(name, kind.group, kind.plural, uid=uid)))

    def _deletecollection(self, request: Request, target: Target) -> Answer:
        kind = target.kind
        labels = LabelSelector.parse(request.query.get("labelSelector"))
        fields = FieldSelector.parse(request.query.get("fieldSelector"), kind.selectable_fields)
        chosen = self.store.select(kind, target.namespace, labels, fields)
        gone = []
        for entry in chosen.entries:
            try:
                gone.append(
                    self.store.delete(kind, entry.namespace, entry.name, dry_run=request.dry_run)
                )
            except ApiError as error:
                if error.code != 404:
                    raise
        for item in gone:
            del item["apiVersion"], item["kind"]
        return Answer.of(
            200,
            {
                "kind": f"{kind.kind}List",
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self.store.revision)},
                "items": gone,
            },
        )


def scale_of(kind: ResourceType, obj: JsonObject) -> JsonObject:
    """The ``autoscaling/v1`` Scale a ``/scale`` subresource shows for a workload."""
    meta = obj["metadata"]
    selector = LabelSelector.from_object((obj.get("spec") or {}).get("selector"))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": "" if selector.nothing else selector.text(),
        },
    }


def _check_type(kind: ResourceType, body: JsonObject) -> None:
    sent_kind, sent_version = body.get("kind"), body.get("apiVersion")
    if sent_kind and sent_kind != kind.kind:
        raise ApiError(
            400,
            f'{sent_kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
            f"the object kind {sent_kind} does not match {kind.kind}",
        )
    if sent_version and sent_version != kind.api_version:
        raise ApiError(
            400,
            f"the API version in the data ({sent_version}) does not match the expected API "
            f"version ({kind.api_version})",
        )


def _wants_table(request: Request) -> bool:
    return "as=Table" in str(request.headers.get("Accept") or "")


def _positive(text: str | None, name: str) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f'invalid {name}: "{text}"') from None
    return value if value > 0 else None


def _in(seconds: int) -> str:
    moment = datetime.now(UTC).timestamp() + seconds
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode_continue(key: Key, revision: int, target: Target) -> str:
    """The API server's token: base64url of ``{"v","rv","start"}`` without padding."""
    namespace, name = key
    start = f"{namespace}/{name}" if target.kind.namespaced and target.namespace is None else name
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": start + "\x00"}
    return base64.urlsafe_b64encode(_dump(token)).decode().rstrip("=")


def _decode_continue(token: str | None, target: Target) -> tuple[Key | None, int | None]:
    if not token:
        return None, None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start, revision = str(raw["start"]).rstrip("\x00"), int(raw["rv"])
        if raw.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(
            400,
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)",
        ) from None
    if target.kind.namespaced and target.namespace is None:
        namespace, _, name = start.partition("/")
        return (namespace, name), revision
    return (target.namespace or "", start), revision
