"""The messages a drill author reads when a drill is wrong: file, line, field, fix."""

from __future__ import annotations

import pytest

from drillkit.errors import InvalidDocument, InvalidDrill, Problem
from drillkit.spec.repository import DrillRepository
from tests.conftest import WriteFile

# Line numbers in the assertions below refer to this text.
SMALL_DRILL = """\
apiVersion: drillkit.io/v1
kind: Drill
metadata:
  name: x
  version: 1.0.0
  owner: team-orders@example.com
  tier: 1
spec:
  objectives:
    rto: 5m
  targets: [sandbox]
  safety:
    confirmation: prod
  measure:
    rto:
      probe: {ref: probes/orders-http.yaml}
      interval: 250ms
  steps:
    - name: kill-pods
      fault:
        type: pod-kill
        namespace: orders
        selector: {app: orders-api}
    - name: service-answers
      probe: {ref: probes/orders-http.yaml}
      within: 1m
"""


def diagnostics_of(
    repository: DrillRepository, write: WriteFile, text: str, name: str = "x"
) -> str:
    path = write(f"drills/{name}.yaml", text)
    with pytest.raises(InvalidDocument) as caught:
        repository.load_drill(path)
    return caught.value.diagnostics()


def edited(old: str, new: str) -> str:
    assert SMALL_DRILL.count(old) == 1, old
    return SMALL_DRILL.replace(old, new)


def test_the_small_drill_is_valid(repository: DrillRepository, write: WriteFile) -> None:
    assert repository.load_drill(write("drills/x.yaml", SMALL_DRILL)).name == "x"


def test_misspelt_objective_key_suggests_rto(repository: DrillRepository, write: WriteFile) -> None:
    message = diagnostics_of(repository, write, edited("rto: 5m", "rot: 5m"))

    assert message == (
        "drills/x.yaml:10:5: spec.objectives.rot: unknown field; "
        "expected one of `minCertificateDays`, `rpo`, `rto`, found `rot`. Did you mean `rto`?"
    )


def test_misspelt_key_deep_in_a_step_suggests_the_right_one(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("selector:", "selecter:"))

    assert "drills/x.yaml:23:9: spec.steps[0].fault.selecter: unknown field" in message
    assert "Did you mean `selector`?" in message


def test_misspelt_section_suggests_measure(repository: DrillRepository, write: WriteFile) -> None:
    text = edited("  measure:\n", "  mesure:\n")

    message = diagnostics_of(repository, write, text)

    assert "drills/x.yaml:14:3: spec.mesure: unknown field" in message
    assert "Did you mean `measure`?" in message


def test_missing_required_field_names_the_field_at_its_parents_line(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("  version: 1.0.0\n", ""))

    assert message == (
        "drills/x.yaml:3:1: metadata.version: required field is missing; expected `version`"
    )


def test_missing_top_level_kind_is_named(repository: DrillRepository, write: WriteFile) -> None:
    message = diagnostics_of(repository, write, edited("kind: Drill\n", ""))

    assert message.startswith("drills/x.yaml:1:1: kind: required field is missing; expected `kind`")


def test_missing_field_in_a_fault_names_the_fault_path(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("        namespace: orders\n", ""))

    assert message == (
        "drills/x.yaml:20:7: spec.steps[0].fault.namespace: required field is missing; "
        "expected `namespace`"
    )


def test_unknown_fault_type_lists_the_kinds_and_suggests_the_nearest(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("type: pod-kill", "type: pod-kil"))

    assert message == (
        "drills/x.yaml:21:9: spec.steps[0].fault.type: unknown type; expected one of "
        "`pod-kill`, `node-failure`, `zone-outage`, `region-outage`, `namespace-loss`, "
        "`chaostoolkit`, found `pod-kil`. Did you mean `pod-kill`?"
    )


def test_a_fault_without_a_type_says_type_is_missing(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("        type: pod-kill\n", ""))

    assert "drills/x.yaml:20:7: spec.steps[0].fault: required field `type` is missing" in message


def test_a_step_with_two_kinds_names_both(repository: DrillRepository, write: WriteFile) -> None:
    text = edited("      within: 1m\n", "      within: 1m\n      wait: 5s\n")

    message = diagnostics_of(repository, write, text)

    assert message == (
        "drills/x.yaml:24:7: spec.steps[1]: a step needs exactly one of `fault`, `restore`, "
        "`probe`, `wait`, `checkpoint`; found `probe`, `wait`"
    )


