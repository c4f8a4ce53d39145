"""The runner, in-process, against the file-backed test provider: every exit path undoes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import read_journal
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions, RunResult
from drillkit.errors import DrillError, GuardRefused, UserInputError
from drillkit.providers.base import LockHeld, Provider
from drillkit.spec.repository import DrillRepository
from tests.support.lab import TARGET, Lab
from tests.support.test_provider import TestProvider

ZONE_FAULT = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
"""
RESTORE = """\
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    return Lab.create(tmp_path / "lab", recoverSeconds=0.1)


def runner_for(
    lab: Lab,
    drill: str,
    *,
    yes: bool = False,
    dry_run: bool = False,
    provider: Provider | None = None,
) -> Runner:
    repo = DrillRepository.discover(lab.root)
    resolved = repo.load_named(drill)
    target = repo.target(TARGET)
    plan = make_plan(resolved, TARGET, target)
    return Runner(
        plan,
        provider or TestProvider(TARGET, target),
        RunOptions(
            output_dir=lab.root / "reports", yes=yes, dry_run=dry_run, undo_grace_seconds=2.0
        ),
        SilentProgress(),
    )


def run(lab: Lab, drill: str, **options: bool) -> RunResult:
    return runner_for(lab, drill, **options).run()


def event_types(result: RunResult) -> list[str]:
    return [e.type for e in read_journal(result.run_dir / "journal.jsonl").events]


def test_a_passing_drill_measures_rto_and_leaves_nothing_applied(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT + RESTORE + "- name: hold\n  wait: 300ms\n")
    result = run(lab, "zone")
    assert result.summary.verdict == "passed", result.summary.to_json()
    assert lab.world["applied"] == {}
    assert result.summary.faults_applied == ["lose-zone-a/zone-outage"]
    assert result.summary.faults_left == []
    assert result.summary.rto_seconds is not None and 0.05 < result.summary.rto_seconds < 5
    journal = read_journal(result.run_dir / "journal.jsonl")
    assert journal.partial_tail is None and len(journal.events) > 10
    assert (result.run_dir / "drill.yaml").read_text().startswith("# zone 1.0.0 sha256:")


def test_the_undo_record_is_journaled_before_the_fault_changes_anything(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    result = run(lab, "zone")
    events = read_journal(result.run_dir / "journal.jsonl").events
    planned = next(e for e in events if e.type == "fault-undo-planned")
    apply_call = next(e for e in events if e.type == "provider-call" and e.data["call"] == "apply")
    applied = next(e for e in events if e.type == "fault-applied")
    reverted = next(e for e in events if e.type == "fault-reverted")
    assert planned.seq < apply_call.seq < applied.seq < reverted.seq
    assert planned.data["undo"]["key"] == "zone-outage:zone-a"


def test_a_fault_that_fails_halfway_is_still_undone(lab: Lab) -> None:
    lab.set_config(failApply=["zone-outage"])
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    result = run(lab, "zone")
    assert result.summary.verdict == "failed"
    assert lab.world["applied"] == {}
    assert "fault-applied" not in event_types(result)
    assert "fault-reverted" in event_types(result)
    assert any("403 Forbidden" in e for e in result.summary.errors)
    assert [s.status for s in result.summary.steps] == ["failed"]  # recover never ran


def test_transient_errors_are_retried_and_counted(lab: Lab) -> None:
    lab.set_config(transient={"apply": 2})
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    result = run(lab, "zone")
    assert result.summary.verdict == "passed"
    assert result.summary.retries == 2
    assert lab.world["applied"] == {}


def test_a_step_past_its_timeout_aborts_the_run_and_undoes(lab: Lab) -> None:
    lab.set_config(applySeconds=30)
    lab.add_drill(
        "zone", "- name: slow-fault\n  timeout: 300ms\n  fault: {type: zone-outage, zone: a}\n"
    )
    result = run(lab, "zone")
    assert result.summary.verdict == "aborted"
    assert lab.world["applied"] == {}
    assert result.summary.steps[0].status == "failed"
    assert "did not finish within 0.3s" in result.summary.steps[0].detail


def test_a_hanging_probe_is_bounded_by_its_step_timeout(lab: Lab) -> None:
    lab.add_drill(
        "probe",
        "- name: hangs\n  timeout: 200ms\n  probe: {type: tls, host: x}\n",
        objectives="",
        measure="{}\n",
    )
    lab.set_config(hangProbe=True)
    result = run(lab, "probe")
    assert result.summary.verdict == "aborted"
    assert "did not finish within 0.2s" in result.summary.steps[0].detail


def test_a_stop_condition_that_keeps_failing_aborts_and_undoes(lab: Lab) -> None:
    lab.add_drill(
        "zone",
        ZONE_FAULT + "- name: hold\n  wait: 10s\n",
        extra_spec=(
            "safety:\n  stopConditions:\n    - name: orders-down\n"
            '      probe: {type: http, url: "${orders_url}/readyz"}\n'
            "      interval: 50ms\n      failingFor: 300ms\n"
        ),
    )
    result = run(lab, "zone")
    assert result.summary.verdict == "aborted"
    assert lab.world["applied"] == {}
    assert "stop-condition-triggered" in event_types(result)
    hold = next(s for s in result.summary.steps if s.name == "hold")
    assert hold.status == "aborted" and hold.seconds < 5
    assert any("stop condition orders-down failed" in e for e in result.summary.errors)


def test_the_overall_deadline_aborts_and_undoes(lab: Lab) -> None:
    lab.add_drill(
        "zone",
        ZONE_FAULT + "- name: hold\n  wait: 10s\n",
        extra_spec="safety: {maxDuration: 500ms}\n",
    )
    result = run(lab, "zone")
    assert result.summary.verdict == "aborted"
    assert lab.world["applied"] == {}


def test_a_service_that_never_recovers_fails_the_rto_objective(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT, extra_spec="safety: {maxDuration: 1s}\n")
    result = run(lab, "zone")
    assert result.summary.verdict == "aborted"
    assert result.summary.objectives[0].met is False
    assert result.summary.objectives[0].measured == "not recovered"
    assert lab.world["applied"] == {}


def test_prod_targets_need_confirmation_before_anything_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    lab = Lab.create(tmp_path / "lab", tier="prod", recoverSeconds=0.1)
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    result = run(lab, "zone")
    assert result.summary.verdict == "refused"
    assert "fault-undo-planned" not in event_types(result)
    assert any("is tier prod and the run was not confirmed" in e for e in result.summary.errors)
    assert lab.world["calls"] == ["open", "close"]
    assert run(lab, "zone", yes=True).summary.verdict == "passed"


def test_an_active_freeze_window_refuses_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    lab = Lab.create(
        tmp_path / "lab",
        extra_target=(
            "freezeWindows:\n  - {name: audit, reason: audit week, "
            "days: [mon, tue, wed, thu, fri, sat, sun]}\n"
        ),
    )
    lab.add_drill("zone", ZONE_FAULT)
    result = run(lab, "zone")
    assert result.summary.verdict == "refused"
    assert any("frozen by audit: audit week" in e for e in result.summary.errors)
    assert "fault-undo-planned" not in event_types(result)


def test_a_fault_beyond_the_blast_radius_is_refused(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT, extra_spec="safety: {blastRadius: {maxNodes: 1}}\n")
    result = run(lab, "zone")
    assert result.summary.verdict == "refused"
    assert any(
        "faults would touch 2 node(s), above safety.blastRadius.maxNodes = 1" in e
        for e in result.summary.errors
    )
    assert lab.world["applied"] == {}


def test_an_unhealthy_service_at_baseline_refuses_the_run(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT)
    state = lab.world
    state["down"], state["healthyAt"] = True, 0.0
    (lab.root / "world.json").write_text(__import__("json").dumps(state))
    result = run(lab, "zone")
    assert result.summary.verdict == "refused"
    assert any("rto probe fails before any fault" in e for e in result.summary.errors)


def test_a_second_drill_on_a_locked_target_is_refused_and_names_the_holder(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT + RESTORE + "- name: hold\n  wait: 2s\n")
    first = runner_for(lab, "zone")
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        journal = first.run_dir / "journal.jsonl"
        for _ in range(200):
            if journal.exists() and any(
                e.type == "lock-acquired" for e in read_journal(journal).events
            ):
                break
            threading.Event().wait(0.02)
        second = run(lab, "zone")
        assert second.summary.verdict == "refused"
        assert any(
            f"locked by another drill run (runId {first.run_id}" in e for e in second.summary.errors
        )
    finally:
        thread.join(10)
    assert lab.world["applied"] == {}


def test_lock_held_is_a_drill_error() -> None:
    assert issubclass(LockHeld, DrillError)


def test_a_provider_without_a_kind_fails_before_anything_changes(lab: Lab) -> None:
    class NoZones(Provider):
        """The test provider's behaviour without inheriting its handlers."""

        name = "test-no-zones"
        world = TestProvider.world
        healthy = TestProvider.healthy
        open = TestProvider.open
        close = TestProvider.close

    for kind in ("pod-kill", "node-failure"):
        NoZones.faults.register(kind, TestProvider.faults.create(kind, None).__class__)
    for kind in TestProvider.probes.kinds():
        NoZones.probes.register(kind, TestProvider.probes.create(kind, None).__class__)
    lab.add_drill("zone", ZONE_FAULT)
    repo = DrillRepository.discover(lab.root)
    result = runner_for(lab, "zone", provider=NoZones(TARGET, repo.target(TARGET))).run()
    assert result.summary.verdict == "error"
    message = result.summary.errors[0]
    assert (
        "step lose-zone-a: fault `zone-outage` is not supported by provider `test-no-zones`"
        in message
    )
    assert "(it supports: node-failure, pod-kill)" in message
    assert lab.world["applied"] == {}


