"""The plan: what a drill will do on a target, with the guards, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.plan import Plan, make_plan
from drillkit.errors import UserInputError
from drillkit.spec.repository import DrillRepository
from drillkit.spec.resolve import ResolvedDrill
from drillkit.spec.targets import SANDBOX, Target
from tests.conftest import REAL_REPOSITORY, WriteFile

PLAN_DRILL = """\
apiVersion: drillkit.io/v1
kind: Drill
metadata: {name: plan-orders, version: 1.0.0, owner: team-orders@example.com, tier: 1}
spec:
  objectives: {rto: 5m, rpo: 15m}
  targets: [sandbox, "staging-*", "prod-*"]
  safety:
    stopConditions:
      - name: orders-down
        probe: {ref: probes/plan-http.yaml}
        failingFor: 2m
  measure:
    rto:
      probe: {ref: probes/plan-http.yaml}
      interval: 500ms
      stableFor: 5
    rpo:
      canary: {ref: probes/plan-canary.yaml}
  steps:
    - name: go-no-go
      checkpoint: {message: Orders goes down next., confirm: true}
    - name: kill-pods
      fault: {type: pod-kill, namespace: orders, selector: {app: orders-api}, count: 2}
      timeout: 1m
    - name: fail-over
      restore: {ref: runbooks/plan-failover.yaml}
    - name: settle
      wait: 30s
    - name: answers
      probe: {type: http, url: "${orders_url}/healthz", expect: {status: [200, 204]}}
      within: 2m
    - name: ready
      probe: {ref: probes/plan-http.yaml}
"""
PLAN_HTTP = """\
apiVersion: drillkit.io/v1
kind: Probe
metadata: {name: plan-http}
spec: {type: http, url: "${orders_url}/readyz", maxLatency: 1s}
"""
PLAN_CANARY = """\
apiVersion: drillkit.io/v1
kind: Probe
metadata: {name: plan-canary}
spec:
  type: rpo-canary
  http: {writeUrl: "${orders_url}/orders", readUrl: "${orders_url}/orders"}
"""
PLAN_RUNBOOK = """\
apiVersion: drillkit.io/v1
kind: Runbook
metadata: {name: plan-failover, version: 1.0.0, owner: team-orders@example.com}
spec:
  steps:
    - name: scale-standby
      restore:
        type: scale
        namespace: orders
        workload: {name: orders-api}
        replicas: 3
    - name: move-traffic
      restore: {type: traffic-failover, to: standby}
