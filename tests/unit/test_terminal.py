"""The blast radius as `drill plan` prints it: short lists in full, long ones summarised."""

from __future__ import annotations

from io import StringIO

from drillkit.engine.plan import PlannedStep
from drillkit.engine.support import StepImpact
from drillkit.providers.base import Impact, Touched
from drillkit.terminal import console, print_impacts


def render(impacts: list[StepImpact], *, list_all: bool = False) -> list[str]:
    out = console()
    out.file = StringIO()
    print_impacts(out, impacts, [], list_all=list_all)
    text: str = out.file.getvalue()
    return text.splitlines()


def zone(nodes: int, pods: int) -> list[StepImpact]:
    step = PlannedStep(1, "lose-zone-a", "fault", ())
    touched = [Touched("zone", "us-east-1a", "outage")]
    touched += [Touched("node", f"node-a-{i}", "cordon+taint") for i in range(nodes)]
    touched += [Touched("pod", f"team-{i % 4}/pod-{i:05d}", "evict") for i in range(pods)]
    return [StepImpact(step, (Impact(tuple(touched)),))]


def test_a_short_list_names_every_object_on_its_own_line() -> None:
    assert render(zone(2, 1)) == [
        "Blast radius (what each step touches now):",
        "  lose-zone-a: zone us-east-1a (outage)",
        "  lose-zone-a: node node-a-0 (cordon+taint)",
        "  lose-zone-a: node node-a-1 (cordon+taint)",
        "  lose-zone-a: pod team-0/pod-00000 (evict)",
        "  faults in total: 1 zone, 2 nodes, 1 pod",
    ]


def test_thousands_of_objects_are_counted_and_the_first_named() -> None:
    lines = render(zone(1667, 33340))
    assert lines[2:] == [
        "  lose-zone-a: 1,667 nodes (cordon+taint): node-a-0, node-a-1, node-a-2 "
        "and 1,664 more (--all lists them)",
        "  lose-zone-a: 33,340 pods in 4 namespaces (evict): team-0/pod-00000, "
        "team-1/pod-00001, team-2/pod-00002 and 33,337 more (--all lists them)",
        "  faults in total: 1 zone, 1,667 nodes, 33,340 pods",
    ]


def test_all_lists_every_object() -> None:
    lines = render(zone(12, 0), list_all=True)
    assert len([line for line in lines if ": node node-a-" in line]) == 12


def test_a_plan_that_changes_nothing_says_so() -> None:
    step = PlannedStep(1, "check", "probe", ())
    assert render([StepImpact(step, (Impact(),))])[1:] == ["  nothing: no step changes the target"]