def test_a_journal_folder_that_cannot_be_written_fails_before_any_change(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT)
    (lab.root / "reports").write_text("a file where the folder should be")
    with pytest.raises(DrillError) as caught:
        run(lab, "zone")
    assert "reports" in caught.value.message
    assert lab.world["calls"] == []


def test_a_dry_run_runs_guards_lock_and_baseline_and_changes_nothing(lab: Lab) -> None:
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    result = run(lab, "zone", dry_run=True)
    assert result.summary.verdict == "dry-run"
    types = event_types(result)
    assert "baseline" in types and "lock-acquired" in types
    assert "fault-undo-planned" not in types and "step-started" not in types
    assert lab.world["calls"] == ["open", "close"]


def test_a_failed_probe_step_fails_the_drill_but_later_steps_still_run(lab: Lab) -> None:
    lab.add_drill(
        "probes",
        "- name: down\n  probe: {type: http, url: 'http://x.test/'}\n"
        "- name: after\n  probe: {type: tls, host: x}\n",
        objectives="",
        measure="{}\n",
    )
    state = lab.world
    state["down"] = True
    (lab.root / "world.json").write_text(__import__("json").dumps(state))
    result = run(lab, "probes")
    assert result.summary.verdict == "failed"
    assert [(s.name, s.status) for s in result.summary.steps] == [
        ("down", "failed"),
        ("after", "passed"),
    ]


