"""zone-outage on AKS: the compute mode deallocates a zone's instances behind a paused
autoscaler, the network mode denies the zone's node addresses in the node subnet's security
group; each undo, from the journaled record in a fresh provider, puts back exactly what was."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.aks import AksProvider
from drillkit.providers.kubernetes.faults import TAINT_KEY
from drillkit.spec.faults import ZoneOutage
from tests.support.arm.aks_seed import add_rule
from tests.support.arm.fixtures import AksWorld
from tests.support.fault_steps import apply_journaled, revert_from_record
from tests.support.kube.catalogue import NODES
from tests.support.probe_context import ProbeContext


@pytest.fixture
def provider(aks: AksWorld) -> Iterator[AksProvider]:
    opened = aks.provider()
    try:
        yield opened
    finally:
        opened.close()


def outage(mode: str = "auto", zone: str = "a", **extra: Any) -> ZoneOutage:
    return ZoneOutage.model_validate({"type": "zone-outage", "zone": zone, "mode": mode, **extra})


def tainted(aks: AksWorld) -> set[str]:
    return {
        n["metadata"]["name"]
        for n in aks.kube.store.list(NODES)
        if any(t["key"] == TAINT_KEY for t in n["spec"].get("taints") or [])
    }


def run(provider: AksProvider, fault: ZoneOutage) -> dict[str, Any]:
    undo, _ = apply_journaled(provider, fault)
    return undo


def revert_fresh(aks: AksWorld, undo: dict[str, Any]) -> dict[str, Any]:
    """Revert as ``drill recover`` does: a new provider, only the journaled record."""
    return revert_from_record(aks.provider, "zone-outage", undo)


def pools(aks: AksWorld) -> dict[str, dict[str, Any]]:
    found = aks.world.children(f"{aks.layout.cluster_id}/agentPools")
    return {
        p["name"]: {
            k: p["properties"].get(k) for k in ("enableAutoScaling", "minCount", "maxCount")
        }
        for p in found
    }


def rules(aks: AksWorld) -> dict[str, dict[str, Any]]:
    found = aks.world.children(f"{aks.layout.nsg_id}/securityRules")
    return {r["name"]: copy.deepcopy(r["properties"]) for r in found}


# -- compute ------------------------------------------------------------------------------


def test_compute_deallocates_the_zone_in_every_pool_with_the_autoscaler_paused(
    provider: AksProvider, aks: AksWorld
) -> None:
    before = pools(aks)

    undo = run(provider, outage("compute", instance_action="deallocate"))

    assert tainted(aks) == set()
    in_zone = aks.layout.nodes_in("1")
    assert {n["pool"] for n in in_zone} == {"system", "orders"}
    assert {aks.power(n) for n in in_zone} == {"deallocated"}
    assert {aks.power(n) for n in aks.layout.nodes if n["zone"] != "1"} == {"running"}
    assert {p["enableAutoScaling"] for p in pools(aks).values()} == {False}
    assert undo["pools"][0]["minCount"] == before[undo["pools"][0]["name"]]["minCount"]
    # The autoscaler was paused before the first instance went down.
    order = [p for m, p in aks.server.requests if m in ("PUT", "POST")]
    assert "/agentPools/" in order[0] and order[-1].endswith("/deallocate")

    result = revert_fresh(aks, undo)

    assert {aks.power(n) for n in aks.layout.nodes} == {"running"}
    assert pools(aks) == before
    assert sorted(result["autoscalerRestored"]) == ["orders", "system"]


def test_auto_taints_the_zone_nodes_then_powers_their_instances_off(
    provider: AksProvider, aks: AksWorld
) -> None:
    undo = run(provider, outage())

    assert undo["layer"] == "compute" and undo["action"] == "power-off"
    assert {aks.power(n) for n in aks.layout.nodes_in("1")} == {"stopped"}
    assert tainted(aks) == {n["name"] for n in aks.layout.nodes_in("1")}
    revert_fresh(aks, undo)
    assert {aks.power(n) for n in aks.layout.nodes} == {"running"}
    assert tainted(aks) == set()
    assert not any(n["spec"].get("unschedulable") for n in aks.kube.store.list(NODES))


def test_reverting_compute_twice_changes_nothing_the_second_time(
    provider: AksProvider, aks: AksWorld
) -> None:
    undo = run(provider, outage("compute"))
    revert_fresh(aks, undo)
    aks.server.requests.clear()

    assert revert_fresh(aks, undo) == {"started": [], "autoscalerRestored": []}
    assert [m for m, _ in aks.server.requests if m != "GET"] == []


def test_an_instance_already_stopped_stays_stopped_after_the_undo(
    provider: AksProvider, aks: AksWorld
) -> None:
    stopped = aks.layout.nodes_in("1")[0]
    instance = aks.world.get(stopped["providerID"].removeprefix("azure://"))
    assert instance is not None
    instance["_power"] = "deallocated"

    revert_fresh(aks, run(provider, outage("compute")))

    assert aks.power(stopped) == "deallocated"
    assert {aks.power(n) for n in aks.layout.nodes if n is not stopped} == {"running"}


def test_the_plan_lists_pools_scale_sets_and_instances(
    provider: AksProvider, aks: AksWorld
) -> None:
    handler = provider.fault_handler("zone-outage")
    assert handler is not None

    aks.server.requests.clear()
    impact = handler.impact(outage("compute", instance_action="deallocate"))

    assert impact.count("node-pool") == 2
    # Power states come with the instance listing, not one request per instance.
    assert aks.server.calls("GET", "/virtualMachines") and not aks.server.calls(
        "GET", "/instanceView"
    )
    assert impact.count("scale-set") == 2
    assert {t.name for t in impact.touched if t.kind == "instance"} == {
        f"{n['scaleSet']}/{n['instanceId']}" for n in aks.layout.nodes_in("1")
    }


def test_terminating_a_zone_is_refused_because_it_could_not_be_undone(
    provider: AksProvider,
) -> None:
    handler = provider.fault_handler("zone-outage")
    assert handler is not None

    with pytest.raises(UserInputError) as caught:
        handler.prepare(outage("compute", instance_action="terminate"), ProbeContext())

    assert caught.value.fix == "use `instanceAction: deallocate` (or `stop` to power them off)"


# -- network ------------------------------------------------------------------------------


def test_network_denies_the_zone_addresses_first_and_the_undo_removes_only_its_rules(
    provider: AksProvider, aks: AksWorld
) -> None:
    before = rules(aks)
    addresses = sorted(n["address"] for n in aks.layout.nodes_in("2"))

    undo = run(provider, outage("network", zone="b"))

    during = rules(aks)
    inbound, outbound = during["drillkit-zone-outage-2-in"], during["drillkit-zone-outage-2-out"]
    assert inbound["access"] == outbound["access"] == "Deny"
    assert inbound["destinationAddressPrefixes"] == addresses
    assert outbound["sourceAddressPrefixes"] == addresses
    assert inbound["priority"] < before["allow-https-in"]["priority"]
    assert during["allow-https-in"] == before["allow-https-in"]
    assert {aks.power(n) for n in aks.layout.nodes} == {"running"}

    revert_fresh(aks, undo)
    assert rules(aks) == before
    aks.server.requests.clear()
    assert revert_fresh(aks, undo) == {"restored": []}
    assert [m for m, _ in aks.server.requests if m != "GET"] == []


def test_a_rule_that_already_had_the_drill_name_is_put_back_exactly(
    provider: AksProvider, aks: AksWorld
) -> None:
    add_rule(
        aks.world,
        aks.layout.nsg_id,
        "drillkit-zone-outage-1-in",
        priority=300,
        access="Allow",
        direction="Inbound",
    )
    before = rules(aks)

    undo = run(provider, outage("network"))
    assert rules(aks)["drillkit-zone-outage-1-in"]["access"] == "Deny"
    revert_fresh(aks, undo)

    after = rules(aks)
    assert after["drillkit-zone-outage-1-in"] == before["drillkit-zone-outage-1-in"]
    assert set(after) == set(before)


def test_the_network_plan_names_the_rules_it_adds(provider: AksProvider) -> None:
    handler = provider.fault_handler("zone-outage")
    assert handler is not None

    impact = handler.impact(outage("network", zone="c"))

    assert {t.name for t in impact.touched if t.kind == "nsg-rule"} == {
        "aks-agentpool-12345678-nsg/drillkit-zone-outage-3-in",
        "aks-agentpool-12345678-nsg/drillkit-zone-outage-3-out",
    }


def test_a_rule_at_the_first_priority_leaves_no_room_and_is_named(
    provider: AksProvider, aks: AksWorld
) -> None:
    add_rule(
        aks.world, aks.layout.nsg_id, "allow-all", priority=100, access="Allow", direction="Inbound"
    )
    handler = provider.fault_handler("zone-outage")
    assert handler is not None

    with pytest.raises(PermanentError) as caught:
        handler.prepare(outage("network"), ProbeContext())

    assert "has a rule at priority 100" in caught.value.message


# -- kubernetes ---------------------------------------------------------------------------


def test_kubernetes_mode_taints_the_nodes_aks_labels_with_the_region_and_zone(
    provider: AksProvider, aks: AksWorld
) -> None:
    undo = run(provider, outage("kubernetes"))

    assert tainted(aks) == {n["name"] for n in aks.layout.nodes_in("1")}
    assert {aks.power(n) for n in aks.layout.nodes} == {"running"}
    revert_fresh(aks, undo)
    assert not any(n["spec"].get("taints") for n in aks.kube.store.list(NODES))
