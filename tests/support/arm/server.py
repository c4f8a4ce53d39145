"""The ARM test server: HTTPS on loopback, bearer tokens checked, long-running operations.

It answers what the AKS provider's Azure SDK clients send: resource GET, PUT,
PATCH and DELETE, scale-set instance actions (POST ``poweroff``,
``deallocate``, ``restart``, ``start``), Traffic Manager endpoints, a Key
Vault (keys, signing, secrets) behind the Key Vault challenge, and an App
Service style managed-identity endpoint that issues the tokens.

Long-running operations follow the ARM protocol: the first answer carries
``Azure-AsyncOperation`` and ``Location`` headers (and ``Retry-After: 0``);
the operation reads ``InProgress`` for ``World.operation_polls`` status reads
and only then takes effect, so a client that does not wait sees the old
state. Every request is recorded (method, path) for tests to assert order.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.support.arm.tokens import TokenIssuer
from tests.support.arm.vault import vault_answer
from tests.support.arm.world import JsonObject, World, public

LISTS = {
    "virtualmachinescalesets",
    "virtualmachines",
    "agentpools",
    "securityrules",
    "virtualnetworks",
    "subnets",
    "networksecuritygroups",
    "trafficmanagerprofiles",
}
ACTIONS = {
    "poweroff": "stopped",
    "deallocate": "deallocated",
    "restart": "running",
    "start": "running",
}
TRANSIENT = {
    "poweroff": "stopping",
    "deallocate": "deallocating",
    "restart": "starting",
    "start": "starting",
}


class ArmServer:
    """Start with ``with ArmServer(folder) as server:``; ``server.world`` holds the state."""

    def __init__(self, folder: Path) -> None:
        self.world = World()
        self.tokens = TokenIssuer()
        self.requests: list[tuple[str, str]] = []
        self.ca = trustme.CA()
        leaf = self.ca.issue_cert("127.0.0.1", "localhost")
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "arm-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(context)
        self._http = _Server(self, ("127.0.0.1", 0))
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.port: int = self._http.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.audiences: list[str] = [self.url]
        """The audiences ARM tokens may name: this server's address, and the address of a
        proxy in front of it (a client asks for tokens of the endpoint it is given)."""
        self.vault_audience = f"https://0.0.1:{self.port}"
        """The Key Vault challenge's ``resource``. The SDK insists the vault host is a
        subdomain of it; ``127.0.0.1:PORT`` ends with ``.0.0.1:PORT``, which passes that
        check without turning it off, and keeps the vault's tokens apart from ARM's."""
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="arm-server", daemon=True
        )

    @property
    def identity_environment(self) -> dict[str, str]:
        """Environment for ``DefaultAzureCredential`` to take tokens from this server, and
        for ``requests`` (under every Azure SDK client) to trust its certificate."""
        return {
            "IDENTITY_ENDPOINT": f"{self.url}/msi/token",
            "IDENTITY_HEADER": self.tokens.identity_header,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
        }

    def reset(self) -> None:
        with self.world.lock:
            self.world.resources.clear()
            self.world.operations.clear()
            self.world.keys.clear()
            self.world.secrets.clear()
            self.world.certificates.clear()
            self.world.operation_polls = 2
        self.requests.clear()

    def calls(self, method: str, fragment: str) -> list[str]:
        """Paths of the recorded ``method`` requests whose path contains ``fragment``."""
        return [p for m, p in self.requests if m == method and fragment.lower() in p.lower()]

    def __enter__(self) -> ArmServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


class ClientGone(Exception):
    """The client closed the connection before sending the whole request body."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: ArmServer, address: tuple[str, int]) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that drop a connection are expected."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    # -- plumbing -------------------------------------------------------------------------

    @property
    def owner(self) -> ArmServer:
        return self.server.owner

    @property
    def world(self) -> World:
        return self.server.owner.world

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-ms-request-id", f"req-{time.monotonic_ns()}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise ClientGone(f"{len(raw)} of {length} body bytes")
        return json.loads(raw) if raw else None

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path.rstrip("/") or "/", parse_qs(parts.query)
        try:
            body = self._body()
        except ClientGone:
            # The client died mid-request (a killed `drill run`): Azure never acts on a
            # request it did not receive whole, and reading the short body as "no body"
            # would PUT an empty resource over a real one.
            self.close_connection = True
            return
        self.owner.requests.append((method, parts.path))
        try:
            if path == "/msi/token":
                self._token(query)
            elif path.startswith(("/keys/", "/secrets/", "/certificates")):
                self._vault(method, parts.path, body)
            elif path.startswith(("/operations/", "/operationresults/")):
                self._operation(path)
            elif path.lower().startswith("/subscriptions/"):
                self._arm(method, path, body, query)
            else:
                self._error(404, "NotFound", f"no route for {path}")
        except Exception as exc:  # pragma: no cover - a server bug shows as a 500, not a hang
            self._error(500, "InternalServerError", f"{type(exc).__name__}: {exc}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- tokens and operations ------------------------------------------------------------

    def _token(self, query: dict[str, list[str]]) -> None:
        if self.headers.get("X-IDENTITY-HEADER") != self.owner.tokens.identity_header:
            self._error(401, "Unauthorized", "missing or wrong X-IDENTITY-HEADER")
            return
        resource = (query.get("resource") or [""])[0]
        self._send(200, self.owner.tokens.issue(resource))

    def _lro(self, status: int, body: Any, complete: Any, resource_id: str | None = None) -> None:
        operation = self.world.start_operation(complete, resource_id)
        base = self.owner.url
        self._send(
            status,
            body,
            {
                "Azure-AsyncOperation": f"{base}/operations/{operation}",
                "Location": f"{base}/operationresults/{operation}",
                "Retry-After": "0",
            },
        )

    def _operation(self, path: str) -> None:
        if not self._authorized(tuple(self.owner.audiences)):
            return
        kind, operation_id = path.strip("/").split("/", 1)
        with self.world.lock:
            operation = self.world.operations.get(operation_id)
            status = operation.poll() if operation is not None else None
        if operation is None:
            self._error(404, "NotFound", "no such operation")
        elif kind == "operations":
            self._send(200, {"name": operation_id, "status": status})
        elif status == "InProgress":
            self._send(202, None, {"Location": f"{self.owner.url}{path}", "Retry-After": "0"})
        else:
            found = self.world.get(operation.resource_id) if operation.resource_id else None
            self._send(200, public(found)) if found is not None else self._send(204)

    def _authorized(self, audiences: tuple[str, ...], challenge: str | None = None) -> bool:
        problem = self.owner.tokens.check(self.headers.get("Authorization"), audiences)
        if problem is None:
            return True
        header = challenge or (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{self.owner.tokens.tenant}", '
            'error="invalid_token"'
        )
        self._error(401, "AuthenticationFailed", problem, {"WWW-Authenticate": header})
        return False

    # -- Azure Resource Manager -----------------------------------------------------------

    def _arm(self, method: str, path: str, body: Any, query: dict[str, list[str]]) -> None:
        if not self._authorized(tuple(self.owner.audiences)):
            return
        lower = path.lower()
        segments = lower.split("/")
        if method == "GET":
            if lower.endswith("/instanceview") and "/virtualmachines/" in lower:
                found = self.world.get(path[: -len("/instanceView")])
                if found is None:
                    self._error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
                else:
                    self._send(200, _instance_view(found))
                return
            expand = "instanceview" in (query.get("$expand") or [""])[0].lower()
            found = self.world.get(path)
            if found is not None:
                self._send(200, self._shown(found, expand))
            elif segments[-1] in LISTS:
                listed = [self._shown(r, expand) for r in self.world.children(path)]
                self._send(200, {"value": listed})
            else:
                self._error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
            return
        if "/trafficmanagerprofiles/" in lower and len(segments) > 10:
            self._endpoint(method, path, body)
        elif method == "POST" and "/virtualmachines/" in lower and segments[-1] in ACTIONS:
            self._instance_action(path.rsplit("/", 1)[0], segments[-1])
        elif method == "PUT":
            self._put(path, body)
        elif method == "PATCH":
            self._patch(path, body)
        elif method == "DELETE":
            self._delete(path)
        else:
            self._error(405, "MethodNotAllowed", f"{method} {path}")

    def _shown(self, resource: JsonObject, expand: bool = False) -> JsonObject:
        shown = public(resource)
        if expand and "_power" in resource:
            shown["properties"] = {**shown["properties"], "instanceView": _instance_view(resource)}
        if resource.get("type") == "Microsoft.Network/networkSecurityGroups":
            rules = [public(r) for r in self.world.children(f"{resource['id']}/securityRules")]
            shown = {**shown, "properties": {**shown["properties"], "securityRules": rules}}
        return shown

    def _put(self, path: str, body: JsonObject) -> None:
        existing = self.world.get(path)
        name = path.rsplit("/", 1)[1]
        lower = path.lower()
        resource_type = _type_of(path)
        resource = {**(body or {}), "id": path, "name": name, "type": resource_type}
        properties = dict(resource.get("properties") or {})
        long_running = "/agentpools/" in lower or "/securityrules/" in lower
        properties["provisioningState"] = "Updating" if long_running else "Succeeded"
        resource["properties"] = properties
        self.world.put(resource)
        status = 200 if existing is not None else 201
        if long_running:

            def done() -> None:
                resource["properties"]["provisioningState"] = "Succeeded"

            self._lro(status, public(resource), done, path)
        else:
            self._send(status, public(resource))

    def _patch(self, path: str, body: JsonObject) -> None:
        found = self.world.get(path)
        if found is None:
            self._error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
            return
        with self.world.lock:
            _merge(found, body or {})
        self._send(200, public(found))

    def _delete(self, path: str) -> None:
        if self.world.get(path) is None:
            self._send(204)
            return
        self._lro(202, None, lambda: self.world.delete(path))

    def _instance_action(self, path: str, action: str) -> None:
        found = self.world.get(path)
        if found is None:
            self._error(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
            return
        with self.world.lock:
            found["_power"] = TRANSIENT[action]

        def done() -> None:
            found["_power"] = ACTIONS[action]

        self._lro(202, None, done)

    def _endpoint(self, method: str, path: str, body: JsonObject) -> None:
        """Traffic Manager endpoints live inside their profile's document."""
        profile_path, endpoint_type, name = path.rsplit("/", 2)
        profile = self.world.get(profile_path)
        if profile is None:
            self._error(404, "ResourceNotFound", f"The Resource '{profile_path}' was not found.")
            return
        with self.world.lock:
            endpoints = profile["properties"]["endpoints"]
            found = next((e for e in endpoints if e["name"].lower() == name.lower()), None)
            if method == "DELETE":
                if found is not None:
                    endpoints.remove(found)
                self._send(200 if found else 204)
                return
            if method == "PUT" or found is None:
                if method == "PATCH":
                    self._error(404, "NotFound", f"no endpoint {name}")
                    return
                endpoint = {
                    "id": path,
                    "name": name,
                    "type": f"Microsoft.Network/trafficManagerProfiles/{endpoint_type}",
                    "properties": dict((body or {}).get("properties") or {}),
                }
                if found is not None:
                    endpoints[endpoints.index(found)] = endpoint
                else:
                    endpoints.append(endpoint)
            else:
                _merge(found, body or {})
                endpoint = found
        self._send(200, endpoint)

    # -- Key Vault ------------------------------------------------------------------------

    def _vault(self, method: str, path: str, body: Any) -> None:
        challenge = (
            f'Bearer authorization="https://login.microsoftonline.com/{self.owner.tokens.tenant}", '
            f'resource="{self.owner.vault_audience}"'
        )
        if not self._authorized((self.owner.vault_audience,), challenge):
            return
        status, answer = vault_answer(self.world, self.owner.url, method, path, body)
        self._send(status, answer)


def _type_of(path: str) -> str:
    """``Microsoft.Network/networkSecurityGroups/securityRules`` from a resource id."""
    tail = path.split("/providers/", 1)[1].split("/")
    namespace, rest = tail[0], tail[1:]
    return "/".join([namespace, *rest[0::2]])


def _merge(target: JsonObject, patch: JsonObject) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _instance_view(instance: JsonObject) -> JsonObject:
    power = instance["_power"]
    statuses = [
        {"code": "ProvisioningState/succeeded", "level": "Info"},
        {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
    ]
    return {"platformUpdateDomain": 0, "platformFaultDomain": 0, "statuses": statuses}