def test_unknown_provider_names_the_known_ones(lab: Lab) -> None:
    from drillkit.providers.registry import PROVIDERS

    with pytest.raises(UserInputError) as caught:
        PROVIDERS.get("tset")
    assert "no provider named `tset`" in caught.value.message
    assert "did you mean `test`?" in (caught.value.fix or "")


def test_a_refused_run_exits_like_bad_input(lab: Lab) -> None:
    assert GuardRefused("x").exit_code == 2
    lab.add_drill("zone", ZONE_FAULT, extra_spec="safety: {blastRadius: {maxZones: 0}}\n")
    assert run(lab, "zone").exit_code == 2


CANARY = """\
rto:
  probe: {type: http, url: "${orders_url}/readyz"}
  interval: 50ms
  stableFor: 2
rpo:
  canary:
    type: rpo-canary
    interval: 100ms
    http: {writeUrl: "${orders_url}/orders", readUrl: "${orders_url}/orders"}
"""


def test_rpo_is_measured_from_the_canary_records_that_survived(lab: Lab) -> None:
    lab.set_config(loseLastSeconds=1.0)
    lab.add_drill(
        "loss",
        "- name: soak\n  wait: 1500ms\n" + ZONE_FAULT + RESTORE,
        objectives="rto: 2m, rpo: 5s",
        measure=CANARY,
    )
    result = run(lab, "loss")
    summary = result.summary
    assert summary.verdict == "passed", summary.to_json()
    assert summary.rpo_seconds is not None
    # The 1 s really lost, within one 100 ms interval plus scheduling slack on a busy CI box.
    assert 0.8 <= summary.rpo_seconds <= 1.6
    assert summary.canary_writes_lost is not None and 5 <= summary.canary_writes_lost <= 12
    assert summary.objectives[1].name == "rpo" and summary.objectives[1].met is True
    assert "canary" not in lab.world or lab.world["canary"] == {}  # records removed afterwards


