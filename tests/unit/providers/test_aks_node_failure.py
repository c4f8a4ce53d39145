"""node-failure on AKS: scale-set instances really power off, deallocate or restart on the ARM
test server, and the undo (in a fresh provider, from the record alone, twice) starts them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drillkit.errors import PermanentError
from drillkit.providers.aks import AksProvider
from drillkit.spec.faults import NodeFailure
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


def intent(mode: str, name: str) -> NodeFailure:
    return NodeFailure.model_validate(
        {"type": "node-failure", "mode": mode, "nodes": {"names": [name]}}
    )


def run(provider: AksProvider, fault: NodeFailure) -> tuple[dict[str, Any], ProbeContext]:
    return apply_journaled(provider, fault)


def revert_fresh(aks: AksWorld, undo: dict[str, Any]) -> dict[str, Any]:
    """Revert as ``drill recover`` does: a new provider, only the journaled record."""
    return revert_from_record(aks.provider, "node-failure", undo)


@pytest.mark.parametrize(
    ("mode", "during", "action"),
    [("stop", "stopped", "poweroff"), ("terminate", "deallocated", "deallocate")],
)
def test_a_node_instance_goes_down_and_the_undo_starts_it_again(
    provider: AksProvider, aks: AksWorld, mode: str, during: str, action: str
) -> None:
    victim, bystander = aks.layout.nodes[0], aks.layout.nodes[1]

    undo, ctx = run(provider, intent(mode, victim["name"]))

    assert aks.power(victim) == during
    assert aks.power(bystander) == "running"
    assert undo["instances"][0]["power"] == "running"
    assert [e for e, _ in ctx.notes if e == f"instance-{undo['action']}"]
    assert aks.server.calls("POST", f"/virtualMachines/{victim['instanceId']}/{action}")

    assert revert_fresh(aks, undo)["started"] == [f"{victim['scaleSet']}/{victim['instanceId']}"]
    assert aks.power(victim) == "running"


def test_reverting_twice_starts_nothing_the_second_time(
    provider: AksProvider, aks: AksWorld
) -> None:
    undo, _ = run(provider, intent("stop", aks.layout.nodes[0]["name"]))
    revert_fresh(aks, undo)
    starts = len(aks.server.calls("POST", "/start"))

    assert revert_fresh(aks, undo)["started"] == []
    assert len(aks.server.calls("POST", "/start")) == starts


def test_restart_brings_the_instance_back_by_itself(provider: AksProvider, aks: AksWorld) -> None:
    victim = aks.layout.nodes[2]

    undo, _ = run(provider, intent("restart", victim["name"]))

    assert aks.server.calls("POST", f"/virtualMachines/{victim['instanceId']}/restart")
    assert aks.power(victim) == "running"
    assert revert_fresh(aks, undo)["started"] == []


def test_the_plan_names_the_node_and_its_instance(provider: AksProvider, aks: AksWorld) -> None:
    victim = aks.layout.nodes[0]
    handler = provider.fault_handler("node-failure")
    assert handler is not None

    impact = handler.impact(intent("terminate", victim["name"]))

    assert {(t.kind, t.name, t.action) for t in impact.touched} == {
        ("node", victim["name"], "deallocate"),
        ("instance", f"{victim['scaleSet']}/{victim['instanceId']}", "deallocate"),
    }


def test_drain_stays_the_kubernetes_cordon_and_drain(provider: AksProvider, aks: AksWorld) -> None:
    victim = aks.layout.nodes[0]

    undo, _ = run(provider, intent("drain", victim["name"]))

    assert aks.kube.store.get(NODES, "", victim["name"])["spec"]["unschedulable"] is True
    assert aks.power(victim) == "running"
    revert_fresh(aks, undo)
    assert not aks.kube.store.get(NODES, "", victim["name"])["spec"].get("unschedulable")


def test_a_node_that_is_not_a_scale_set_instance_is_refused_with_a_fix(
    provider: AksProvider, aks: AksWorld
) -> None:
    name = aks.layout.nodes[0]["name"]
    aks.kube.store.edit(
        NODES, "", name, lambda n: n["spec"].update({"providerID": "azure:///virtual-kubelet"})
    )
    handler = provider.fault_handler("node-failure")
    assert handler is not None

    with pytest.raises(PermanentError) as caught:
        handler.prepare(intent("stop", name), ProbeContext())

    assert f"node {name} is not a scale-set instance" in caught.value.message
    assert caught.value.fix is not None and "mode: drain" in caught.value.fix
