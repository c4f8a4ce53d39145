"""Measurements computed from journal events alone, on hand-written journals with known truth."""

from __future__ import annotations

from pathlib import Path

from drillkit.engine.journal import JournalWriter, read_journal
from drillkit.engine.measure import summarize_events
from drillkit.spec.drill import Drill


class StepClock:
    """A clock the test moves by hand, so event times are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def wall(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime(2026, 11, 23, tzinfo=UTC)


def drill(objectives: dict[str, object]) -> Drill:
    return Drill.model_validate(
        {
            "apiVersion": "drillkit.io/v1",
            "kind": "Drill",
            "metadata": {"name": "d", "version": "1.0.0", "owner": "o", "tier": 1},
            "spec": {
                "objectives": objectives,
                "targets": ["*"],
                "measure": {
                    "rto": {
                        "probe": {"type": "tls", "host": "x"},
                        "interval": "100ms",
                        "stableFor": 3,
                    },
                    "rpo": {
                        "canary": {
                            "type": "rpo-canary",
                            "interval": "1s",
                            "http": {"writeUrl": "http://x/w", "readUrl": "http://x/r"},
                        }
                    },
                },
                "steps": [{"name": "s", "wait": "1s"}],
            },
        }
    )


def test_rto_starts_at_the_write_ahead_event_and_ends_at_the_first_stable_sample(
    tmp_path: Path,
) -> None:
    clock = StepClock()
    journal = JournalWriter(tmp_path / "journal.jsonl", clock=clock)
    for seq, at in ((1, 98.0), (2, 99.0), (3, 99.9)):
        journal.append("canary-write", None, seq=seq, at=at, ok=True, error="")
    journal.append("fault-undo-planned", "s", faultId="s/x", kind="x", undo={})
    outcomes = [
        (100.1, False),
        (100.2, True),
        (100.3, False),
        (100.4, True),
        (100.5, True),
        (100.6, True),
        (100.7, True),
    ]
    for at, ok in outcomes:
        journal.append("sample", None, sampler="rto", ok=ok, at=at, latencyMs=at - 100)
    journal.append("canary-read", None, survivors=[1, 2])
    journal.append("fault-reverted", "s", faultId="s/x")
    events = read_journal(tmp_path / "journal.jsonl").events
    summary = summarize_events(events, drill({"rto": "1s", "rpo": "500ms"}))
    assert summary.rto_seconds is not None and abs(summary.rto_seconds - 0.4) < 1e-9
    assert summary.rto_phases["detected"] == 0.1
    assert summary.rpo_seconds is not None and abs(summary.rpo_seconds - 1.0) < 1e-9
    assert summary.canary_writes_lost == 1 and summary.canary_gaps == 0
    assert [(o.name, o.met) for o in summary.objectives] == [("rto", True), ("rpo", False)]
    assert summary.latency_ms["max"] == 0.7
    assert summary.verdict == "failed"


def test_a_gap_below_the_newest_survivor_is_counted(tmp_path: Path) -> None:
    clock = StepClock()
    journal = JournalWriter(tmp_path / "journal.jsonl", clock=clock)
    for seq in (1, 2, 3):
        journal.append("canary-write", None, seq=seq, at=96.0 + seq, ok=True, error="")
    journal.append("fault-undo-planned", "s", faultId="s/x", kind="x", undo={})
    journal.append("canary-read", None, survivors=[1, 3])
    summary = summarize_events(
        read_journal(tmp_path / "journal.jsonl").events, drill({"rpo": "5s"})
    )
    assert summary.canary_gaps == 1 and summary.canary_writes_lost == 1
    assert summary.rpo_seconds is not None and abs(summary.rpo_seconds - 1.0) < 1e-9


def test_everything_lost_is_an_unmet_rpo_with_the_reason(tmp_path: Path) -> None:
    clock = StepClock()
    journal = JournalWriter(tmp_path / "journal.jsonl", clock=clock)
    journal.append("canary-write", None, seq=1, at=99.0, ok=True, error="")
    journal.append("fault-undo-planned", "s", faultId="s/x", kind="x", undo={})
    journal.append("canary-read", None, survivors=[])
    summary = summarize_events(
        read_journal(tmp_path / "journal.jsonl").events, drill({"rpo": "5s"})
    )
    rpo = summary.objectives[0]
    assert rpo.met is False
    assert rpo.measured == "all 1 acknowledged canary writes before the fault were lost"


def test_the_certificate_objective_takes_the_fewest_days_left_any_tls_probe_saw(
    tmp_path: Path,
) -> None:
    journal = JournalWriter(tmp_path / "journal.jsonl", clock=StepClock())
    for step, days in (("cert-primary", 41.5), ("cert-standby", 9.2)):
        journal.append("probe-result", step, ok=True, summary="", values={"daysLeft": days})
    journal.append("probe-result", "secret", ok=True, summary="", values={"sha256": "0" * 64})
    events = read_journal(journal.path).events

    met = summarize_events(events, drill({"minCertificateDays": 7}))
    missed = summarize_events(events, drill({"minCertificateDays": 14}))
    unmeasured = summarize_events(events[2:], drill({"minCertificateDays": 7}))

    assert met.certificate_days_left == 9.2
    assert [(o.name, o.measured, o.met) for o in met.objectives] == [
        ("minCertificateDays", "9.2 days", True)
    ]
    assert missed.objectives[0].met is False
    assert (unmeasured.objectives[0].measured, unmeasured.objectives[0].met) == (
        "no certificate probe ran",
        False,
    )


def test_no_acknowledged_write_lost_is_an_rpo_of_zero(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal.jsonl", clock=StepClock())
    for seq in (1, 2, 3):
        journal.append("canary-write", None, seq=seq, at=96.0 + seq, ok=True, error="")
    journal.append("fault-undo-planned", "s", faultId="s/x", kind="x", undo={})
    journal.append("canary-read", None, survivors=[1, 2, 3])

    summary = summarize_events(read_journal(journal.path).events, drill({"rpo": "0s"}))

    assert (summary.rpo_seconds, summary.canary_writes_lost) == (0.0, 0)
    assert summary.objectives[0].met is True