def test_an_rpo_above_the_objective_fails_the_drill(lab: Lab) -> None:
    # The platform loses the last 3 s of writes before the fault: wide enough that a canary
    # starved for a second on a loaded CI machine still has writes in it to lose.
    lab.set_config(loseLastSeconds=3.0)
    lab.add_drill(
        "loss",
        "- name: soak\n  wait: 3500ms\n" + ZONE_FAULT + RESTORE,
        objectives="rpo: 300ms",
        measure=CANARY,
    )
    summary = run(lab, "loss").summary
    assert summary.verdict == "failed"
    rpo = summary.objectives[0]
    assert rpo.name == "rpo" and rpo.met is False and rpo.measured.endswith("s")


def test_no_data_lost_means_an_rpo_near_zero(lab: Lab) -> None:
    lab.add_drill(
        "keep",
        "- name: soak\n  wait: 500ms\n" + ZONE_FAULT + RESTORE,
        objectives="rpo: 1s",
        measure=CANARY,
    )
    summary = run(lab, "keep").summary
    assert summary.verdict == "passed", summary.to_json()
    assert summary.rpo_seconds is not None and summary.rpo_seconds <= 0.15
    assert summary.canary_writes_lost == 0


def test_the_rto_phase_breakdown_is_ordered_and_ends_at_recovery(lab: Lab) -> None:
    lab.set_config(recoverSeconds=0.4)
    lab.add_drill("zone", ZONE_FAULT + "- name: let-it-fail\n  wait: 300ms\n" + RESTORE)
    summary = run(lab, "zone").summary
    phases = summary.rto_phases
    assert list(phases) == ["detected", "restoreStarted", "restoreFinished", "recovered"]
    assert phases["detected"] <= 0.5  # one 50 ms sample after the fault, plus scheduling
    assert phases["detected"] < phases["restoreStarted"] <= phases["restoreFinished"]
    assert summary.rto_seconds is not None
    assert phases["restoreFinished"] + 0.3 < phases["recovered"] == round(summary.rto_seconds, 6)
    assert set(summary.latency_ms) == {"p50", "p95", "p99", "max"}
    assert summary.latency_ms["p50"] <= summary.latency_ms["p95"] <= summary.latency_ms["max"]


def test_a_lock_that_fails_to_release_does_not_skip_closing_or_the_verdict(lab: Lab) -> None:
    from drillkit.errors import TransientError

    class StuckLock:
        def release(self) -> None:
            raise TransientError("503 from the API server while releasing")

        def describe(self) -> dict[str, str]:
            return {"kind": "stuck"}

    class StuckLockProvider(TestProvider):
        name = "test-stuck-lock"

        def acquire_lock(
            self, run_id: str, holder: dict[str, object], ttl_seconds: float
        ) -> StuckLock:  # type: ignore[override]
            return StuckLock()

    for kind in TestProvider.faults.kinds():
        StuckLockProvider.faults.register(kind, TestProvider.faults.create(kind, None).__class__)
    for kind in TestProvider.restores.kinds():
        StuckLockProvider.restores.register(
            kind, TestProvider.restores.create(kind, None).__class__
        )
    for kind in TestProvider.probes.kinds():
        StuckLockProvider.probes.register(kind, TestProvider.probes.create(kind, None).__class__)
    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    repo = DrillRepository.discover(lab.root)
    result = runner_for(lab, "zone", provider=StuckLockProvider(TARGET, repo.target(TARGET))).run()
    assert result.summary.verdict == "passed"
    events = read_journal(result.run_dir / "journal.jsonl").events
    assert any(
        e.type == "warning" and "releasing the lock failed" in e.data["message"] for e in events
    )
    assert events[-1].type == "run-ended"
    assert lab.world["calls"][-1] == "close"