def test_a_step_with_no_kind_says_none_was_found(
    repository: DrillRepository, write: WriteFile
) -> None:
    text = edited("    - name: service-answers\n", "    - name: service-answers\n      note: x\n")
    text = text.replace("      probe: {ref: probes/orders-http.yaml}\n      within: 1m\n", "")

    message = diagnostics_of(repository, write, text)

    assert "drills/x.yaml:24:7: spec.steps[1]: a step needs exactly one of" in message
    assert message.endswith("found none of them")


def test_a_step_without_a_name_says_so_on_the_step(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(
        repository, write, edited("    - name: kill-pods\n      fault:", "    - fault:")
    )

    assert message == (
        "drills/x.yaml:19:7: spec.steps[0].name: required field is missing; expected `name`"
    )


def test_an_unknown_key_beside_a_fault_belongs_to_the_step(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(
        repository, write, edited("      fault:\n", "      fault: 7\n      x:\n")
    )

    assert message.splitlines() == [
        "drills/x.yaml:20:7: spec.steps[0].fault: wrong type; expected a mapping, "
        "found a number `7`",
        "drills/x.yaml:21:7: spec.steps[0].x: unknown field; expected one of `description`, "
        "`fault`, `name`, `timeout`, found `x`",
    ]


@pytest.mark.parametrize(("value", "found"), [("5", "a number `5`"), ("[1]", "a list")])
def test_a_probe_that_is_not_a_mapping_is_named_without_internal_tags(
    repository: DrillRepository, write: WriteFile, value: str, found: str
) -> None:
    text = edited(
        "      probe: {ref: probes/orders-http.yaml}\n      within",
        f"      probe: {value}\n      within",
    )

    message = diagnostics_of(repository, write, text)

    assert message == (
        f"drills/x.yaml:25:7: spec.steps[1].probe: wrong type; expected a mapping, found {found}"
    )


def test_an_inline_probe_error_names_the_probe_field(
    repository: DrillRepository, write: WriteFile
) -> None:
    text = edited(
        "      probe: {ref: probes/orders-http.yaml}\n      within",
        "      probe: {type: http, urll: x}\n      within",
    )

    message = diagnostics_of(repository, write, text)

    assert message.splitlines()[0] == (
        "drills/x.yaml:25:7: spec.steps[1].probe.url: required field is missing; expected `url`"
    )
    assert "drills/x.yaml:25:27: spec.steps[1].probe.urll: unknown field" in message


def test_a_bad_label_key_names_the_label(repository: DrillRepository, write: WriteFile) -> None:
    text = edited("  tier: 1\n", "  tier: 1\n  labels: {Bad Key!: x}\n")

    message = diagnostics_of(repository, write, text)

    assert message == (
        "drills/x.yaml:8:12: metadata.labels.Bad Key!: expected a label key like `app` or "
        "`example.com/tier`, found 'Bad Key!'"
    )


def test_wrong_type_says_what_was_expected_and_found(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("tier: 1", "tier: high"))

    assert message == (
        "drills/x.yaml:7:3: metadata.tier: wrong type; expected a whole number, found 'high'"
    )


def test_a_number_out_of_range_says_the_bound(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("tier: 1", "tier: 7"))

    assert message.startswith("drills/x.yaml:7:3: metadata.tier: input should be less than")


def test_a_bare_number_duration_asks_for_a_unit(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("rto: 5m", "rto: 300"))

    assert message == (
        "drills/x.yaml:10:5: spec.objectives.rto: expected a duration such as `90s` or `15m`,"
        " found 300"
    )


def test_a_version_that_is_not_semver_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("version: 1.0.0", "version: v1"))

    assert message == (
        "drills/x.yaml:5:3: metadata.version: expected a semantic version such as `1.2.0`,"
        " found 'v1'"
    )


def test_a_version_with_a_trailing_newline_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("version: 1.0.0", 'version: "1.0.0\\n"'))

    assert "metadata.version: expected a semantic version" in message


def test_a_name_with_a_trailing_newline_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("name: x\n", 'name: "x\\n"\n'))

    assert "drills/x.yaml:4:3: metadata.name: expected a name of lowercase letters" in message


def test_a_literal_choice_suggests_the_nearest_value(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("confirmation: prod", "confirmation: prd"))

    assert message == (
        "drills/x.yaml:13:5: spec.safety.confirmation: value not allowed; "
        "expected `prod` or `always`, found 'prd'. Did you mean `prod`?"
    )


def test_sampling_faster_than_50ms_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, edited("interval: 250ms", "interval: 10ms"))

    assert message == (
        "drills/x.yaml:17:7: spec.measure.rto.interval: "
        "expected a sampling interval of at least `50ms`"
    )


