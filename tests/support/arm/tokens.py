"""Bearer tokens the test server issues and checks, and the managed-identity endpoint's answer.

Tokens are JWTs signed with HMAC-SHA256 under a key only the server knows, so
the server refuses a token it did not issue, one issued for another audience
and one that has expired, as Azure AD-backed services do. The claims carry an
``oid`` (object id) and ``tid`` (tenant), which the provider reports as the
caller's identity. Tokens come from an App Service style managed-identity
endpoint (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``), which is what
``DefaultAzureCredential`` uses when those variables are set: the real
credential chain, offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

CALLER_OID = "5c3f2a1e-0d7b-4d8e-9f10-2b6a7c8d9e01"
TENANT_ID = "72f988bf-0000-4000-8000-000000000047"
LIFETIME_SECONDS = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenIssuer:
    """Issues tokens for an audience (``resource``) and checks them on every request."""

    identity_header: str = field(default_factory=lambda: secrets.token_hex(16))
    oid: str = CALLER_OID
    tenant: str = TENANT_ID
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    issued: int = 0

    def issue(self, resource: str) -> dict[str, Any]:
        """The managed-identity endpoint's JSON answer for ``resource``."""
        now = int(time.time())
        claims = {
            "aud": resource.rstrip("/"),
            "oid": self.oid,
            "tid": self.tenant,
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(
            hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        )
        self.issued += 1
        return {
            "access_token": f"{header}.{payload}.{signature}",
            "expires_on": str(now + LIFETIME_SECONDS),
            "resource": resource,
            "token_type": "Bearer",
        }

    def check(self, authorization: str | None, audiences: tuple[str, ...]) -> str | None:
        """None when the header carries a valid token for one of ``audiences``, else why not."""
        if not authorization or not authorization.startswith("Bearer "):
            return "no bearer token"
        parts = authorization[len("Bearer ") :].split(".")
        if len(parts) != 3:
            return "malformed token"
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return "token signature does not verify"
        claims = json.loads(_unb64(parts[1]))
        if claims["exp"] < time.time():
            return "token expired"
        if claims["aud"] not in {a.rstrip("/") for a in audiences}:
            return f"token audience {claims['aud']} is not accepted here"
        return None
