"""Probe kinds: what a drill measures, usable inline or from ``probes/*.yaml``.

Each model states what the probe checks and what counts as passing. Where a
value comes from the platform (a secret, a backup, a workload), ``source``
defaults to ``target``: the target's own provider answers, so the same probe
works on the sandbox, EKS and AKS.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from drillkit.spec.base import HttpUrl, LabelKey, Name, SpecModel
from drillkit.spec.duration import Duration


class HttpExpectation(SpecModel):
    """What a passing HTTP response looks like."""

    status: list[int] = Field(default_factory=lambda: [200], min_length=1)
    body_contains: str | None = None
    json_fields: dict[str, Any] = Field(default_factory=dict)
    """Dotted path -> expected value, e.g. ``status: ok`` or ``checks.store: true``."""
    headers: dict[str, str] = Field(default_factory=dict)


class TlsClientSettings(SpecModel):
    """TLS verification for HTTPS probes: on by default, with an optional CA bundle."""

    verify: bool = True
    ca_bundle: str | None = None
    """PEM file of CA certificates to trust; a relative path is read from the working directory."""


class HttpProbe(SpecModel):
    """Call an HTTP(S) endpoint and check status, body, JSON fields, headers and latency."""

    type: Literal["http"]
    url: HttpUrl
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect: HttpExpectation = HttpExpectation()
    max_latency: Duration | None = None
    timeout: Duration = timedelta(seconds=5)
    tls: TlsClientSettings = TlsClientSettings()


class TlsProbe(SpecModel):
    """Check the certificate a server presents: chain, name, validity and days left."""

    type: Literal["tls"]
    host: str = Field(min_length=1)
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = None
    """SNI and the name to check; defaults to ``host``."""
    address: str | None = Field(default=None, min_length=1)
    """Connect here instead of resolving ``host`` (like curl's ``--resolve``); SNI and the
    name check still use ``serverName`` or ``host``."""
    ca_bundle: str | None = None
    allow_self_signed: bool = False
    min_days_left: int | None = Field(default=None, ge=0, le=3650)
    """Fail below this many days left; defaults to the drill's ``minCertificateDays``."""
    timeout: Duration = timedelta(seconds=5)


class SecretProbe(SpecModel):
    """Prove a secret reference resolves, recording only a digest, never the value."""

    type: Literal["secret"]
    source: Literal[
        "target",
        "kubernetes",
        "external-secrets",
        "aws-secrets-manager",
        "azure-key-vault",
        "sandbox",
    ] = "target"
    name: str = Field(min_length=1)
    key: str | None = None
    namespace: Name | None = None
    expect_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    max_age: Duration | None = None


class RoutingExpectation(SpecModel):
    """Which endpoint should answer: a region alias, or exact records."""

    region: str | None = None
    records: list[str] = Field(default_factory=list)


class RoutingProbe(SpecModel):
    """Resolve a DNS name and check which region or endpoint answers."""

    type: Literal["routing"]
    name: str = Field(min_length=1)
    record_type: Literal["A", "AAAA", "CNAME", "TXT"] = "A"
    nameserver: str | None = None
    """``host`` or ``host:port`` to ask instead of the system resolver."""
    url: HttpUrl | None = None
    """Optional HTTP(S) URL whose response names the serving region."""
    region_header: str | None = None
    region_field: str | None = None
    tls: TlsClientSettings = TlsClientSettings()
    """TLS verification for ``url``."""
    expect: RoutingExpectation = RoutingExpectation()
    timeout: Duration = timedelta(seconds=5)


class HttpCanaryTarget(SpecModel):
    """Write canaries through the service's own API."""

    write_url: HttpUrl
    read_url: HttpUrl
    delete_url: HttpUrl | None = None
    tls: TlsClientSettings = TlsClientSettings()


class DatabaseCanaryTarget(SpecModel):
    """Write canaries straight into a database (SQLAlchemy URL: SQLite or PostgreSQL)."""

    url: str = Field(pattern=r"^(\$\{|(sqlite|postgresql)(\+\w+)?://)")
    table: str = Field(default="drillkit_canary", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class RpoCanaryProbe(SpecModel):
    """Write sequenced canary records before the fault; read back which survived."""

    type: Literal["rpo-canary"]
    http: HttpCanaryTarget | None = None
    database: DatabaseCanaryTarget | None = None
    interval: Duration = timedelta(seconds=1)

    @model_validator(mode="after")
    def _one_channel(self) -> RpoCanaryProbe:
        if (self.http is None) == (self.database is None):
            raise ValueError("give exactly one of `http` or `database`")
        return self


class WorkloadReadyProbe(SpecModel):
    """Workloads have their desired replicas ready."""

    type: Literal["workload-ready"]
    namespace: Name
    workloads: list[str] = Field(default_factory=list)
    selector: dict[LabelKey, str] = Field(default_factory=dict)
    min_ready_percent: int = Field(default=100, ge=0, le=100)
    max_restarts_since_fault: int | None = Field(default=None, ge=0)
    """Fail when the workload's containers restarted more often than this since the first
    fault: ready replicas that keep crashing have not recovered. Unset: restarts are
    reported, not judged."""


class BackupAgeProbe(SpecModel):
    """The newest completed backup of a schedule is young enough."""

    type: Literal["backup-age"]
    schedule: str = Field(min_length=1)
    namespaces: list[Name] = Field(default_factory=list)
    max_age: Duration | None = None
    """Fail when the newest completed backup is older; defaults to the drill's RPO objective."""


class AccessCheck(SpecModel):
    """One permission a runbook needs."""

    verb: str = Field(min_length=1)
    resource: str = Field(min_length=1)
    namespace: Name | None = None
    group: str = ""


class AccessProbe(SpecModel):
    """The humans (or break-glass group) who run the restore can do what it needs."""

    type: Literal["access"]
    checks: list[AccessCheck] = Field(min_length=1)
    impersonate_group: str | None = None


ProbeSpec = Annotated[
    HttpProbe
    | TlsProbe
    | SecretProbe
    | RoutingProbe
    | RpoCanaryProbe
    | WorkloadReadyProbe
    | BackupAgeProbe
    | AccessProbe,
    Field(discriminator="type"),
]
PROBE_KINDS: tuple[str, ...] = (
    "http",
    "tls",
    "secret",
    "routing",
    "rpo-canary",
    "workload-ready",
    "backup-age",
    "access",
)
