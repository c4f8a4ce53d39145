"""The target registry (``targets.yaml``): where a drill may run and under which rules.

A target names a provider, a tier (``prod`` needs confirmation), how to reach
the cluster and cloud, the zone and region aliases that make drill files
portable between EKS and AKS, and freeze windows during which no drill may
start. ``sandbox`` is built in, so a fresh clone runs drills with no file.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from drillkit.spec.base import Name, SpecModel
from drillkit.spec.variables import NAME_PATTERN as VARIABLE_NAME

BUILTIN_PROVIDERS = ("local", "kubernetes", "eks", "aks")
_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
Tier = Literal["sandbox", "dev", "staging", "prod"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class FreezeWindow(SpecModel):
    """A period when drills are refused: a fixed interval, a weekly slot, or both (UTC)."""

    name: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    """Shown to whoever is refused, so say why and who to ask."""
    start: datetime | None = None
    end: datetime | None = None
    days: list[Weekday] = Field(default_factory=list)
    """Weekly slot: the days it applies (UTC)."""
    from_time: str = "00:00"
    to_time: str = "23:59"

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expected a time with a zone, like `2026-11-27T00:00:00Z`")
        return value

    @field_validator("from_time", "to_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.fullmatch(value):
            raise ValueError(f"expected a UTC clock time like `18:00`, found {value!r}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> FreezeWindow:
        if self.start is None and self.end is None and not self.days:
            raise ValueError("a freeze window needs `start`/`end`, `days`, or both")
        if (self.start is None) != (self.end is None):
            raise ValueError("give both `start` and `end`")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        return self

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` (aware) falls inside this window."""
        moment = moment.astimezone(UTC)
        if (
            self.start is not None
            and self.end is not None
            and not (self.start <= moment < self.end)
        ):
            return False
        if self.days:
            # Minute resolution, so `toTime: 23:59` (the default) covers the whole last minute.
            now = moment.time().replace(second=0, microsecond=0)
            start, end = time.fromisoformat(self.from_time), time.fromisoformat(self.to_time)
            today = _WEEKDAYS[moment.weekday()]
            if start <= end:
                return today in self.days and start <= now <= end
            # A slot crossing midnight (fri 22:00-02:00) belongs to the day it starts on.
            if now >= start:
                return today in self.days
            yesterday = _WEEKDAYS[(moment.weekday() - 1) % 7]
            return now <= end and yesterday in self.days
        return True


class KubernetesSettings(SpecModel):
    """How to reach the cluster: a kubeconfig context, or the pod's own service account."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    lock_namespace: Name = "default"
    """Where the run's Lease lives (``drillkit-<target>``); drillkit needs to create it there."""
    velero_namespace: Name = "velero"

    @model_validator(mode="after")
    def _one_way(self) -> KubernetesSettings:
        if self.in_cluster and (self.kubeconfig or self.context):
            raise ValueError("`inCluster` excludes `kubeconfig` and `context`")
        return self


class Route53Record(SpecModel):
    """The DNS name whose Route 53 records ``region-outage`` and ``traffic-failover`` move."""

    hosted_zone_id: str = Field(pattern=r"^(/hostedzone/)?[A-Z0-9]{1,32}$")
    record_name: str = Field(min_length=1)
    """The record's DNS name (``orders.example.com``); failover or weighted records."""
    record_type: Literal["A", "AAAA", "CNAME"] = "A"


class AwsSettings(SpecModel):
    """The EKS cluster and how to authenticate (the standard boto3 chain otherwise)."""

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    cluster: str = Field(min_length=1)
    profile: str | None = None
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    route53: Route53Record | None = None
    """Where the service's traffic is routed; needed by region-outage and traffic-failover."""


