"""region-outage and traffic-failover through Traffic Manager on the ARM test server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks import AksProvider
from drillkit.spec.faults import RegionOutage
from drillkit.spec.restores import TrafficFailover
from tests.support.arm.fixtures import AksWorld
from tests.support.fault_steps import apply_journaled, revert_from_record
from tests.support.probe_context import ProbeContext


@pytest.fixture
def provider(aks: AksWorld) -> Iterator[AksProvider]:
    opened = aks.provider()
    try:
        yield opened
    finally:
        opened.close()


def endpoints(aks: AksWorld) -> dict[str, dict[str, Any]]:
    profile = aks.world.get(aks.layout.profile_id)
    assert profile is not None
    return {
        e["properties"]["endpointLocation"]: {
            k: e["properties"][k] for k in ("endpointStatus", "priority", "weight")
        }
        for e in profile["properties"]["endpoints"]
    }


def outage(provider: AksProvider) -> dict[str, Any]:
    fault = RegionOutage.model_validate({"type": "region-outage", "region": "primary"})
    undo, _ = apply_journaled(provider, fault)
    return undo


def revert_fresh(aks: AksWorld, undo: dict[str, Any]) -> dict[str, Any]:
    """Revert as ``drill recover`` does: a new provider, only the journaled record."""
    return revert_from_record(aks.provider, "region-outage", undo)


def failover(provider: AksProvider, **extra: Any) -> dict[str, Any]:
    handler = provider.restore_handler("traffic-failover")
    assert handler is not None
    intent = TrafficFailover.model_validate({"type": "traffic-failover", "to": "standby", **extra})
    result: dict[str, Any] = handler.run(intent, ProbeContext())
    return result


def test_region_outage_disables_the_primary_endpoint_and_the_undo_enables_it(
    provider: AksProvider, aks: AksWorld
) -> None:
    before = endpoints(aks)

    undo = outage(provider)

    assert endpoints(aks)["westeurope"]["endpointStatus"] == "Disabled"
    assert endpoints(aks)["northeurope"] == before["northeurope"]
    assert revert_fresh(aks, undo) == {"enabled": ["orders-westeurope"]}
    assert endpoints(aks) == before
    assert revert_fresh(aks, undo) == {"enabled": []}


def test_priority_failover_puts_the_standby_first_in_one_write(
    provider: AksProvider, aks: AksWorld
) -> None:
    result = failover(provider)

    assert result["method"] == "priority"
    assert endpoints(aks)["northeurope"]["priority"] == 1
    assert endpoints(aks)["westeurope"]["priority"] == 2
    assert len(aks.server.calls("PUT", "/trafficmanagerprofiles/orders")) == 1
    assert failover(provider)["changed"] == []


def test_a_failover_after_the_outage_leaves_the_primary_behind_the_standby_when_undone(
    provider: AksProvider, aks: AksWorld
) -> None:
    undo = outage(provider)
    failover(provider)
    revert_fresh(aks, undo)

    assert endpoints(aks)["westeurope"] == {"endpointStatus": "Enabled", "priority": 2, "weight": 1}
    assert endpoints(aks)["northeurope"]["priority"] == 1


def test_weighted_failover_gives_the_standby_the_weight(
    provider: AksProvider, aks: AksWorld
) -> None:
    failover(provider, method="weighted")

    assert endpoints(aks)["northeurope"]["weight"] == 1000
    assert endpoints(aks)["westeurope"]["weight"] == 1


def test_a_region_without_endpoints_is_named_with_the_regions_that_have_some(
    provider: AksProvider,
) -> None:
    handler = provider.fault_handler("region-outage")
    assert handler is not None
    fault = RegionOutage.model_validate({"type": "region-outage", "region": "eastus"})

    with pytest.raises(PermanentError) as caught:
        handler.prepare(fault, ProbeContext())

    assert "no endpoint in region eastus (its endpoints are in: northeurope, westeurope)" in (
        caught.value.message
    )


def test_a_target_without_a_profile_is_told_which_setting_to_add(aks: AksWorld) -> None:
    target = aks.target()
    del target["azure"]["trafficManagerProfile"]
    from drillkit.spec.targets import Target

    provider = AksProvider("staging-aks", Target.model_validate(target))
    handler = provider.fault_handler("region-outage")
    assert handler is not None

    with pytest.raises(UserInputError) as caught:
        handler.impact(RegionOutage.model_validate({"type": "region-outage"}))

    assert caught.value.fix is not None and "trafficManagerProfile" in caught.value.fix
