"""`drill gameday plan|run|verify` driving the real engine on the test provider.

Three drills in order behind the default gate: the first passes, the second
fails (its fault is refused by the target), so the third is skipped by its
gate. Every run that happened leaves a normal signed bundle, and the game-day
bundle links each run's attestation by digest and verifies with the same key.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from drillkit.evidence.attestation import Envelope
from tests.support.lab import TARGET, Lab
from tests.support.session import SIGNING_KEY

QUICK = """\
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
"""
PLAN = f"""\
apiVersion: drillkit.io/v1
kind: GameDay
metadata: {{name: q4-orders, description: Quarterly recovery day}}
spec:
  target: {TARGET}
  entries:
    - drill: zone-a
    - pause: 100ms
      message: next up, the pod kill
    - drill: kill-pods
    - drill: zone-b
"""


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.1, failApply=["pod-kill"])
    lab.add_drill("zone-a", QUICK)
    lab.add_drill(
        "kill-pods",
        QUICK.replace("zone-outage, zone: a", "pod-kill, namespace: orders, selector: {app: x}"),
    )
    lab.add_drill("zone-b", QUICK.replace("zone: a", "zone: b"))
    (lab.root / "gameday.yaml").write_text(PLAN)
    return lab


def public_key() -> str:
    return os.environ[SIGNING_KEY] + ".pub"


def gameday_folder(lab: Lab) -> Path:
    [folder] = (lab.root / "reports" / "_gamedays" / "q4-orders").iterdir()
    return folder


def test_a_failed_drill_closes_the_gate_of_the_next_and_the_day_is_signed_as_one(
    lab: Lab,
) -> None:
    result = lab.drill("gameday", "run", "gameday.yaml")

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "[2/4] pause 0.1s: next up, the pod kill" in lines
    assert (
        "[4/4] zone-b on staging-lab: SKIPPED (gate: the previous drill `kill-pods` ended failed)"
        in lines
    )
    assert "Game-day: FAILED" in lines
    assert [run.parent.name for run in lab.runs("zone-a") + lab.runs("kill-pods")] == [
        "zone-a",
        "kill-pods",
    ]
    assert lab.runs("zone-b") == []
    folder = gameday_folder(lab)
    assert sorted(p.name for p in folder.iterdir()) == [
        "attestation.intoto.json",
        "gameday.json",
        "gameday.md",
        "plan.yaml",
        "signer.pub.pem",
    ]
    assert (folder / "plan.yaml").read_text() == PLAN
    summary = json.loads((folder / "gameday.json").read_text())
    assert summary["verdict"] == "failed"
    assert [(e["name"], e["status"]) for e in summary["entries"]] == [
        ("zone-a", "passed"),
        ("pause-2", "passed"),
        ("kill-pods", "failed"),
        ("zone-b", "skipped"),
    ]
    assert summary["objectivesMet"] == {"met": 1, "total": 2}
    assert summary["entries"][3]["run"] is None

    statement = json.loads(
        Envelope.from_json((folder / "attestation.intoto.json").read_bytes()).payload
    )
    linked = {
        s["name"]: s["digest"]["sha256"]
        for s in statement["subject"]
        if s["name"].startswith("runs/")
    }
    [zone_a] = lab.runs("zone-a")
    [kill] = lab.runs("kill-pods")
    for run_dir in (zone_a, kill):
        attestation = run_dir / "attestation.intoto.json"
        name = f"runs/{run_dir.parent.name}/{run_dir.name}/attestation.intoto.json"
        assert linked[name] == hashlib.sha256(attestation.read_bytes()).hexdigest()
    assert statement["predicateType"] == "https://drillkit.dev/evidence/gameday/v1"

    verified = lab.drill("gameday", "verify", str(folder), "--key", public_key())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.splitlines()[-1] == (
        f"verified: game-day q4-orders {folder.name}, verdict failed"
    )
    for run_dir in (zone_a, kill):
        assert lab.drill("verify", str(run_dir), "--key", public_key()).returncode == 0


def test_a_run_changed_after_the_day_fails_the_game_day_verification(lab: Lab) -> None:
    lab.drill("gameday", "run", "gameday.yaml")
    folder = gameday_folder(lab)
    [run_dir] = lab.runs("zone-a")
    (run_dir / "report.md").write_text("# everything passed, honest\n")

    changed = lab.drill("gameday", "verify", str(folder), "--key", public_key())
    assert changed.returncode == 1
    assert f"error: verification failed at run-bundles: {run_dir}: subjects: " in changed.stderr

    (run_dir / "attestation.intoto.json").write_text("{}")
    replaced = lab.drill("gameday", "verify", str(folder), "--key", public_key())
    assert replaced.returncode == 1
    assert (
        f"error: verification failed at runs: runs/zone-a/{run_dir.name}/attestation.intoto.json: sha256 "
        in replaced.stderr
    )


def test_gameday_plan_previews_order_gates_and_versions_and_runs_nothing(lab: Lab) -> None:
    result = lab.drill("gameday", "plan", "gameday.yaml")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Game-day q4-orders (gameday.yaml): 4 entries",
        "  1. zone-a: zone-a 1.0.0 on staging-lab (2 steps; first entry)",
        "  2. pause 0.1s: next up, the pod kill",
        "  3. kill-pods: kill-pods 1.0.0 on staging-lab (2 steps; previous drill passed)",
        "  4. zone-b: zone-b 1.0.0 on staging-lab (2 steps; previous drill passed)",
        "Run it: drill gameday run gameday.yaml",
    ]
    assert not (lab.root / "reports").exists()


def test_a_plan_naming_an_unknown_drill_is_refused_with_file_line_and_field(lab: Lab) -> None:
    (lab.root / "gameday.yaml").write_text(PLAN.replace("drill: zone-b", "drill: zone-c"))

    result = lab.drill("gameday", "run", "gameday.yaml")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: gameday.yaml:11:7: spec.entries[3].drill: no drill named `zone-c` in drills/",
        "  fix: did you mean `zone-b`? `drill list` shows the drills there",
    ]
    assert not (lab.root / "reports").exists()


def test_a_plan_mistake_is_reported_before_anything_runs(lab: Lab) -> None:
    (lab.root / "gameday.yaml").write_text(
        PLAN.replace(
            "    - drill: zone-b\n", "    - drill: zone-b\n      requires: [zone-d]\n"
        ).replace("    - pause: 100ms\n", "    - pause: 100ms\n      gate: all\n")
    )

    result = lab.drill("gameday", "run", "gameday.yaml")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: gameday.yaml:8:7: spec.entries[1]: a pause has no target, gate or requires; "
        "only `pause` and `message`",
    ]


def test_an_entry_that_asks_for_confirmation_needs_a_terminal_or_yes(lab: Lab) -> None:
    (lab.root / "gameday.yaml").write_text(
        PLAN.replace("    - drill: kill-pods\n", "    - drill: kill-pods\n      confirm: true\n")
    )

    refused = lab.drill("gameday", "run", "gameday.yaml")
    assert refused.returncode == 2
    assert "entries kill-pods ask for confirmation, and there is no terminal" in refused.stderr
    assert "fix: run at a terminal, or pass --yes" in refused.stderr
    assert not (lab.root / "reports").exists()

    confirmed = lab.drill("gameday", "run", "gameday.yaml", "--yes")
    assert confirmed.returncode == 1
    assert "[3/4] kill-pods on staging-lab: FAILED" in confirmed.stdout
