"""The target registry: where drills may run, under which rules, and when not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drillkit.errors import InvalidTargets, UnknownTarget
from drillkit.spec.repository import DrillRepository
from drillkit.spec.targets import SANDBOX, FreezeWindow, Target
from tests.conftest import REAL_REPOSITORY, WriteFile

REGISTRY = """\
apiVersion: drillkit.io/v1
kind: TargetRegistry
targets:
  staging-eks:
    provider: eks
    tier: staging
    kubernetes: {context: staging}
    aws: {region: us-east-1, cluster: orders-staging}
    zones: {a: us-east-1a}
    regions: {primary: us-east-1, standby: us-west-2}
    variables: {orders_url: "https://orders.staging.example.com"}
  prod-aks:
    provider: aks
    tier: prod
    kubernetes: {context: prod}
    azure:
      subscriptionId: 00000000-0000-0000-0000-000000000000
      resourceGroup: orders-prod
      cluster: orders-prod
    freezeWindows:
      - name: friday-night
        reason: Nobody is around on Friday night; ask #orders-oncall.
        days: [fri]
        fromTime: "22:00"
        toTime: "02:00"
"""

# 2026-11-27 is a Friday.
FRIDAY = datetime(2026, 11, 27, tzinfo=UTC)


def at(day: datetime, clock: str) -> datetime:
    hours, minutes = clock.split(":")[:2]
    seconds = int(clock.split(":")[2]) if clock.count(":") == 2 else 0
    return day + timedelta(hours=int(hours), minutes=int(minutes), seconds=seconds)


def target(**fields: Any) -> Target:
    return Target.model_validate(fields)


def window(**fields: Any) -> FreezeWindow:
    return FreezeWindow.model_validate({"name": "w", "reason": "r", **fields})


def registry_problems(repository: DrillRepository, write: WriteFile, text: str) -> str:
    write("targets.yaml", text)
    with pytest.raises(InvalidTargets) as caught:
        repository.targets()
    return caught.value.diagnostics()


def test_sandbox_is_built_in_when_there_is_no_targets_file(repository: DrillRepository) -> None:
    assert repository.targets() == {"sandbox": SANDBOX}


def test_the_built_in_sandbox_is_local_and_defines_the_orders_variables() -> None:
    assert (SANDBOX.provider, SANDBOX.tier) == ("local", "sandbox")
    assert set(SANDBOX.variables) >= {"orders_url", "orders_host", "dns_server"}


def test_targets_yaml_adds_to_the_sandbox(repository: DrillRepository, write: WriteFile) -> None:
    write("targets.yaml", REGISTRY)

    registry = repository.targets()

    assert sorted(registry) == ["prod-aks", "sandbox", "staging-eks"]
    assert registry["staging-eks"].aws is not None
    assert registry["staging-eks"].aws.cluster == "orders-staging"
    assert registry["prod-aks"].tier == "prod"


def test_the_example_registry_in_the_repository_is_valid(
    repository: DrillRepository, write: WriteFile
) -> None:
    write("targets.yaml", (REAL_REPOSITORY / "targets.example.yaml").read_text())

    assert {"sandbox", "staging-eks-use1", "prod-aks-weu"} <= set(repository.targets())


def test_an_explicit_targets_file_that_does_not_exist_is_an_error(repo_root: Path) -> None:
    repository = DrillRepository(repo_root, targets_file=repo_root / "elsewhere.yaml")

    with pytest.raises(InvalidTargets) as caught:
        repository.targets()

    assert caught.value.diagnostics() == (
        f"{repo_root / 'elsewhere.yaml'}: (document): file not found\n"
        "  fix: check --targets / DRILLKIT_TARGETS"
    )


def test_drillkit_targets_names_the_registry_file(
    repository: DrillRepository, write: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write("ops/targets.yaml", REGISTRY)
    monkeypatch.setenv("DRILLKIT_TARGETS", str(other))

    assert "prod-aks" in repository.targets()


def test_an_unknown_target_suggests_the_nearest_name(
    repository: DrillRepository, write: WriteFile
) -> None:
    write("targets.yaml", REGISTRY)

    with pytest.raises(UnknownTarget) as caught:
        repository.target("prod-aksx")

    assert caught.value.diagnostics() == (
        "no target named `prod-aksx`; known: prod-aks, sandbox, staging-eks\n"
        "  fix: did you mean `prod-aks`? add it to targets.yaml or pick a known target"
    )


def test_a_target_is_found_by_name(repository: DrillRepository, write: WriteFile) -> None:
    write("targets.yaml", REGISTRY)

    assert repository.target("staging-eks").zone("a") == "us-east-1a"


def test_zone_and_region_aliases_map_to_real_names_or_pass_through() -> None:
    eks = target(
        provider="eks",
        tier="staging",
        kubernetes={},
        aws={"region": "us-east-1", "cluster": "c"},
        zones={"a": "us-east-1a"},
        regions={"standby": "us-west-2"},
    )

    assert (eks.zone("a"), eks.zone("us-east-1f")) == ("us-east-1a", "us-east-1f")
    assert (eks.region("standby"), eks.region("eu-west-1")) == ("us-west-2", "eu-west-1")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    aws: {region: us-east-1, cluster: orders-staging}\n",
            "",
            "targets.yaml:4:3: targets.staging-eks: provider `eks` needs a `aws` section",
        ),
        (
            "    kubernetes: {context: staging}\n",
            "",
            "targets.yaml:4:3: targets.staging-eks: provider `eks` needs a `kubernetes` section",
        ),
        (
            "    provider: aks\n",
            "    provider: kubernetes\n",
            "targets.yaml:12:3: targets.prod-aks: `azure` settings only apply to provider `aks`",
        ),
        (
            "    provider: eks\n",
            "    provider: aks\n",
            "targets.yaml:4:3: targets.staging-eks: provider `aks` needs a `azure` section",
        ),
        (
            "    kubernetes: {context: prod}\n",
            "    kubernetes: {context: prod, inCluster: true}\n",
            "targets.yaml:15:5: targets.prod-aks.kubernetes: `inCluster` excludes `kubeconfig` "
            "and `context`",
        ),
    ],
)
def test_provider_and_section_rules_point_at_the_target(
    repository: DrillRepository, write: WriteFile, old: str, new: str, message: str
) -> None:
    assert REGISTRY.count(old) == 1
    diagnostics = registry_problems(repository, write, REGISTRY.replace(old, new))

    assert diagnostics == message


def test_a_local_target_must_be_the_sandbox_tier() -> None:
    with pytest.raises(ValidationError, match="provider `local` is the sandbox; give it tier"):
        target(provider="local", tier="prod")


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("aws", {"region": "us-east", "cluster": "c"}),
        ("aws", {"region": "us-east-1", "cluster": "c", "roleArn": "arn:aws:iam::1:role/x"}),
        ("azure", {"subscriptionId": "nope", "resourceGroup": "g", "cluster": "c"}),
    ],
)
def test_cloud_settings_are_checked_for_shape(section: str, value: dict[str, str]) -> None:
    provider = {"aws": "eks", "azure": "aks"}[section]

    with pytest.raises(ValidationError) as caught:
        target(provider=provider, tier="dev", kubernetes={}, **{section: value})

    assert [e["type"] for e in caught.value.errors()] == ["string_pattern_mismatch"]


@pytest.mark.parametrize("name", ["orders-url", "1st", "a b", "url\n"])
def test_variable_names_must_be_identifiers(name: str) -> None:
    with pytest.raises(ValidationError, match="expected variable names like `orders_url`"):
        target(provider="local", tier="sandbox", variables={name: "x"})


def test_a_misspelt_setting_suggests_the_right_key(
    repository: DrillRepository, write: WriteFile
) -> None:
    diagnostics = registry_problems(
        repository, write, REGISTRY.replace("freezeWindows:", "freezeWindow:")
    )

    assert "targets.yaml:20:5: targets.prod-aks.freezeWindow: unknown field" in diagnostics
    assert "Did you mean `freezeWindows`?" in diagnostics


# Freeze windows


def test_a_fixed_window_covers_its_start_but_not_its_end() -> None:
    peak = window(start="2026-11-26T00:00:00Z", end="2026-12-02T00:00:00Z")

    assert not peak.covers(datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC))
    assert peak.covers(datetime(2026, 11, 26, tzinfo=UTC))
    assert peak.covers(datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC))
    assert not peak.covers(datetime(2026, 12, 2, tzinfo=UTC))


def test_moments_in_other_zones_are_compared_in_utc() -> None:
    peak = window(start="2026-11-26T00:00:00Z", end="2026-12-02T00:00:00Z")
    new_york = timezone(timedelta(hours=-5))

    assert peak.covers(datetime(2026, 11, 25, 19, 0, tzinfo=new_york))
    assert not peak.covers(datetime(2026, 11, 25, 18, 59, tzinfo=new_york))


@pytest.mark.parametrize(
    ("clock", "day_offset", "covered"),
    [
        ("07:59:59", 0, False),
        ("08:00", 0, True),
        ("12:00", 0, True),
        ("18:00:59", 0, True),
        ("18:01", 0, False),
        ("12:00", 1, False),  # Saturday
        ("12:00", 3, True),  # Monday
    ],
)
def test_a_weekly_window_covers_its_days_and_hours(
    clock: str, day_offset: int, covered: bool
) -> None:
    business_hours = window(
        days=["mon", "tue", "wed", "thu", "fri"], fromTime="08:00", toTime="18:00"
    )

    assert business_hours.covers(at(FRIDAY + timedelta(days=day_offset), clock)) is covered


@pytest.mark.parametrize(
    ("clock", "day_offset", "covered"),
    [
        ("21:59", 0, False),  # Friday before the window opens
        ("22:00", 0, True),
        ("23:59:59", 0, True),
        ("00:00", 1, True),  # Saturday, after midnight: still Friday's window
        ("01:30", 1, True),
        ("02:00:30", 1, True),
        ("02:01", 1, False),
        ("01:30", 0, False),  # Friday early morning belongs to Thursday's slot
        ("23:00", 1, False),  # Saturday night is not Friday night
    ],
)
def test_a_weekly_window_crossing_midnight_continues_into_the_next_day(
    clock: str, day_offset: int, covered: bool
) -> None:
    friday_night = window(days=["fri"], fromTime="22:00", toTime="02:00")

    assert friday_night.covers(at(FRIDAY + timedelta(days=day_offset), clock)) is covered


def test_a_sunday_night_window_continues_into_monday() -> None:
    sunday_night = window(days=["sun"], fromTime="23:00", toTime="01:00")
    monday = FRIDAY + timedelta(days=3)

    assert sunday_night.covers(at(monday, "00:30"))
    assert not sunday_night.covers(at(monday, "23:30"))


def test_a_whole_day_window_covers_the_last_minute_of_the_day() -> None:
    weekend = window(days=["sat", "sun"])
    saturday = FRIDAY + timedelta(days=1)

    assert weekend.covers(at(saturday, "00:00"))
    assert weekend.covers(at(saturday, "23:59:59"))
    assert not weekend.covers(at(FRIDAY, "23:59:59"))


def test_a_fixed_interval_and_weekly_days_must_both_match() -> None:
    december_weekends = window(
        start="2026-12-01T00:00:00Z", end="2027-01-01T00:00:00Z", days=["sat", "sun"]
    )

    assert not december_weekends.covers(at(FRIDAY + timedelta(days=1), "12:00"))  # Nov 28
    assert december_weekends.covers(datetime(2026, 12, 5, 12, tzinfo=UTC))  # a Saturday
    assert not december_weekends.covers(datetime(2026, 12, 7, 12, tzinfo=UTC))  # a Monday


def test_active_freeze_is_the_first_window_that_covers_the_moment() -> None:
    prod = target(
        provider="kubernetes",
        tier="prod",
        kubernetes={},
        freezeWindows=[
            {"name": "weekend", "reason": "r", "days": ["sat", "sun"]},
            {"name": "friday", "reason": "r", "days": ["fri"]},
        ],
    )

    assert prod.active_freeze(at(FRIDAY, "12:00")).name == "friday"  # type: ignore[union-attr]
    assert prod.active_freeze(at(FRIDAY - timedelta(days=1), "12:00")) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "a freeze window needs `start`/`end`, `days`, or both"),
        ({"start": "2026-11-26T00:00:00Z"}, "give both `start` and `end`"),
        (
            {"start": "2026-11-26T00:00:00Z", "end": "2026-11-25T00:00:00Z"},
            "`end` must be after `start`",
        ),
        (
            {"start": "2026-11-26T00:00:00", "end": "2026-11-27T00:00:00Z"},
            "expected a time with a zone, like `2026-11-27T00:00:00Z`",
        ),
        ({"days": ["fri"], "fromTime": "25:00"}, "expected a UTC clock time like `18:00`"),
        ({"days": ["fri"], "fromTime": "8:00"}, "expected a UTC clock time like `18:00`"),
        ({"days": ["fri"], "toTime": "18:00\n"}, "expected a UTC clock time like `18:00`"),
        ({"days": ["friday"]}, "Input should be 'mon'"),
    ],
)
def test_a_malformed_freeze_window_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        window(**fields)


def test_a_freeze_window_problem_points_at_its_line(
    repository: DrillRepository, write: WriteFile
) -> None:
    diagnostics = registry_problems(repository, write, REGISTRY.replace('"22:00"', '"22:60"'))

    assert diagnostics == (
        "targets.yaml:24:9: targets.prod-aks.freezeWindows[0].fromTime: "
        "expected a UTC clock time like `18:00`, found '22:60'"
    )
