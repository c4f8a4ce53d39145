"""``region-outage`` and ``traffic-failover`` through an Azure Traffic Manager profile.

The profile is the target's ``trafficManagerProfile`` (a failover's
``record`` may name another). Endpoints belong to a region by their
``endpointLocation``; the target's region aliases name the regions.

- ``region-outage`` disables every endpoint of the region. Its undo record
  keeps each endpoint's status, and the undo enables exactly those that were
  enabled; priorities and weights a failover changed meanwhile are the
  recovery's, not the fault's, and stay.
- ``traffic-failover`` moves traffic to the standby region the way the
  profile routes: ``priority`` gives the standby's endpoints the first
  priorities (the others keep their order after them), ``weighted`` gives
  them all the weight (others drop to 1, the least Traffic Manager takes),
  and any other method disables the endpoints outside the standby region.
  The profile is written back in one PUT, so priorities never clash midway,
  and the change is journaled with the values it replaced.
"""

from __future__ import annotations

from typing import Any

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks import AksProvider
from drillkit.providers.base import Impact, JsonDict, StepContext, Touched
from drillkit.spec.faults import RegionOutage
from drillkit.spec.restores import TrafficFailover

STANDBY_WEIGHT = 1000


def _region(name: str | None) -> str:
    return (name or "").replace(" ", "").lower()


def _endpoint_type(endpoint: Any) -> str:
    kind = str(endpoint.type).rsplit("/", 1)[-1]
    return kind[:1].upper() + kind[1:]


class _Profile:
    """One Traffic Manager profile of the target."""

    def __init__(self, provider: AksProvider, name: str | None = None) -> None:
        settings = provider.azure_settings
        profile = name or settings.traffic_manager_profile
        if profile is None:
            raise UserInputError(
                f"target `{provider.target_name}` names no Traffic Manager profile",
                fix="add `trafficManagerProfile: NAME` (and `trafficManagerResourceGroup` if it "
                "is not the cluster's) to the target's `azure` section",
            )
        self.provider = provider
        self.name = profile
        self.group = settings.traffic_manager_resource_group or settings.resource_group

    def read(self) -> Any:
        return self.provider.call(
            f"read Traffic Manager profile {self.name}",
            lambda: self.provider.azure.traffic.profiles.get(self.group, self.name),
        )

    def endpoints_in(self, region: str) -> tuple[Any, list[Any]]:
        profile = self.read()
        found = [
            e for e in profile.endpoints or [] if _region(e.endpoint_location) == _region(region)
        ]
        if not found:
            where = sorted({str(e.endpoint_location) for e in profile.endpoints or []})
            raise PermanentError(
                f"Traffic Manager profile {self.name} has no endpoint in region {region} "
                f"(its endpoints are in: {', '.join(where) or 'nowhere'})",
                fix="check the target's region aliases (`regions:`) and the endpoints' locations",
            )
        return profile, found

    def update(self, endpoint_type: str, name: str, ctx: StepContext, **changes: Any) -> None:
        from azure.mgmt.trafficmanager.models import Endpoint

        ctx.note("traffic-manager-endpoint", profile=self.name, endpoint=name, set=changes)
        self.provider.call(
            f"update Traffic Manager endpoint {self.name}/{name}",
            lambda: self.provider.azure.traffic.endpoints.update(
                self.group, self.name, endpoint_type, name, Endpoint(**changes)
            ),
        )


@AksProvider.fault("region-outage")
class RegionOutageHandler:
    """Disable the region's Traffic Manager endpoints; the undo enables them again."""

    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider

    def impact(self, intent: RegionOutage) -> Impact:
        _supported(intent)
        region = self.provider.target.region(intent.region)
        profile = _Profile(self.provider)
        _, endpoints = profile.endpoints_in(region)
        return Impact(
            (
                Touched("region", region, "outage"),
                *(
                    Touched("traffic-endpoint", f"{profile.name}/{e.name}", "disable")
                    for e in endpoints
                ),
            )
        )

    def prepare(self, intent: RegionOutage, ctx: StepContext) -> JsonDict:
        _supported(intent)
        region = self.provider.target.region(intent.region)
        profile = _Profile(self.provider)
        _, endpoints = profile.endpoints_in(region)
        return {
            "region": region,
            "profile": profile.name,
            "resourceGroup": profile.group,
            "endpoints": [
                {
                    "name": e.name,
                    "type": _endpoint_type(e),
                    "status": str(getattr(e.endpoint_status, "value", e.endpoint_status)),
                    "priority": e.priority,
                    "weight": e.weight,
                }
                for e in endpoints
            ],
        }

    def apply(self, intent: RegionOutage, undo: JsonDict, ctx: StepContext) -> JsonDict:
        profile = _Profile(self.provider, undo["profile"])
        disabled = []
        for endpoint in undo["endpoints"]:
            if endpoint["status"] == "Enabled":
                profile.update(endpoint["type"], endpoint["name"], ctx, endpoint_status="Disabled")
                disabled.append(endpoint["name"])
        return {"region": undo["region"], "disabled": disabled}

    def revert(self, undo: JsonDict, ctx: StepContext) -> JsonDict:
        profile = _Profile(self.provider, undo["profile"])
        now = {e.name: e for e in profile.read().endpoints or []}
        enabled = []
        for endpoint in undo["endpoints"]:
            current = now.get(endpoint["name"])
            if current is None or endpoint["status"] != "Enabled":
                continue
            if str(getattr(current.endpoint_status, "value", current.endpoint_status)) != "Enabled":
                profile.update(endpoint["type"], endpoint["name"], ctx, endpoint_status="Enabled")
                enabled.append(endpoint["name"])
        return {"enabled": enabled}


