"""References from drills to shared files, and the digest auditors compare."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
import yaml

from drillkit.errors import InvalidDocument, InvalidDrill
from drillkit.spec.references import ProbeRef, RunbookRef
from drillkit.spec.repository import DrillRepository
from drillkit.spec.source import load_source
from tests.conftest import WriteFile

BLOCK_STYLE = """\
apiVersion: drillkit.io/v1
kind: Drill
metadata:
  name: small
  version: 1.0.0
  owner: team-orders@example.com
  tier: 1
  labels:
    service: orders
spec:
  objectives:
    rto: 5m
  targets:
    - sandbox
    - staging-*
  measure:
    rto:
      probe:
        ref: probes/orders-http.yaml
      interval: 250ms
  steps:
    - name: kill-pods
      fault:
        type: pod-kill
        namespace: orders
        selector:
          app: orders-api
        percent: 50
    - name: service-answers
      probe:
        ref: probes/orders-http.yaml
      within: 1m
"""

# The same drill: keys in another order, comments, flow style, other quoting.
FLOW_STYLE = """\
# A drill written by someone who likes flow style.
spec:
  steps:
    - {name: kill-pods, fault: {percent: 50, selector: {app: "orders-api"}, namespace: orders,
       type: 'pod-kill'}}  # half of them
    - {within: 1m, probe: {ref: probes/orders-http.yaml}, name: service-answers}
  measure: {rto: {interval: 250ms, probe: {ref: "probes/orders-http.yaml"}}}
  targets: [sandbox, "staging-*"]
  objectives: {rto: 5m}
kind: Drill   # always Drill
metadata: {tier: 1, owner: team-orders@example.com, version: "1.0.0", name: small,
  labels: {service: orders}}
