"""The readiness policy: how old a drill's last passing run may be, by the drill's tier.

Read from ``policy.yaml`` at the root of the drill repository (or ``--policy``),
a document in the same style as drills and targets, so a mistake is reported
with file, line and field::

    apiVersion: drillkit.io/v1
    kind: ReadinessPolicy
    spec:
      maxAge:
        - {tier: 1, every: 90d}
        - {tier: 2, every: 180d}
      defaultMaxAge: 365d
      targets: [prod-eks-use1]   # optional: every drill must have runs on these

Without a file the defaults apply: tier 1 every 90 days, tier 2 every 180,
any other tier every 365.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from drillkit.errors import InvalidDocument
from drillkit.spec.base import Name, SpecModel
from drillkit.spec.duration import Duration
from drillkit.spec.resolve import parse_model
from drillkit.spec.source import load_source

POLICY_FILE = "policy.yaml"


class InvalidPolicy(InvalidDocument):
    """The readiness policy file is not valid."""


class TierAge(SpecModel):
    """Drills of this tier must have passed within ``every``."""

    tier: int = Field(ge=0, le=3)
    every: Duration


class PolicySpec(SpecModel):
    max_age: tuple[TierAge, ...] = (
        TierAge(tier=1, every=timedelta(days=90)),
        TierAge(tier=2, every=timedelta(days=180)),
    )
    default_max_age: Duration = timedelta(days=365)
    targets: tuple[Name, ...] = ()
    """Targets every drill of the repository is expected to have passed on."""

    @model_validator(mode="after")
    def _one_age_per_tier(self) -> PolicySpec:
        tiers = [entry.tier for entry in self.max_age]
        repeated = sorted({tier for tier in tiers if tiers.count(tier) > 1})
        if repeated:
            raise ValueError(f"tier {repeated[0]} is listed twice in maxAge; keep one entry")
        return self


class ReadinessPolicy(SpecModel):
    api_version: Literal["drillkit.io/v1"] = "drillkit.io/v1"
    kind: Literal["ReadinessPolicy"] = "ReadinessPolicy"
    spec: PolicySpec = PolicySpec()

    def max_age(self, tier: int) -> timedelta:
        for entry in self.spec.max_age:
            if entry.tier == tier:
                return entry.every
        return self.spec.default_max_age


DEFAULT_POLICY = ReadinessPolicy()


def load_policy(path: Path | None, repo_root: Path | None) -> tuple[ReadinessPolicy, str]:
    """The policy from ``path``, else ``<repo>/policy.yaml``, else the defaults; and its origin."""
    if path is None and repo_root is not None and (repo_root / POLICY_FILE).is_file():
        path = repo_root / POLICY_FILE
    if path is None:
        return DEFAULT_POLICY, "built-in defaults"
    source = load_source(path)
    return parse_model(ReadinessPolicy, source, InvalidPolicy), str(path)