"""
PROD_VARIABLES = {"orders_url": "https://orders.example.com"}

# 2026-11-27 is a Friday.
FRIDAY_NOON = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.fixture
def drill(repository: DrillRepository, write: WriteFile) -> ResolvedDrill:
    write("probes/plan-http.yaml", PLAN_HTTP)
    write("probes/plan-canary.yaml", PLAN_CANARY)
    write("runbooks/plan-failover.yaml", PLAN_RUNBOOK)
    return repository.load_drill(write("drills/plan-orders.yaml", PLAN_DRILL))


def prod(**fields: Any) -> Target:
    return Target.model_validate(
        {
            "provider": "kubernetes",
            "tier": "prod",
            "kubernetes": {"context": "prod"},
            "variables": PROD_VARIABLES,
            **fields,
        }
    )


def summaries(plan: Plan) -> list[tuple[int, str, str, list[str]]]:
    return [
        (step.index, step.name, step.kind, [action.summary for action in step.actions])
        for step in plan.steps
    ]


def test_the_plan_lists_every_step_in_order_with_what_it_will_do(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "sandbox", SANDBOX)

    assert summaries(plan) == [
        (1, "go-no-go", "checkpoint", ["Orders goes down next. (asks the operator to continue)"]),
        (
            2,
            "kill-pods",
            "fault",
            [
                "kill 2 pods matching app=orders-api in namespace orders chosen at random, "
                "grace period 0s"
            ],
        ),
        (
            3,
            "fail-over",
            "restore",
            [
                "scale Deployment orders/orders-api to 3 replicas",
                "send traffic to region standby, method auto",
            ],
        ),
        (4, "settle", "wait", ["wait 30s"]),
        (
            5,
            "answers",
            "probe",
            ["GET https://localhost:8443/healthz answers 200/204 (retry for up to 2m)"],
        ),
        (
            6,
            "ready",
            "probe",
            ["GET https://localhost:8443/readyz answers 200 within 1s"],
        ),
    ]


def test_steps_name_the_file_they_came_from_and_their_timeout(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "sandbox", SANDBOX)

    assert [(s.name, s.source, s.timeout) for s in plan.steps] == [
        ("go-no-go", None, None),
        ("kill-pods", None, "1m"),
        ("fail-over", "runbooks/plan-failover.yaml", None),
        ("settle", None, None),
        ("answers", None, None),
        ("ready", "probes/plan-http.yaml", None),
    ]


def test_a_runbook_step_expands_into_its_named_actions(drill: ResolvedDrill) -> None:
    [restore] = [s for s in make_plan(drill, "sandbox", SANDBOX).steps if s.kind == "restore"]

    assert [action.name for action in restore.actions] == ["scale-standby", "move-traffic"]
    assert [type(action.intent).__name__ for action in restore.actions] == [
        "Scale",
        "TrafficFailover",
    ]


def test_samplers_describe_rto_rpo_and_stop_conditions(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "sandbox", SANDBOX)

    assert plan.samplers == (
        "RTO: every 500ms, GET https://localhost:8443/readyz answers 200 "
        "within 1s; recovered after 5 passing samples in a row",
        "RPO: write canary records every 1s through API https://localhost:8443/orders",
        "stop condition orders-down: abort when failing for 2m: "
        "GET https://localhost:8443/readyz answers 200 within 1s",
    )


def test_target_variables_fill_the_plan_but_not_the_drill(drill: ResolvedDrill) -> None:
    digest = drill.digest

    plan = make_plan(drill, "prod-orders", prod(), now=FRIDAY_NOON)

    answers = next(s for s in plan.steps if s.name == "answers")
    assert answers.actions[0].summary.startswith("GET https://orders.example.com/healthz")
    assert getattr(answers.actions[0].intent, "url", None) == "https://orders.example.com/healthz"
    assert drill.digest == digest
    assert "${orders_url}" in str(drill.resolved)


def test_a_sandbox_plan_needs_no_confirmation_and_nothing_blocks_it(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "sandbox", SANDBOX, now=FRIDAY_NOON)

    assert [(g.name, g.ok, g.detail) for g in plan.guards] == [
        ("allowed-target", True, "sandbox matches spec.targets (sandbox, staging-*, prod-*)"),
        ("confirmation", True, "tier sandbox: no confirmation needed"),
        ("freeze-window", True, "no freeze window is active"),
    ]
    assert not plan.needs_confirmation
    assert plan.blocked_by == []


def test_a_prod_target_needs_confirmation_which_is_not_a_block(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "prod-orders", prod(), now=FRIDAY_NOON)

    confirmation = next(g for g in plan.guards if g.name == "confirmation")
    assert confirmation.detail == "tier prod: needs --yes or typing the target name"
    assert plan.needs_confirmation
    assert plan.blocked_by == []


def test_confirmation_always_asks_even_on_the_sandbox(
    repository: DrillRepository, write: WriteFile, drill: ResolvedDrill
) -> None:
    text = PLAN_DRILL.replace("  safety:\n", "  safety:\n    confirmation: always\n")
    always = repository.load_drill(write("drills/plan-orders.yaml", text))

    assert make_plan(always, "sandbox", SANDBOX).needs_confirmation


def test_an_active_freeze_window_blocks_the_plan(drill: ResolvedDrill) -> None:
    frozen = prod(
        freezeWindows=[
            {
                "name": "business-hours",
                "reason": "Prod drills run outside business hours only.",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "fromTime": "08:00",
                "toTime": "18:00",
            }
        ]
    )

    plan = make_plan(drill, "prod-orders", frozen, now=FRIDAY_NOON)

    assert [(g.name, g.detail) for g in plan.blocked_by] == [
        (
            "freeze-window",
            "frozen by business-hours: Prod drills run outside business hours only.",
        )
    ]
    evening = make_plan(drill, "prod-orders", frozen, now=FRIDAY_NOON.replace(hour=20))
    assert evening.blocked_by == []


def test_a_target_the_drill_does_not_allow_is_refused(drill: ResolvedDrill) -> None:
    dev = Target.model_validate({"provider": "kubernetes", "tier": "dev", "kubernetes": {}})

    with pytest.raises(UserInputError) as caught:
        make_plan(drill, "dev-orders", dev)

    assert caught.value.diagnostics() == (
        "drill plan-orders does not allow target `dev-orders` "
        "(spec.targets: sandbox, staging-*, prod-*)\n"
        "  fix: pick one of those targets, or add `dev-orders` to spec.targets in "
        "drills/plan-orders.yaml (a new drill version)"
    )


def test_a_target_missing_a_variable_is_refused_naming_it(drill: ResolvedDrill) -> None:
    with pytest.raises(UserInputError) as caught:
        make_plan(drill, "prod-orders", prod(variables={}))

    assert caught.value.diagnostics() == (
        "drill plan-orders uses ${orders_url}, which target `prod-orders` does not define\n"
        "  fix: add them under `variables:` of target `prod-orders` in targets.yaml"
    )


def test_a_variable_that_breaks_a_url_is_refused_naming_the_step(drill: ResolvedDrill) -> None:
    broken = prod(variables={"orders_url": "orders.example.com"})

    with pytest.raises(UserInputError) as caught:
        make_plan(drill, "prod-orders", broken)

    assert caught.value.message.startswith(
        "drills/plan-orders.yaml: step answers: after filling target `prod-orders`'s variables,"
        " url is invalid"
    )


def test_planning_changes_no_file(repo_root: Path, drill: ResolvedDrill) -> None:
    before = {p: p.read_bytes() for p in repo_root.rglob("*") if p.is_file()}

    make_plan(drill, "prod-orders", prod(), now=FRIDAY_NOON)

    assert {p: p.read_bytes() for p in repo_root.rglob("*") if p.is_file()} == before


def test_a_plan_records_when_it_was_made(drill: ResolvedDrill) -> None:
    plan = make_plan(drill, "sandbox", SANDBOX)

    assert plan.created.tzinfo is UTC
    assert (plan.drill, plan.target_name, plan.target) == (drill, "sandbox", SANDBOX)


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (REAL_REPOSITORY / "drills").glob("*.yaml"))
)
def test_every_real_drill_plans_on_the_sandbox(repository: DrillRepository, name: str) -> None:
    drill = repository.load_named(name)

    plan = make_plan(drill, "sandbox", SANDBOX)

    assert [s.name for s in plan.steps] == [s.name for s in drill.drill.spec.steps]
    assert all(action.summary for step in plan.steps for action in step.actions)
    assert "${" not in " ".join(a.summary for s in plan.steps for a in s.actions)
    assert plan.blocked_by == []
