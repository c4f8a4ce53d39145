"""Semantic versions compare as semver.org says, not as text."""

from __future__ import annotations

import re

import pytest

from drillkit.spec.semver import SemVer

SEMVER_ORG_PRECEDENCE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.9.0",
    "1.10.0",
    "2.0.0",
    "10.0.0",
]


def test_versions_sort_in_semver_precedence() -> None:
    shuffled = list(reversed(SEMVER_ORG_PRECEDENCE))

    assert [str(v) for v in sorted(SemVer.parse(t) for t in shuffled)] == SEMVER_ORG_PRECEDENCE


def test_minor_ten_is_newer_than_minor_nine() -> None:
    assert SemVer.parse("1.10.0") > SemVer.parse("1.9.0")


def test_a_prerelease_sorts_before_its_release() -> None:
    assert SemVer.parse("2.1.0-rc.1") < SemVer.parse("2.1.0")


def test_build_metadata_does_not_change_precedence() -> None:
    assert SemVer.parse("1.0.0+build.1") == SemVer.parse("1.0.0+build.2")
    assert hash(SemVer.parse("1.0.0+a")) == hash(SemVer.parse("1.0.0"))


def test_parts_are_read_as_numbers() -> None:
    version = SemVer.parse("3.20.100-rc.7")

    assert (version.major, version.minor, version.patch, version.prerelease) == (
        3,
        20,
        100,
        ("rc", 7),
    )
    assert str(version) == "3.20.100-rc.7"


@pytest.mark.parametrize("text", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0 ", ""])
def test_text_that_is_not_a_semantic_version_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape("expected a semantic version such as `1.2.0`")):
        SemVer.parse(text)


def test_a_version_is_not_equal_to_its_text() -> None:
    assert SemVer.parse("1.0.0") != "1.0.0"
