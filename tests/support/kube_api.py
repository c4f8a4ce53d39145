"""A small, stateful Kubernetes API server for tests: real HTTP, the real API's answers.

Providers are tested with the real ``kubernetes`` client talking HTTP to this
server, never with patched clients, so serialization, optimistic concurrency
and error mapping behave as they do against a cluster. It is the seed of a
general emulator: objects live in a ``ResourceStore`` keyed by resource type,
namespace and name, with one ``resourceVersion`` counter for the whole store
(like etcd's revision), and HTTP paths reach handlers through a route table
built from the registered ``ResourceType``s. Today it serves Leases; pods,
nodes, namespaces, selectors, watch and eviction extend the same two tables.

Faithful where a client can tell the difference: 201 on create, 409
``AlreadyExists`` and 409 ``Conflict`` (stale ``resourceVersion`` or another
``uid``), 400/404/422 as ``Status`` objects, ``uid`` and ``creationTimestamp``
set by the server, a PUT without ``resourceVersion`` refused for Leases, a PUT
to a missing Lease creating it (Lease's ``AllowCreateOnUpdate``), and
``MicroTime`` fields parsed as the API server parses them (RFC 3339 with
exactly six fractional digits) and returned in UTC. Tests can fail requests
(``fail_next``) and act between two requests (``before_next``) to stage races.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kubernetes.client
import pytest

JsonObject = dict[str, Any]
# fmt: off
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "Conflict", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
# fmt: on
_MICRO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})")
_RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


@dataclass(frozen=True)
class ResourceType:
    """One API resource the server serves, the rules of its registry strategy, its errors."""

    group: str
    """``""`` for the core group (``/api/v1``)."""
    version: str
    plural: str
    kind: str
    micro_times: tuple[str, ...] = ()
    """Dotted paths of ``MicroTime`` fields (``spec.renewTime``)."""
    create_on_update: bool = False
    unconditional_update: bool = True
    validate: Callable[[JsonObject], list[str]] | None = None
    """Field errors (``"spec.x: Invalid value: 0: must be ..."``), answered as 422 Invalid."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``leases.coordination.k8s.io``, as the API server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def error(self, code: int, name: str, message: str, reason: str | None = None) -> ApiError:
        details = {"name": name, "group": self.group, "kind": self.plural}
        return ApiError(code, message, reason=reason, details=details)

    def not_found(self, name: str) -> ApiError:
        return self.error(404, name, f'{self.qualified} "{name}" not found')

    def conflict(self, name: str, why: str = MODIFIED) -> ApiError:
        return self.error(
            409, name, f'Operation cannot be fulfilled on {self.qualified} "{name}": {why}'
        )

    def invalid(self, name: str, problems: list[str]) -> ApiError:
        text = f'{self.kind}.{self.group} "{name}" is invalid: ' + ", ".join(problems)
        return ApiError(422, text, details={"name": name, "group": self.group, "kind": self.kind})


def _validate_lease(lease: JsonObject) -> list[str]:
    spec, problems = lease.get("spec") or {}, []
    for key, low in (("leaseDurationSeconds", 1), ("leaseTransitions", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or value < low):
            rule = "greater than 0" if low else "greater than or equal to 0"
            problems.append(f"spec.{key}: Invalid value: {value}: must be {rule}")
    return problems


# fmt: off
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease",
                      micro_times=("spec.acquireTime", "spec.renewTime"), create_on_update=True,
                      unconditional_update=False, validate=_validate_lease)
# fmt: on
"""Leases: PUT may create, PUT must carry ``resourceVersion`` (pkg/registry/coordination/lease)."""


@dataclass
class ApiError(Exception):
    """An answer other than success, sent as a ``Status`` object."""

    code: int
    message: str
    reason: str | None = None
    """``None``: the usual reason for ``code`` (``Conflict``, ``NotFound``...)."""
    details: JsonObject | None = None

    def status(self) -> JsonObject:
        reason = REASONS.get(self.code, "") if self.reason is None else self.reason
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": reason, "code": self.code}  # fmt: skip
        return body if self.details is None else {**body, "details": self.details}


