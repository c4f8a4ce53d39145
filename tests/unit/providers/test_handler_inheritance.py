"""A cloud provider extends the kubernetes provider's handlers only when it says so."""

from __future__ import annotations

from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.spec.targets import Target

TARGET = Target.model_validate(
    {"provider": "kubernetes", "tier": "staging", "kubernetes": {"context": "x"}}
)


class Extending(KubernetesProvider):
    name = "extending"
    inherits_handlers = True


class Replacing(KubernetesProvider):
    name = "replacing"


@Extending.fault("zone-outage")
class CloudZoneOutage:
    def __init__(self, provider: object) -> None:
        self.provider = provider


def test_an_extending_provider_overrides_one_kind_and_inherits_the_rest() -> None:
    provider = Extending("t", TARGET)

    assert isinstance(provider.fault_handler("zone-outage"), CloudZoneOutage)
    assert type(provider.fault_handler("pod-kill")).__name__ == "PodKillHandler"
    assert "namespace-loss" in Extending.kinds("faults")


def test_a_subclass_that_does_not_extend_starts_with_no_handlers() -> None:
    provider = Replacing("t", TARGET)

    assert provider.fault_handler("pod-kill") is None
    assert Replacing.kinds("faults") == []