def test_an_rto_objective_without_a_measurement_is_refused(
    repository: DrillRepository, write: WriteFile
) -> None:
    text = edited(
        "  measure:\n    rto:\n      probe: {ref: probes/orders-http.yaml}\n"
        "      interval: 250ms\n",
        "",
    )

    message = diagnostics_of(repository, write, text)

    assert message == (
        "drills/x.yaml:8:1: spec: objective `rto` needs `spec.measure.rto` "
        "(the probe that measures it)"
    )


def test_two_steps_with_one_name_are_refused(repository: DrillRepository, write: WriteFile) -> None:
    message = diagnostics_of(repository, write, edited("name: service-answers", "name: kill-pods"))

    assert "spec: step name `kill-pods` is used twice; step names must be unique" in message


def test_every_problem_is_reported_not_only_the_first(
    repository: DrillRepository, write: WriteFile
) -> None:
    text = edited("rto: 5m", "rot: 5m").replace("tier: 1", "tier: high")

    message = diagnostics_of(repository, write, text)

    assert message.splitlines() == [
        "drills/x.yaml:7:3: metadata.tier: wrong type; expected a whole number, found 'high'",
        "drills/x.yaml:10:5: spec.objectives.rot: unknown field; expected one of "
        "`minCertificateDays`, `rpo`, `rto`, found `rot`. Did you mean `rto`?",
    ]


def test_a_long_value_is_cut_in_the_message(repository: DrillRepository, write: WriteFile) -> None:
    message = diagnostics_of(repository, write, edited("tier: 1", "tier: " + "x" * 500))

    assert "found 'xxxx" in message
    assert "…" in message
    assert len(message) < 200


def test_a_top_level_list_is_refused_as_a_drill(
    repository: DrillRepository, write: WriteFile
) -> None:
    message = diagnostics_of(repository, write, "- name: x\n- kind: Drill\n")

    assert message == (
        "drills/x.yaml:1:1: (document): wrong type; expected a YAML mapping at the top level,"
        " found list"
    )


def test_a_drill_must_be_named_like_its_file(repository: DrillRepository, write: WriteFile) -> None:
    message = diagnostics_of(repository, write, SMALL_DRILL, name="other")

    assert message == (
        "drills/other.yaml:4:3: metadata.name: drill name does not match its file name; "
        "expected `other` (from other.yaml), found x\n"
        "  fix: rename the file to x.yaml or set metadata.name"
    )


def test_errors_in_a_referenced_probe_point_at_the_probe_file(
    repository: DrillRepository, write: WriteFile
) -> None:
    write(
        "probes/broken.yaml",
        "apiVersion: drillkit.io/v1\nkind: Probe\nmetadata: {name: broken}\n"
        "spec:\n  type: http\n  urll: https://example.com\n",
    )
    text = edited(
        "      probe: {ref: probes/orders-http.yaml}\n      within",
        "      probe: {ref: probes/broken.yaml}\n      within",
    )

    message = diagnostics_of(repository, write, text)

    assert message.splitlines() == [
        "probes/broken.yaml:4:1: spec.url: required field is missing; expected `url`",
        "probes/broken.yaml:6:3: spec.urll: unknown field; expected one of `body`, `expect`, "
        "`headers`, `maxLatency`, `method`, `timeout`, `tls`, `type`, `url`, found `urll`. "
        "Did you mean `url`?",
    ]


def test_errors_are_load_time_errors_with_exit_code_2(
    repository: DrillRepository, write: WriteFile
) -> None:
    path = write("drills/x.yaml", edited("rto: 5m", "rot: 5m"))

    with pytest.raises(InvalidDrill) as caught:
        repository.load_drill(path)

    assert caught.value.exit_code == 2
    assert [p.field for p in caught.value.problems] == ["spec.objectives.rot"]


def test_a_problem_renders_only_what_it_knows() -> None:
    assert Problem("f.yaml", None, None, "", "file not found").render() == (
        "f.yaml: (document): file not found"
    )
    assert Problem("f.yaml", 3, None, "a", "bad").render() == "f.yaml:3: a: bad"
    assert Problem("f.yaml", 3, 4, "a", "bad", found="x", suggestion="b").render() == (
        "f.yaml:3:4: a: bad; found x. Did you mean `b`?"
    )


def test_an_invalid_document_needs_at_least_one_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        InvalidDocument([])


def test_diagnostics_end_with_the_fix() -> None:
    error = InvalidDocument([Problem("f.yaml", 1, 1, "a", "bad")], fix="do this")

    assert error.diagnostics() == "f.yaml:1:1: a: bad\n  fix: do this"