def test_raw_samples_are_written_per_sampler_next_to_the_journal(lab: Lab) -> None:
    import json

    lab.add_drill(
        "loss",
        "- name: soak\n  wait: 300ms\n" + ZONE_FAULT + RESTORE,
        objectives="rto: 1m, rpo: 5s",
        measure=CANARY,
    )
    result = run(lab, "loss")
    rto = (result.run_dir / "samples" / "rto.jsonl").read_text().splitlines()
    assert len(rto) == result.summary.samples
    first = json.loads(rto[0])
    assert set(first) == {"at", "sinceFault", "ok", "latencyMs", "summary"}
    assert first["sinceFault"] < 0  # sampling starts before the fault
    canary = (result.run_dir / "samples" / "rpo-canary.jsonl").read_text().splitlines()
    assert json.loads(canary[0])["seq"] == 1


def test_a_busy_control_plane_while_taking_the_lock_is_retried(lab: Lab) -> None:
    from drillkit.errors import TransientError

    class BusyProvider(TestProvider):
        """Answers 429 to the first two attempts to take the lock, as a throttled API does."""

        name = "test-busy-lock"
        inherits_handlers = True
        refusals = 2

        def acquire_lock(self, run_id: str, holder: dict[str, object], ttl_seconds: float) -> Any:
            if BusyProvider.refusals:
                BusyProvider.refusals -= 1
                raise TransientError("429 Too Many Requests while creating the lease")
            return super().acquire_lock(run_id, holder, ttl_seconds)

    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    repo = DrillRepository.discover(lab.root)
    result = runner_for(lab, "zone", provider=BusyProvider(TARGET, repo.target(TARGET))).run()

    assert result.summary.verdict == "passed"
    events = read_journal(result.run_dir / "journal.jsonl").events
    retries = [e for e in events if e.type == "retry"]
    assert [e.data["call"] for e in retries] == ["acquire the target lock"] * 2
    assert result.summary.retries == 2
    assert lab.world["applied"] == {}


def test_a_busy_control_plane_during_preflight_is_retried_before_anything_is_changed(
    lab: Lab,
) -> None:
    """Preflight reads the platform (who drillkit is, what each step touches); a throttled
    read there is retried like a step's, not turned into an aborted drill."""
    from drillkit.errors import TransientError

    class ThrottledProvider(TestProvider):
        """Answers 429 to the first read of its identity and 503 to the first open."""

        name = "test-throttled-preflight"
        inherits_handlers = True
        refusals = {"open": 1, "identity": 1}

        def _refuse(self, call: str) -> None:
            if ThrottledProvider.refusals[call]:
                ThrottledProvider.refusals[call] -= 1
                raise TransientError(f"429 Too Many Requests to {call}")

        def open(self) -> None:
            self._refuse("open")
            super().open()

        def identity(self) -> dict[str, Any]:
            self._refuse("identity")
            return super().identity()

    lab.add_drill("zone", ZONE_FAULT + RESTORE)
    repo = DrillRepository.discover(lab.root)
    result = runner_for(lab, "zone", provider=ThrottledProvider(TARGET, repo.target(TARGET))).run()

    assert result.summary.verdict == "passed"
    events = read_journal(result.run_dir / "journal.jsonl").events
    retries = [e.data["call"] for e in events if e.type == "retry"]
    assert retries == ["open the provider", "read the identity"]
    assert result.summary.retries == 2
    assert lab.world["applied"] == {}