class AzureSettings(SpecModel):
    """The AKS cluster; credentials come from DefaultAzureCredential."""

    subscription_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    resource_group: str = Field(min_length=1)
    cluster: str = Field(min_length=1)
    resource_manager: str = Field(
        default="https://management.azure.com", pattern=r"^https://[^/\s]+/?$"
    )
    """The Azure Resource Manager endpoint; another cloud's (``https://management.chinacloudapi.cn``,
    ``https://management.usgovcloudapi.net``) for a sovereign cloud. Tokens are asked for it."""
    traffic_manager_profile: str | None = Field(default=None, min_length=1)
    """The Traffic Manager profile a region outage or traffic failover changes."""
    traffic_manager_resource_group: str | None = Field(default=None, min_length=1)
    """The profile's resource group, when not ``resourceGroup``."""
    key_vaults: list[Annotated[str, Field(pattern=r"^https://[^/\s]+/?$")]] = Field(
        default_factory=list, max_length=20
    )
    """Key Vault URLs (``https://NAME.vault.azure.net``) whose certificates a ``tls`` probe
    looks up, to add the vault's view (version, enabled, expiry) of the certificate served."""


class SandboxSettings(SpecModel):
    """Where the embedded sandbox keeps its state (default: the user's data directory)."""

    state_dir: str | None = None


class Target(SpecModel):
    """One environment a drill can run against."""

    provider: str
    """``local`` (the sandbox), ``kubernetes``, ``eks``, ``aks``, or a plugin provider's name."""
    tier: Tier
    description: str = ""
    kubernetes: KubernetesSettings | None = None
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    sandbox: SandboxSettings | None = None
    zones: dict[str, str] = Field(default_factory=dict)
    """Zone aliases used by drills (``a``) -> the platform's zone (``us-east-1a``, ``1``)."""
    regions: dict[str, str] = Field(default_factory=dict)
    """Region aliases (``primary``, ``standby``) -> region names."""
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    variables: dict[str, str] = Field(default_factory=dict)
    """Values for ``${name}`` placeholders in drills and probes (endpoints, DNS names)."""
    signing_key: str | None = Field(default=None, min_length=1)
    """Ed25519 private key file that signs the evidence of runs on this target, unless
    ``--signing-key`` or ``$DRILLKIT_SIGNING_KEY`` names another; a relative path is taken
    from the repository root."""

    @field_validator("provider")
    @classmethod
    def _provider_name(cls, value: str) -> str:
        if not _PROVIDER_NAME.fullmatch(value):
            raise ValueError(
                f"expected a provider name ({', '.join(BUILTIN_PROVIDERS)}), found {value!r}"
            )
        return value

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(VARIABLE_NAME, name):
                raise ValueError(f"expected variable names like `orders_url`, found {name!r}")
        return value

    @model_validator(mode="after")
    def _settings_match_provider(self) -> Target:
        needs = {
            "eks": ("aws", "kubernetes"),
            "aks": ("azure", "kubernetes"),
            "kubernetes": ("kubernetes",),
        }.get(self.provider, ())
        for section in needs:
            if getattr(self, section) is None:
                raise ValueError(f"provider `{self.provider}` needs a `{section}` section")
        foreign = {"aws": "eks", "azure": "aks"}
        for section, owner in foreign.items():
            if getattr(self, section) is not None and self.provider != owner:
                raise ValueError(f"`{section}` settings only apply to provider `{owner}`")
        if self.provider == "local" and self.tier != "sandbox":
            raise ValueError("provider `local` is the sandbox; give it tier `sandbox`")
        return self

    def zone(self, alias: str) -> str:
        return self.zones.get(alias, alias)

    def region(self, alias: str) -> str:
        return self.regions.get(alias, alias)

    def active_freeze(self, moment: datetime) -> FreezeWindow | None:
        return next((w for w in self.freeze_windows if w.covers(moment)), None)


class TargetRegistry(SpecModel):
    """The whole ``targets.yaml``."""

    api_version: Literal["drillkit.io/v1"] = Field(alias="apiVersion")
    kind: Literal["TargetRegistry"]
    targets: dict[Name, Target] = Field(default_factory=dict)


SANDBOX = Target(
    provider="local",
    tier="sandbox",
    description="The embedded local environment (orders service over two regions, three zones).",
    zones={"a": "a", "b": "b", "c": "c"},
    regions={"primary": "primary", "standby": "standby"},
    variables={
        "orders_host": "orders.sandbox.drillkit.test",
        "orders_url": "https://localhost:8443",
        "orders_port": "8443",
        "dns_server": "127.0.0.1:8053",
    },
)