apiVersion: "drillkit.io/v1"
"""


def digests(repository: DrillRepository) -> dict[str, str]:
    return {path.stem: repository.load_drill(path).digest for path in repository.drill_paths()}


def test_a_reference_is_inlined_next_to_its_path(repository: DrillRepository) -> None:
    drill = repository.load_named("pod-kill-orders")
    probe_data = load_source(repository.root / "probes/orders-http.yaml").data

    rto_probe = drill.resolved["spec"]["measure"]["rto"]["probe"]

    assert rto_probe == {"ref": "probes/orders-http.yaml", "inline": probe_data}
    assert drill.references == ("probes/orders-http.yaml",)


def test_the_digest_is_sha256_of_the_rfc8785_form_of_the_resolved_drill(
    repository: DrillRepository,
) -> None:
    for path in repository.drill_paths():
        drill = repository.load_drill(path)

        expected = "sha256:" + hashlib.sha256(rfc8785.dumps(drill.resolved)).hexdigest()

        assert drill.digest == expected


def test_the_digest_is_the_same_on_every_load(repo_root: Path) -> None:
    assert digests(DrillRepository(repo_root)) == digests(DrillRepository(repo_root))


def test_reformatting_a_drill_does_not_change_its_digest(
    repository: DrillRepository, write: WriteFile
) -> None:
    block = repository.load_drill(write("drills/small.yaml", BLOCK_STYLE))
    flow = repository.load_drill(write("drills/small.yaml", FLOW_STYLE))

    assert flow.resolved == block.resolved
    assert flow.digest == block.digest


@pytest.mark.parametrize("style", ["sorted-block", "reversed-json"])
def test_rewriting_every_real_drill_in_another_style_keeps_its_digest(
    repository: DrillRepository, style: str
) -> None:
    before = digests(repository)
    for path in repository.drill_paths():
        data = load_source(path).data
        if style == "sorted-block":
            text = yaml.safe_dump(data, sort_keys=True, default_flow_style=False)
        else:
            text = "# flow style, keys reversed\n" + json.dumps(_reversed(data), indent=1)
        path.write_text(text, encoding="utf-8")

    assert digests(DrillRepository(repository.root)) == before


def _reversed(value: object) -> object:
    if isinstance(value, dict):
        return {key: _reversed(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(item) for item in value]
    return value


def test_changing_a_step_changes_the_digest(repository: DrillRepository, write: WriteFile) -> None:
    before = repository.load_drill(write("drills/small.yaml", BLOCK_STYLE)).digest

    after = repository.load_drill(
        write("drills/small.yaml", BLOCK_STYLE.replace("percent: 50", "percent: 51"))
    ).digest

    assert after != before


def test_changing_a_probe_changes_the_digest_of_every_drill_that_references_it(
    repo_root: Path,
) -> None:
    before_repository = DrillRepository(repo_root)
    before = digests(before_repository)
    users = {
        name
        for name in before
        if "probes/orders-tls.yaml" in before_repository.load_named(name).references
    }
    assert users and users != set(before)
    probe = repo_root / "probes/orders-tls.yaml"
    probe.write_text(probe.read_text().replace("port: 8443", "port: 9443"))

    after = digests(DrillRepository(repo_root))

    assert {name for name in before if after[name] != before[name]} == users


def test_changing_a_runbook_changes_the_digest_of_the_drills_that_run_it(
    repo_root: Path,
) -> None:
    before = digests(DrillRepository(repo_root))
    runbook = repo_root / "runbooks/failover-orders.yaml"
    runbook.write_text(runbook.read_text().replace("replicas: 3", "replicas: 4"))

    after = digests(DrillRepository(repo_root))

    assert {name for name in before if after[name] != before[name]} == {"region-failover-orders"}


def test_a_comment_in_a_referenced_probe_does_not_change_any_digest(repo_root: Path) -> None:
    before = digests(DrillRepository(repo_root))
    probe = repo_root / "probes/orders-http.yaml"
    probe.write_text("# reviewed by the orders team\n" + probe.read_text())

    assert digests(DrillRepository(repo_root)) == before


def test_a_missing_reference_points_at_the_ref_in_the_drill(
    repository: DrillRepository, write: WriteFile
) -> None:
    text = BLOCK_STYLE.replace(
        "      probe:\n        ref: probes/orders-http.yaml\n      within",
        "      probe:\n        ref: probes/nope.yaml\n      within",
    )

    with pytest.raises(InvalidDrill) as caught:
        repository.load_drill(write("drills/small.yaml", text))

    assert caught.value.diagnostics() == (
        "drills/small.yaml:31:9: spec.steps[1].probe.ref: referenced file `probes/nope.yaml` "
        "does not exist; expected a path from the repository root"
    )


@pytest.mark.parametrize(
    ("ref", "complaint"),
    [
        ("../probes/orders-http.yaml", "expected a path inside the repository"),
        ("/etc/passwd.yaml", "expected a path inside the repository"),
        ("probes\\\\orders-http.yaml", "expected a path inside the repository"),
        ("probes/../../secret.yaml", "expected a path inside the repository"),
        ("runbooks/restore-orders.yaml", "expected a probe file under `probes/`"),
        ("probes/orders-http.json", "expected a probe file under `probes/`"),
    ],
)
def test_a_reference_may_not_leave_its_folder(
    repository: DrillRepository, write: WriteFile, ref: str, complaint: str
) -> None:
    text = BLOCK_STYLE.replace(
        "      probe:\n        ref: probes/orders-http.yaml\n      within",
        f'      probe:\n        ref: "{ref}"\n      within',
    )

    with pytest.raises(InvalidDrill) as caught:
        repository.load_drill(write("drills/small.yaml", text))

    assert caught.value.diagnostics().startswith(
        f"drills/small.yaml:31:9: spec.steps[1].probe.ref: {complaint}"
    )


def test_a_referenced_probe_that_does_not_parse_is_reported_at_its_own_line(
    repository: DrillRepository, write: WriteFile
) -> None:
    write("probes/orders-http.yaml", "apiVersion: drillkit.io/v1\nkind: Probe\nkind: Probe\n")

    with pytest.raises(InvalidDrill) as caught:
        repository.load_drill(write("drills/small.yaml", BLOCK_STYLE))

    assert caught.value.diagnostics().startswith(
        "probes/orders-http.yaml:3:1: kind: duplicate key `kind`"
    )


CHAOS_DRILL = """\
apiVersion: drillkit.io/v1
kind: Drill
metadata: {name: chaos, version: 1.0.0, owner: me, tier: 2}
spec:
  objectives: {}
  targets: [sandbox]
  steps:
    - name: kill-one-pod
      fault:
        type: chaostoolkit
        experiment: experiments/kill-orders-pod.json
