"""Target variables in drills and probes, and binding an intent to a target."""

from __future__ import annotations

import pytest

from drillkit.errors import UserInputError
from drillkit.spec.binding import bind, missing_variables
from drillkit.spec.probes import HttpProbe, TlsProbe
from drillkit.spec.variables import placeholders, substitute

HTTP_PROBE = HttpProbe.model_validate(
    {"type": "http", "url": "${orders_url}/readyz", "headers": {"Host": "${orders_host}"}}
)


def test_placeholders_are_found_at_any_depth() -> None:
    data = {"a": "${one}", "b": ["x ${two} y", {"c": "${three}${one}"}], "d": 5, "e": None}

    assert placeholders(data) == {"one", "two", "three"}


def test_an_escaped_placeholder_is_not_a_variable() -> None:
    assert placeholders("$${literal} and ${real}") == {"real"}


@pytest.mark.parametrize("text", ["$orders_url", "${}", "${1abc}", "${a-b}", "{x}"])
def test_text_that_only_looks_like_a_placeholder_is_left_alone(text: str) -> None:
    assert placeholders(text) == set()
    assert substitute(text, {}) == text


def test_substitute_fills_every_placeholder_and_unescapes_literals() -> None:
    data = {"url": "${host}:${port}/x", "note": "keep $${host}", "n": 3, "l": ["${port}"]}

    filled = substitute(data, {"host": "h", "port": "8443"})

    assert filled == {"url": "h:8443/x", "note": "keep ${host}", "n": 3, "l": ["8443"]}
    assert data["url"] == "${host}:${port}/x"


def test_substituted_values_are_not_expanded_again() -> None:
    assert substitute("${a}", {"a": "${b}", "b": "no"}) == "${b}"


def test_substitute_names_an_unknown_variable() -> None:
    with pytest.raises(KeyError, match="missing"):
        substitute("${missing}", {})


def test_missing_variables_are_sorted_and_ignore_defined_ones() -> None:
    assert missing_variables(["${b}", "${a}", "${c}"], {"c": "x"}) == ["a", "b"]


def test_binding_fills_a_probe_from_the_target() -> None:
    bound = bind(
        HTTP_PROBE,
        {"orders_url": "https://orders.example.com", "orders_host": "orders.example.com"},
        target="prod",
        where="probes/orders-http.yaml",
    )

    assert bound.url == "https://orders.example.com/readyz"
    assert bound.headers == {"Host": "orders.example.com"}
    assert HTTP_PROBE.url == "${orders_url}/readyz"


def test_binding_keeps_durations_and_defaults() -> None:
    probe = TlsProbe.model_validate({"type": "tls", "host": "${h}", "timeout": "1m30s"})

    bound = bind(probe, {"h": "example.com"}, target="t", where="w")

    assert bound == probe.model_copy(update={"host": "example.com"})


def test_binding_with_an_undefined_variable_names_it_and_the_target() -> None:
    with pytest.raises(UserInputError) as caught:
        bind(HTTP_PROBE, {"orders_url": "https://x.example"}, target="prod-aks", where="step s")

    assert caught.value.diagnostics() == (
        "step s uses ${orders_host}, which target `prod-aks` does not define\n"
        "  fix: add them under `variables:` of target `prod-aks` in targets.yaml"
    )


def test_a_variable_that_breaks_a_url_is_blamed_on_the_target() -> None:
    with pytest.raises(UserInputError) as caught:
        bind(
            HTTP_PROBE,
            {"orders_url": "ftp://orders.example.com", "orders_host": "h"},
            target="prod-aks",
            where="probes/orders-http.yaml",
        )

    message = caught.value.diagnostics()
    assert message.startswith(
        "probes/orders-http.yaml: after filling target `prod-aks`'s variables, url is invalid: "
    )
    assert "ftp://orders.example.com/readyz" in message
    assert message.endswith("fix: check the `variables:` of target `prod-aks` in targets.yaml")