class ResourceStore:
    """Every object, by (resource, namespace, name); each write bumps one revision counter."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], JsonObject] = {}
        self._revision = 0

    def get(self, kind: ResourceType, namespace: str, name: str) -> JsonObject:
        with self._lock:
            found = self._objects.get((kind.qualified, namespace, name))
            if found is None:
                raise kind.not_found(name)
            return copy.deepcopy(found)

    def list(self, kind: ResourceType, namespace: str) -> tuple[list[JsonObject], str]:
        """The namespace's objects of ``kind``, and the revision the list was read at."""
        with self._lock:
            keys = sorted(k for k in self._objects if k[:2] == (kind.qualified, namespace))
            return [copy.deepcopy(self._objects[k]) for k in keys], str(self._revision)

    def create(self, kind: ResourceType, namespace: str, obj: JsonObject) -> JsonObject:
        meta = _admit(kind, namespace, obj)
        name = meta.get("name") or ""
        if meta.get("resourceVersion"):  # etcd3 store.Create returns a plain error: a 500
            raise ApiError(500, "resourceVersion should not be set on objects to be created")
        if not name:
            raise kind.invalid(name, ["metadata.name: Required value: name is required"])
        with self._lock:
            if (kind.qualified, namespace, name) in self._objects:
                message = f'{kind.qualified} "{name}" already exists'
                raise kind.error(409, name, message, reason="AlreadyExists")
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return self._store(kind, namespace, name, obj)

    def replace(
        self, kind: ResourceType, namespace: str, name: str, obj: JsonObject
    ) -> tuple[JsonObject, bool]:
        """Update, or create where the resource allows it; ``True`` when it created."""
        meta = _admit(kind, namespace, obj)
        if meta.get("name") != name:
            raise ApiError(
                400,
                f"the name of the object ({meta.get('name')}) does not "
                f"match the name on the URL ({name})",
            )
        with self._lock:
            current = self._objects.get((kind.qualified, namespace, name))
            stored = (current or {}).get("metadata", {})
            if meta.get("uid") and meta["uid"] != stored.get("uid"):  # the UID precondition
                raise kind.conflict(
                    name,
                    f"Precondition failed: UID in precondition: "
                    f"{meta['uid']}, UID in object meta: {stored.get('uid', '')}",
                )
            if current is None:
                if not kind.create_on_update:
                    raise kind.not_found(name)
                meta.pop("resourceVersion", None)
                return self.create(kind, namespace, obj), True
            sent = meta.get("resourceVersion")
            if not sent and not kind.unconditional_update:
                problem = (
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
                )
                raise kind.invalid(name, [problem])
            if sent and sent != stored["resourceVersion"]:
                raise kind.conflict(name)
            meta.update(uid=stored["uid"], creationTimestamp=stored["creationTimestamp"])
            return self._store(kind, namespace, name, obj), False

    def delete(self, kind: ResourceType, namespace: str, name: str) -> JsonObject:
        """Remove and return the object (no finalizers or grace periods yet)."""
        with self._lock:
            gone = self.get(kind, namespace, name)
            del self._objects[(kind.qualified, namespace, name)]
            self._revision += 1
            return gone

    def edit(
        self, kind: ResourceType, namespace: str, name: str, change: Callable[[JsonObject], None]
    ) -> JsonObject:
        """Change an object behind every client's back: a new ``resourceVersion``, no checks."""
        with self._lock:
            obj = self.get(kind, namespace, name)
            change(obj)
            return self._store(kind, namespace, name, obj)

    def _store(self, kind: ResourceType, namespace: str, name: str, obj: JsonObject) -> JsonObject:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._objects[(kind.qualified, namespace, name)] = copy.deepcopy(obj)
        return obj