def _supported(intent: RegionOutage) -> None:
    if intent.mode == "compute":
        raise UserInputError(
            "region-outage `mode: compute` is not available on AKS targets",
            fix="use `mode: traffic` (or auto): the region's Traffic Manager endpoints go",
        )


@AksProvider.restore("traffic-failover")
class TrafficFailoverHandler:
    """Move the profile's traffic to the standby region (see the module docstring)."""

    def __init__(self, provider: AksProvider) -> None:
        self.provider = provider

    def impact(self, intent: TrafficFailover) -> Impact:
        region = self.provider.target.region(intent.to)
        profile = _Profile(self.provider, intent.record)
        _, standby = profile.endpoints_in(region)
        return Impact(
            tuple(
                Touched(
                    "traffic-endpoint", f"{profile.name}/{e.name}", f"receive traffic ({region})"
                )
                for e in standby
            )
        )

    def run(self, intent: TrafficFailover, ctx: StepContext) -> JsonDict:
        region = self.provider.target.region(intent.to)
        profile = _Profile(self.provider, intent.record)
        current, standby = profile.endpoints_in(region)
        method = _method(intent.method, current)
        names = {e.name for e in standby}
        others = [e for e in current.endpoints or [] if e.name not in names]
        changes: list[tuple[Any, dict[str, Any]]] = []
        if method == "priority":
            order = sorted(standby, key=_priority) + sorted(others, key=_priority)
            changes = [(e, {"priority": n}) for n, e in enumerate(order, start=1)]
        elif method == "weighted":
            changes = [(e, {"weight": STANDBY_WEIGHT}) for e in standby]
            changes += [(e, {"weight": 1}) for e in others]
        else:
            changes = [(e, {"endpoint_status": "Disabled"}) for e in others]
        changes += [(e, {"endpoint_status": "Enabled"}) for e in standby]
        changed = _apply_changes(profile, current, changes, ctx)
        return {"profile": profile.name, "method": method, "to": region, "changed": changed}


def _priority(endpoint: Any) -> int:
    return int(endpoint.priority or 0)


def _method(asked: str, profile: Any) -> str:
    if asked in ("priority", "weighted"):
        return asked
    if asked == "failover":
        return "priority"
    routing = str(getattr(profile.traffic_routing_method, "value", profile.traffic_routing_method))
    return {"Priority": "priority", "Weighted": "weighted"}.get(routing, "disable")


def _apply_changes(
    profile: _Profile, current: Any, changes: list[tuple[Any, dict[str, Any]]], ctx: StepContext
) -> list[str]:
    """Change the endpoints in ``current`` and write the profile back in one PUT, so
    priorities never clash midway (Traffic Manager wants them unique); returns
    ``endpoint: field=value`` for each change made, and journals the values replaced."""
    done, before = [], []
    for endpoint, wanted in changes:
        for key, value in wanted.items():
            old = getattr(getattr(endpoint, key), "value", getattr(endpoint, key))
            if old == value:
                continue
            setattr(endpoint, key, value)
            done.append(f"{endpoint.name}: {key}={value}")
            before.append(f"{endpoint.name}: {key}={old}")
    if done:
        ctx.note("traffic-manager-profile", profile=profile.name, set=done, before=before)
        profile.provider.call(
            f"write Traffic Manager profile {profile.name}",
            lambda: profile.provider.azure.traffic.profiles.create_or_update(
                profile.group, profile.name, current
            ),
        )
    return done