"""


def test_a_chaos_toolkit_experiment_is_inlined_into_the_digest(
    repository: DrillRepository, write: WriteFile
) -> None:
    path = write("drills/chaos.yaml", CHAOS_DRILL)
    experiment = repository.root / "experiments/kill-orders-pod.json"
    before = repository.load_drill(path)

    fault = before.resolved["spec"]["steps"][0]["fault"]
    assert fault["experiment"] == {
        "ref": "experiments/kill-orders-pod.json",
        "inline": json.loads(experiment.read_text()),
    }
    assert before.experiments["experiments/kill-orders-pod.json"]["title"]

    experiment.write_text(experiment.read_text().replace('"qty": 1', '"qty": 2'))
    assert DrillRepository(repository.root).load_drill(path).digest != before.digest


def test_an_experiment_without_title_or_method_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    write("experiments/kill-orders-pod.json", '{"description": "no title"}')

    with pytest.raises(InvalidDrill) as caught:
        repository.load_drill(write("drills/chaos.yaml", CHAOS_DRILL))

    assert caught.value.diagnostics().splitlines() == [
        "experiments/kill-orders-pod.json:1:1: title: required field is missing; "
        "expected a non-empty `title`",
        "experiments/kill-orders-pod.json:1:1: method: required field is missing; "
        "expected a non-empty `method` list of activities",
    ]


def test_a_probe_reference_is_followed_to_its_spec(repository: DrillRepository) -> None:
    drill = repository.load_named("restore-orders")
    rto = drill.drill.spec.measure.rto
    assert rto is not None and isinstance(rto.probe, ProbeRef)

    probe = drill.probe(rto.probe)

    assert probe.type == "http"
    assert probe is drill.probes["probes/orders-http.yaml"].spec


def test_a_runbook_reference_expands_to_its_ordered_steps(repository: DrillRepository) -> None:
    drill = repository.load_named("region-failover-orders")
    restore = next(s for s in drill.drill.spec.steps if s.name == "fail-over")
    assert isinstance(restore.restore, RunbookRef)

    actions = drill.restore_actions(restore.restore)

    assert [(name, action.type) for name, action in actions] == [
        ("scale-standby", "scale"),
        ("fail-over-traffic", "traffic-failover"),
        ("wait-for-standby", "wait-for-recovery"),
    ]


def test_an_inline_restore_is_its_own_single_action(repository: DrillRepository) -> None:
    drill = repository.load_named("pod-kill-orders")
    restore = next(s for s in drill.drill.spec.steps if s.name == "replicas-replaced")

    assert [name for name, _ in drill.restore_actions(restore.restore)] == ["wait-for-recovery"]


def test_every_real_drill_resolves(repository: DrillRepository) -> None:
    for path in repository.drill_paths():
        drill = repository.load_drill(path)

        assert drill.name == path.stem
        assert drill.digest.startswith("sha256:")
        assert len(drill.digest) == len("sha256:") + 64


def test_load_document_refuses_an_unknown_kind(
    repository: DrillRepository, write: WriteFile
) -> None:
    path = write("probes/odd.yaml", "apiVersion: drillkit.io/v1\nkind: Probes\n")

    with pytest.raises(InvalidDocument) as caught:
        repository.load_document(path)

    assert caught.value.diagnostics() == (
        "probes/odd.yaml:2:1: kind: unknown document kind; expected one of `Drill`, `Probe`, "
        "`Runbook`, `TargetRegistry`, found 'Probes'"
    )