def _admit(kind: ResourceType, namespace: str, obj: JsonObject) -> JsonObject:
    """Decode as the API server does: type fields, namespace, MicroTimes (to UTC), validation."""
    obj.update(apiVersion=kind.api_version, kind=kind.kind)
    meta: JsonObject = obj.setdefault("metadata", {})
    if meta.setdefault("namespace", namespace) != namespace:
        raise ApiError(
            400,
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    for path in kind.micro_times:
        *parents, leaf = path.split(".")
        holder = obj
        for part in parents:
            holder = holder.get(part) or {}
        value = holder.get(leaf)
        if value is not None and not (isinstance(value, str) and _MICRO_TIME.fullmatch(value)):
            raise ApiError(
                400,
                f'{kind.kind} in version "{kind.version}" cannot be handled as '
                f'a {kind.kind}: parsing time "{value}" as "{_RFC3339_MICRO}"',
            )
        if value is not None:
            moment = datetime.fromisoformat(value).astimezone(UTC)
            holder[leaf] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    problems = kind.validate(obj) if kind.validate is not None else []
    if problems:
        raise kind.invalid(meta.get("name", ""), problems)
    return meta


@dataclass(frozen=True)
class Route:
    """``method`` on a path matching ``pattern`` runs ``verb`` on ``kind``."""

    method: str
    pattern: re.Pattern[str]
    kind: ResourceType
    verb: str


@dataclass
class _Trigger:
    """A reaction to the next ``count`` requests matching method and path (a substring)."""

    method: str | None
    path: str | None
    count: int
    run: Callable[[], ApiError | None]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: Any


@dataclass
class KubeApiServer:
    """The emulator, on 127.0.0.1 and a free port, serving ``resources``."""

    resources: tuple[ResourceType, ...] = (LEASES,)
    store: ResourceStore = field(default_factory=ResourceStore)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._triggers: list[_Trigger] = []
        self._http: ThreadingHTTPServer | None = None
        self.routes: list[Route] = []
        for kind in self.resources:
            listing = f"{re.escape(kind.prefix)}/namespaces/(?P<namespace>[^/]+)/{kind.plural}"
            item = listing + "/(?P<name>[^/]+)"
            for method, pattern, verb in (
                ("GET", listing, "list"), ("POST", listing, "create"), ("GET", item, "get"),
                ("PUT", item, "replace"), ("DELETE", item, "delete"),
            ):  # fmt: skip
                self.routes.append(Route(method, re.compile(pattern), kind, verb))

    def fail_next(
        self,
        status: int = 503,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        message: str = "injected failure",
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` and a ``Status`` body."""
        self._add(_Trigger(method, path, count, lambda: ApiError(status, message)))

    def before_next(
        self,
        action: Callable[[ResourceStore], object],
        *,
        method: str | None = None,
        path: str | None = None,
        count: int = 1,
    ) -> None:
        """Run ``action`` on the store just before serving the next matching request (a race)."""

        def run() -> None:
            action(self.store)

        self._add(_Trigger(method, path, count, run))

    def _add(self, trigger: _Trigger) -> None:
        with self._lock:
            self._triggers.append(trigger)

    @property
    def url(self) -> str:
        assert self._http is not None, "the server is not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> KubeApiServer:
        self._http = _HttpServer(self)
        serve = threading.Thread(target=self._http.serve_forever, args=(0.01,), daemon=True)
        serve.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening: new connections are refused (an API server gone down)."""
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.server_close()

    def answer(self, method: str, target: str, body: Any) -> tuple[int, JsonObject]:
        """Status code and JSON answer for one request; what the HTTP handler sends."""
        path = target.partition("?")[0]
        with self._lock:
            self.requests.append(RecordedRequest(method, path, copy.deepcopy(body)))
            fired = [
                t
                for t in self._triggers
                if t.method in (None, method) and (t.path is None or t.path in path)
            ]
            for trigger in fired:
                trigger.count -= 1
            self._triggers = [t for t in self._triggers if t.count > 0]
        try:
            for trigger in fired:
                if (failure := trigger.run()) is not None:
                    raise failure
            found = [(r, m) for r in self.routes if (m := r.pattern.fullmatch(path))]
            for route, match in found:
                if route.method == method:
                    return self._run(route.verb, route.kind, match.groupdict(), body)
            if found:
                raise ApiError(
                    405, "the server does not allow this method on the requested resource"
                )
            raise ApiError(404, "the server could not find the requested resource")
        except ApiError as error:
            return error.code, error.status()

    def _run(
        self, verb: str, kind: ResourceType, at: dict[str, str], body: Any
    ) -> tuple[int, JsonObject]:
        namespace, name = at["namespace"], at.get("name", "")
        if verb in ("create", "replace") and not isinstance(body, dict):
            raise ApiError(400, "the body of the request is not a JSON object")
        if verb == "get":
            return 200, self.store.get(kind, namespace, name)
        if verb == "create":
            return 201, self.store.create(kind, namespace, body)
        if verb == "replace":
            obj, created = self.store.replace(kind, namespace, name, body)
            return (201 if created else 200), obj
        if verb == "delete":
            gone = self.store.delete(kind, namespace, name)["metadata"]
            details = {"name": name, "group": kind.group, "kind": kind.plural, "uid": gone["uid"]}
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success", "details": details}  # fmt: skip
        items, revision = self.store.list(kind, namespace)
        for item in items:  # list items carry no kind or apiVersion of their own
            del item["kind"], item["apiVersion"]
        return 200, {"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                     "metadata": {"resourceVersion": revision}, "items": items}  # fmt: skip


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: KubeApiServer) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _HttpServer

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, answer = self.server.emulator.answer(
                self.command, self.path, json.loads(raw) if raw else None
            )
        except ValueError as error:
            status, answer = 400, ApiError(400, f"could not decode the body: {error}").status()
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``KubeApiServer.requests``, not an access log."""


def api_client_for(server: KubeApiServer) -> kubernetes.client.ApiClient:
    """A real ``kubernetes`` client pointed at the emulator (plain HTTP, no credentials)."""
    return kubernetes.client.ApiClient(kubernetes.client.Configuration(host=server.url))


@pytest.fixture(name="kube_api")
def kube_api_fixture() -> Iterator[KubeApiServer]:
    """A running emulator; a test module imports ``kube_api_fixture`` to use ``kube_api``."""
    with KubeApiServer() as server:
        yield server


@pytest.fixture(name="kube_client")
def kube_client_fixture(kube_api: KubeApiServer) -> Iterator[kubernetes.client.ApiClient]:
    """A real ``ApiClient`` talking to ``kube_api``."""
    with api_client_for(kube_api) as client:
        yield client
