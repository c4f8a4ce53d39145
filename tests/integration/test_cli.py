"""The real `drill` CLI, run as a user runs it: a subprocess, its exit code and exact output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.groups import SANDBOX
from tests.support.session import SESSION_VARIABLES

pytestmark = SANDBOX  # the sandbox's ports are fixed: one worker runs these in turn

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ("drills", "probes", "runbooks", "experiments")


def drill(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DRILLKIT_") or k in SESSION_VARIABLES
    }
    environment.update(env or {})
    environment["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of this repository's drill content, lock included."""
    for folder in CONTENT:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_help_names_every_command_and_the_ldns_clash(repo: Path) -> None:
    result = drill("--help", cwd=repo)
    assert result.returncode == 0
    for command in ("list", "show", "validate", "lock", "schema", "plan", "run", "targets"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert "python -m drillkit" in result.stdout


def test_help_imports_no_models_and_no_platform_sdk() -> None:
    code = (
        "import sys\n"
        "from drillkit.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = sorted(m for m in ('pydantic', 'rich', 'yaml', 'kubernetes', 'boto3',"
        " 'botocore', 'azure', 'chaoslib') if m in sys.modules)\n"
        "    print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "HEAVY=\n" in result.stdout


def test_validate_passes_on_the_shipped_repository(repo: Path) -> None:
    result = drill("validate", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("files valid")
    assert (
        "ok      drills/restore-orders.yaml  Drill restore-orders 1.0.0  sha256:" in result.stdout
    )
    assert "ok      experiments/kill-orders-pod.json  Experiment" in result.stdout


def test_editing_a_drill_without_a_version_bump_fails_validation(repo: Path) -> None:
    path = repo / "drills" / "restore-orders.yaml"
    path.write_text(path.read_text().replace("maxDuration: 20m", "maxDuration: 25m"))
    result = drill("validate", "drills", cwd=repo)
    assert result.returncode == 2
    assert (
        "error: drills/restore-orders.yaml:6:3: metadata.version: content of restore-orders "
        "changed but its version 1.0.0 did not" in result.stderr
    )
    assert (
        "bump metadata.version (released versions are immutable), then run `drill lock`"
        in result.stderr
    )
    assert "FAILED  drills/restore-orders.yaml" in result.stdout
    assert "Traceback" not in result.stderr


def test_bumping_the_version_and_locking_makes_validation_pass_again(repo: Path) -> None:
    path = repo / "drills" / "restore-orders.yaml"
    text = path.read_text().replace("maxDuration: 20m", "maxDuration: 25m")
    path.write_text(text.replace("version: 1.0.0", "version: 1.1.0", 1))
    assert drill("validate", cwd=repo).returncode == 2  # 1.1.0 is not locked yet
    locked = drill("lock", cwd=repo)
    assert locked.returncode == 0, locked.stderr
    assert re.search(r"^locked  restore-orders 1\.1\.0  sha256:[0-9a-f]{64}$", locked.stdout, re.M)
    lock_text = (repo / "drills" / "drills.lock").read_text()
    assert '"1.0.0": sha256:' in lock_text and '"1.1.0": sha256:' in lock_text
    assert drill("validate", cwd=repo).returncode == 0


def test_lock_refuses_to_rewrite_a_released_version(repo: Path) -> None:
    path = repo / "drills" / "pod-kill-orders.yaml"
    path.write_text(path.read_text().replace("percent: 50", "percent: 60"))
    before = (repo / "drills" / "drills.lock").read_bytes()
    result = drill("lock", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: pod-kill-orders 1.0.0 is already locked with other content; released versions are immutable",
        "  fix: bump metadata.version of pod-kill-orders (for example to 1.0.1) and run `drill lock` again",
    ]
    assert (repo / "drills" / "drills.lock").read_bytes() == before


def test_misspelt_key_gives_file_line_field_and_suggestion(repo: Path) -> None:
    path = repo / "drills" / "restore-orders.yaml"
    path.write_text(path.read_text().replace("    rto: 5m", "    rot: 5m"))
    result = drill("validate", "drills/restore-orders.yaml", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: drills/restore-orders.yaml:18:5: spec.objectives.rot: unknown field; expected one of "
        "`minCertificateDays`, `rpo`, `rto`, found `rot`. Did you mean `rto`?"
    ]


def test_unknown_fault_type_lists_the_kinds_and_suggests_one(repo: Path) -> None:
    path = repo / "drills" / "zone-outage-orders.yaml"
    path.write_text(path.read_text().replace("type: zone-outage", "type: zone-outtage"))
    result = drill("plan", "zone-outage-orders", cwd=repo)
    assert result.returncode == 2
    assert "spec.steps[0].fault.type: unknown type; expected one of `pod-kill`" in result.stderr
    assert "found `zone-outtage`. Did you mean `zone-outage`?" in result.stderr


def test_duplicate_keys_are_refused_with_both_lines(repo: Path) -> None:
    path = repo / "drills" / "pod-kill-orders.yaml"
    path.write_text(path.read_text().replace("  tier: 1\n", "  tier: 1\n  tier: 2\n"))
    result = drill("show", "pod-kill-orders", cwd=repo)
    assert result.returncode == 2
    assert "drills/pod-kill-orders.yaml:9:3: metadata.tier: duplicate key `tier`" in result.stderr
    assert "first seen on line 8" in result.stderr


def test_list_shows_name_version_owner_tier_and_objectives(repo: Path) -> None:
    result = drill("list", cwd=repo)
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("restore-orders "))
    assert re.match(
        r"restore-orders\s+1\.0\.0\s+team-orders@example\.com\s+tier-1\s+RTO 5m, RPO 15m, "
        r"certificates >= 14 days\s+9\s+sha256:[0-9a-f]{12}",
        line,
    )


def test_show_prints_the_resolved_definition_with_references_inlined(repo: Path) -> None:
    result = drill("show", "restore-orders", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# restore-orders 1.0.0  sha256:")
    assert "ref: probes/orders-http.yaml\n" in result.stdout
    assert "inline:" in result.stdout and "url: ${orders_url}/readyz" in result.stdout


def test_show_json_is_the_bytes_the_digest_is_taken_over(repo: Path) -> None:
    import hashlib

    shown = drill("show", "restore-orders", "--format", "json", cwd=repo)
    listed = drill("list", "--format", "json", cwd=repo)
    digest = "sha256:" + hashlib.sha256(shown.stdout.rstrip("\n").encode()).hexdigest()
    assert f'"digest": "{digest}"' in listed.stdout


def test_plan_lists_steps_in_order_with_runbook_actions_expanded(repo: Path) -> None:
    result = drill("plan", "restore-orders", "--target", "sandbox", cwd=repo)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Plan: restore-orders 1.0.0 (sha256:" in out
    assert "on target sandbox (provider local, tier sandbox)" in out
    order = [
        out.index(name)
        for name in (
            "backup-is-fresh",
            "lose-namespace",
            "restore-from-backup",
            "service-answers",
            "on-call-can-act",
        )
    ]
    assert order == sorted(order)
    assert (
        "a. restore-namespace: restore namespaces orders from the newest backup of schedule orders-hourly"
        in out
    )
    assert "b. wait-for-orders: wait until Deployment orders-api in orders are ready" in out
    assert "GET https://localhost:8443/readyz answers 200" in out
    assert "lose-namespace: namespace orders (delete)" in out
    assert "lose-namespace: store primary/orders.db (delete)" in out
    assert "restore-from-backup: namespace orders (restore)" in out


def test_plan_on_an_unknown_target_suggests_the_closest(repo: Path) -> None:
    result = drill("plan", "restore-orders", "--target", "sandbx", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: no target named `sandbx`; known: sandbox",
        "  fix: did you mean `sandbox`? add it to targets.yaml or pick a known target",
    ]


def test_plan_refuses_a_target_the_drill_does_not_allow(repo: Path) -> None:
    (repo / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\ntargets:\n"
        "  dev-kind:\n    provider: kubernetes\n    tier: dev\n    kubernetes: {context: kind-dev}\n"
    )
    result = drill("plan", "restore-orders", "-t", "dev-kind", cwd=repo)
    assert result.returncode == 2
    assert (
        "error: drill restore-orders does not allow target `dev-kind` (spec.targets: sandbox, staging-*, prod-*)"
        in result.stderr
    )


def test_plan_names_target_variables_the_target_lacks(repo: Path) -> None:
    (repo / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\ntargets:\n"
        "  prod-eks:\n    provider: eks\n    tier: prod\n    kubernetes: {context: prod}\n"
        "    aws: {region: us-east-1, cluster: orders}\n    variables: {orders_url: 'https://orders.example.com'}\n"
    )
    result = drill("plan", "restore-orders", "-t", "prod-eks", cwd=repo)
    assert result.returncode == 2
    assert (
        "uses ${dns_server}, ${orders_host}, which target `prod-eks` does not define"
        in result.stderr
    )
    assert "fix: add them under `variables:` of target `prod-eks` in targets.yaml" in result.stderr


def test_plan_shows_a_prod_target_needs_confirmation_and_an_active_freeze(repo: Path) -> None:
    (repo / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\ntargets:\n"
        "  prod-eks:\n    provider: eks\n    tier: prod\n    kubernetes: {context: prod}\n"
        "    aws: {region: us-east-1, cluster: orders}\n"
        "    variables: {orders_url: 'https://orders.example.com', orders_host: orders.example.com,"
        " dns_server: '10.0.0.2:53'}\n"
        "    freezeWindows:\n      - name: always-frozen\n        reason: audit week, ask on-call\n"
        "        days: [mon, tue, wed, thu, fri, sat, sun]\n"
    )
    planned = drill("plan", "restore-orders", "-t", "prod-eks", cwd=repo)
    # The guards and steps come first and need no cluster; the blast radius does, and this
    # machine has no kubeconfig, which the plan then names (and exits 2 for).
    assert "WAIT confirmation: tier prod: needs --yes or typing the target name" in planned.stdout
    assert "STOP freeze-window: frozen by always-frozen: audit week, ask on-call" in planned.stdout
    assert planned.returncode == 2, planned.stderr
    assert "cannot load the Kubernetes configuration" in planned.stderr
    assert "Traceback" not in planned.stderr
    run = drill("run", "restore-orders", "-t", "prod-eks", "--yes", cwd=repo)
    assert run.returncode == 2
    assert "error: refused: frozen by always-frozen: audit week, ask on-call" in run.stderr


def test_run_on_the_sandbox_restores_a_lost_namespace_and_passes(repo: Path) -> None:
    result = drill("run", "restore-orders", cwd=repo)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "objective rto: target 5m, measured" in result.stdout
    assert "Verdict: PASSED" in result.stdout
    runs = sorted((repo / "reports" / "restore-orders").iterdir())
    assert len(runs) == 1
    assert (runs[0] / "journal.jsonl").exists()


def test_unknown_drill_suggests_the_closest_name(repo: Path) -> None:
    result = drill("show", "restore-order", cwd=repo)
    assert result.returncode == 2
    assert "error: no drill named `restore-order` in drills/" in result.stderr
    assert "did you mean `restore-orders`?" in result.stderr


def test_outside_a_repository_the_error_says_how_to_point_at_one(tmp_path: Path) -> None:
    result = drill("list", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: no drill repository found in" in result.stderr
    assert "pass --repo PATH" in result.stderr


def test_invalid_target_registry_is_reported_with_its_line(repo: Path) -> None:
    (repo / "targets.yaml").write_text(
        "apiVersion: drillkit.io/v1\nkind: TargetRegistry\ntargets:\n"
        "  prod-aks:\n    provider: aks\n    tier: production\n"
    )
    result = drill("targets", cwd=repo)
    assert result.returncode == 2
    assert (
        "targets.yaml:6:5: targets.prod-aks.tier: value not allowed; expected `sandbox`, `dev`, `staging` or `prod`, found 'production'"
        in result.stderr
    )


def test_schema_writes_the_committed_schemas(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    result = drill("schema", "all", "--write", str(out), cwd=repo)
    assert result.returncode == 0, result.stderr
    for kind in ("drill", "probe", "runbook", "targets"):
        assert (out / f"{kind}.schema.json").read_text() == (
            ROOT / "schemas" / f"{kind}.schema.json"
        ).read_text()


def test_the_example_target_registry_validates(repo: Path) -> None:
    shutil.copy(ROOT / "targets.example.yaml", repo / "targets.example.yaml")
    result = drill("validate", "targets.example.yaml", cwd=repo)
    assert result.returncode == 0, result.stderr


def test_python_dash_m_and_the_console_script_are_the_same_cli(repo: Path) -> None:
    script = Path(sys.executable).parent / "drill"
    direct = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    module = drill("--version", cwd=repo)
    assert direct.stdout == module.stdout
    assert direct.stdout.startswith("drillkit, version ")
