"""The ``secret`` probe: a secret reference resolves, proven without ever recording the value.

The provider's secret source (``providers.sources``) digests the value where it
reads it; this probe sees only a ``SecretReading`` and decides: the secret
exists, is not empty, matches ``expectSha256`` when given, was rotated within
``maxAge`` when given (an unknown rotation time fails: the age cannot be
proven), and is in sync where the source tracks that (External Secrets
``Ready``). The result records the sha256, size, rotation time and age.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drillkit.errors import DrillError, PermanentError
from drillkit.probes.registry import GENERIC_PROBES
from drillkit.providers.base import ProbeResult, StepContext
from drillkit.providers.sources import SecretMissing, SecretReading, SecretSource
from drillkit.spec.duration import format_duration
from drillkit.spec.probes import SecretProbe


class SecretProbeHandler:
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def measure(self, intent: SecretProbe, ctx: StepContext) -> ProbeResult:
        what = _describe(intent)
        source = self._source(intent.source)
        try:
            reading = source.read_secret(intent.name, intent.key, intent.namespace, ctx)
        except SecretMissing as exc:
            return ProbeResult(False, exc.message, {"exists": False})
        except DrillError as exc:
            return ProbeResult(False, f"{what}: {exc.message}", {"exists": None})
        values = _values(reading)
        problem = _problem(intent, reading, values)
        if problem is not None:
            return ProbeResult(False, f"{what}: {problem}", values)
        return ProbeResult(
            True, f"{what} resolves ({reading.size} bytes, sha256 {reading.sha256[:12]}...)", values
        )

    def _source(self, name: str) -> SecretSource:
        source: SecretSource | None = self.provider.secret_source(name)
        if source is None:
            raise PermanentError(
                f"provider `{self.provider.name}` cannot read secrets from source `{name}`",
                fix="use `source: target` (the target's own secret store), or a source this "
                "provider supports",
            )
        return source


def _describe(intent: SecretProbe) -> str:
    where = f"{intent.namespace}/" if intent.namespace else ""
    key = f" key `{intent.key}`" if intent.key else ""
    return f"secret `{where}{intent.name}`{key}"


def _values(reading: SecretReading) -> dict[str, Any]:
    values: dict[str, Any] = {"exists": True, "sha256": reading.sha256, "size": reading.size}
    if reading.updated_at is not None:
        values["updatedAt"] = reading.updated_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        values["ageSeconds"] = round(_age(reading.updated_at).total_seconds(), 3)
    if reading.ready is not None:
        values["ready"] = reading.ready
    values.update({k: v for k, v in reading.details.items() if k not in values})
    return values


def _problem(intent: SecretProbe, reading: SecretReading, values: dict[str, Any]) -> str | None:
    if reading.size == 0:
        return "is empty"
    if reading.ready is False:
        return "exists but its sync status is not Ready"
    if intent.expect_sha256 is not None and reading.sha256 != intent.expect_sha256:
        values["expectedSha256"] = intent.expect_sha256
        return (
            f"sha256 {reading.sha256[:12]}... differs from expectSha256 "
            f"{intent.expect_sha256[:12]}..."
        )
    if intent.max_age is not None:
        if reading.updated_at is None:
            return (
                f"its last rotation time is unknown, so maxAge {format_duration(intent.max_age)} "
                "cannot be proven"
            )
        age = _age(reading.updated_at)
        if age > intent.max_age:
            return (
                f"last rotated {format_duration(_whole(age))} ago, older than maxAge "
                f"{format_duration(intent.max_age)}"
            )
    return None


def _age(moment: datetime) -> timedelta:
    return datetime.now(UTC) - moment


def _whole(age: timedelta) -> timedelta:
    return timedelta(seconds=round(age.total_seconds()))


def _create(provider: Any) -> SecretProbeHandler | None:
    """Only where the provider has a secret source of its own (``source: target``)."""
    return SecretProbeHandler(provider) if provider.secret_source("target") is not None else None


GENERIC_PROBES.register("secret", _create)
