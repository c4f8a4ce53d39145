"""The shipped drills on EKS and AKS with the cloud's API misbehaving under them.

The fault-injecting proxy (tests/support/fault_proxy.py) sits in front of
moto, for the EKS setup of ``tests/support/eks_world.py`` (the drill
processes' ``AWS_ENDPOINT_URL`` is the proxy), and in front of the ARM test
server, for the AKS setup of ``tests/support/aks_world.py`` (the target's
``resourceManager`` is the proxy, which serves TLS under the CA the drill
processes already trust). On a seeded share of calls it answers 429, 500 or
503 with the error body the cloud's SDK parses (so botocore and azure-core
classify them as they would the real thing), resets the connection, or holds
the request 10 s. Both SDKs retry on their own before drillkit sees an
error; what reaches drillkit is retried by its engine and journalled as
``retry`` events, which the report counts.

Every run must exit 0 or 1 with no internal error, and leave nothing applied,
which is read from the platform directly (moto and the ARM server's state,
the emulator's store) and compared with what was there before the run, not
taken from the report. The Kubernetes API is reached directly here: its
faults are ``test_platform_faults.py``'s subject.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import JournalEvent, read_journal
from tests.reliability.figures import tally
from tests.support.aks_world import Record, Setting, aks_setting, record
from tests.support.arm.server import ArmServer
from tests.support.aws_seed import instance_states, route53_state, subnet_acls
from tests.support.eks_world import KMS_URI, TARGET, World, eks_world
from tests.support.fault_proxy import FaultPlan, FaultProxy
from tests.support.kube.server import KubeApiServer
from tests.support.moto_server import MotoServer

SEED = int(os.environ.get("DRILLKIT_RELIABILITY_SEED", "20261124"))
TAINT_KEY = "drillkit.io/zone-outage"
# An EKS drill makes some tens of AWS calls; one in five misbehaves, and a stall is one kind
# in thirteen, so a run meets about one 10 s stall. An AKS drill makes more ARM calls (a
# long-running operation is polled), so its share is smaller and a stall one kind in
# seventeen: each run stays well under a minute.
AWS_PLAN = FaultPlan(
    share=0.2, faults=("429", "500", "503", "reset") * 3 + ("stall",), stall_seconds=10.0, seed=SEED
)
AZURE_PLAN = FaultPlan(
    share=0.15,
    faults=("429", "500", "503", "reset") * 4 + ("stall",),
    stall_seconds=10.0,
    seed=SEED + 100,
)
AWS_DRILLS = ("zone-outage-orders", "region-failover-orders")


def clean_exit(result: subprocess.CompletedProcess[str]) -> bool:
    """Exit 0 (passed) or 1 (failed or aborted): never an internal error or a traceback."""
    output = result.stdout + result.stderr
    return (
        result.returncode in (0, 1)
        and "internal error" not in output.lower()
        and "Traceback" not in output
    )


def left_on_nodes(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """What a drill left on the Kubernetes nodes: a cordon or its zone-outage taint."""
    found = []
    for name, spec in sorted(nodes.items()):
        if spec.get("unschedulable"):
            found.append(f"{name} is still cordoned")
        if any(t["key"] == TAINT_KEY for t in spec.get("taints") or []):
            found.append(f"{name} still has the {TAINT_KEY} taint")
    return found


def note(
    name: str,
    summary: dict[str, Any],
    injected: Counter[str],
    result: subprocess.CompletedProcess[str],
) -> str:
    return (
        f"{name}: exit {result.returncode}, {summary.get('verdict')}, "
        f"{sum(injected.values())} faults injected ({dict(sorted(injected.items()))}), "
        f"{summary.get('retries')} retries in the report, "
        f"{len(summary.get('faultsApplied') or [])} applied / "
        f"{len(summary.get('faultsReverted') or [])} undone"
    )


def run_summary(events: list[JournalEvent]) -> dict[str, Any]:
    ended = [e for e in events if e.type == "run-ended"]
    found: dict[str, Any] = ended[-1].data["summary"] if ended else {}
    return found


# -- AWS: moto behind the proxy -----------------------------------------------------------


@dataclass
class AwsRun:
    result: subprocess.CompletedProcess[str]
    events: list[JournalEvent]
    injected: Counter[str]
    problems: list[str]
    """What the platform shows left applied, read from moto and the emulator."""
    folder: Path | None
    """The run's evidence folder."""

    @property
    def summary(self) -> dict[str, Any]:
        return run_summary(self.events)


@pytest.fixture(scope="module")
def aws_proxied(
    moto_server: MotoServer,
    kube_server: KubeApiServer,
    kube_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FaultProxy, World]]:
    root = tmp_path_factory.mktemp("cloud-faults-eks")
    with (
        eks_world(moto_server, kube_server, kube_config, root) as world,
        FaultProxy(moto_server.url, AWS_PLAN, flavour="aws") as proxy,
    ):
        # Only the drill processes go through the proxy; this process reads moto directly.
        world.environment["AWS_ENDPOINT_URL"] = proxy.url
        yield proxy, world


def aws_state(world: World) -> dict[str, Any]:
    """What a drill must leave as it found it on the AWS side."""
    return {
        "subnet acls": subnet_acls(world.subnets),
        "route53": route53_state(world.route53.zone),
        "instances": instance_states(world.seeded.all_instances()),
    }


def run_on_aws(proxy: FaultProxy, world: World, name: str) -> AwsRun:
    before = aws_state(world)
    counted = proxy.injected
    result = world.drill("run", name, "--target", TARGET, "--yes", "--signing-key", KMS_URI)
    injected = proxy.injected - counted
    runs = world.root / "reports" / name
    known = sorted(runs.iterdir()) if runs.is_dir() else []
    folder = known[-1] if known else None
    events = read_journal(folder / "journal.jsonl").events if folder else []
    after = aws_state(world)
    problems = [
        f"{key} changed: {before[key]} -> {after[key]}"
        for key in before
        if before[key] != after[key]
    ]
    problems += [f"drillkit network ACL {acl} left" for acl in world.run_acls()]
    problems += left_on_nodes(world.nodes())
    return AwsRun(result, events, injected, problems, folder)


@pytest.mark.parametrize("name", AWS_DRILLS)
def test_an_eks_drill_through_a_failing_aws_api_completes_or_aborts_and_leaves_nothing_applied(
    aws_proxied: tuple[FaultProxy, World], name: str
) -> None:
    proxy, world = aws_proxied
    proxy.reseed(SEED + AWS_DRILLS.index(name))
    outcome = run_on_aws(proxy, world, name)
    summary, output = outcome.summary, outcome.result.stdout + outcome.result.stderr
    left = summary.get("faultsLeftApplied", [])
    ok = clean_exit(outcome.result) and bool(summary) and left == [] and outcome.problems == []
    figures = tally("platform faults: AWS")
    figures.record(
        ok,
        survived=len(summary.get("faultsApplied") or []) if ok else 0,
        left=len(left) + len(outcome.problems),
    )
    figures.notes.append(note(name, summary, outcome.injected, outcome.result))
    assert clean_exit(outcome.result), output
    assert summary, f"no run-ended event in the journal:\n{output}"
    assert left == [], output
    assert outcome.problems == [], (outcome.problems, output)
    assert summary["retries"] == sum(1 for e in outcome.events if e.type == "retry")
    if summary["verdict"] == "passed" and outcome.folder is not None:
        # Signed through the failing API too (KMS behind the proxy), verified offline.
        verified = world.verify_offline(outcome.folder)
        assert verified.returncode == 0, verified.stdout + verified.stderr


AWS_CALLS: dict[str, Callable[[Any], object]] = {
    "ec2": lambda c: c.describe_network_acls(),
    "kms": lambda c: c.list_keys(),
    "route53": lambda c: c.list_hosted_zones(),
    "eks": lambda c: c.list_clusters(),
    "autoscaling": lambda c: c.describe_auto_scaling_groups(),
}
"""One call per protocol the EKS provider meets: EC2, JSON, REST-XML, REST-JSON, query."""


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        (
            "429",
            {
                "ec2": "RequestLimitExceeded",
                "kms": "ThrottlingException",
                "route53": "Throttling",
                "eks": "ThrottlingException",
                "autoscaling": "Throttling",
            },
        ),
        (
            "503",
            {
                "ec2": "Unavailable",
                "kms": "ServiceUnavailable",
                "route53": "ServiceUnavailable",
                "eks": "ServiceUnavailable",
                "autoscaling": "ServiceUnavailable",
            },
        ),
    ],
)
def test_aws_error_bodies_are_what_botocore_parses_and_retries(
    moto_server: MotoServer, status: str, codes: dict[str, str]
) -> None:
    """Through the proxy, every service's injected error is one botocore's standard mode
    retries and then reports with the service's own code: the bodies read as AWS's."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    plan = FaultPlan(share=1.0, faults=(status,), seed=SEED)
    with FaultProxy(moto_server.url, plan, flavour="aws") as proxy:
        # In a client's config, ``max_attempts`` counts the retries after the first call.
        config = Config(retries={"mode": "standard", "max_attempts": 1})
        seen: dict[str, str] = {}
        for service, call in AWS_CALLS.items():
            aws = boto3.client(
                service,
                endpoint_url=proxy.url,
                config=config,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            with pytest.raises(ClientError) as raised:
                call(aws)
            assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1, service
            seen[service] = raised.value.response["Error"]["Code"]
    assert seen == codes
    assert proxy.injected == Counter({status: 2 * len(AWS_CALLS)})


# -- Azure: the ARM test server behind the proxy -----------------------------------------


@pytest.fixture(scope="module")
def azure_proxied(
    arm_server: ArmServer,
    kube_server: KubeApiServer,
    kube_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FaultProxy, Setting]]:
    root = tmp_path_factory.mktemp("cloud-faults-aks")
    with FaultProxy(
        arm_server.url,
        AZURE_PLAN,
        flavour="azure",
        upstream_ca=arm_server.ca_file,
        server_cert=arm_server.ca.issue_cert("127.0.0.1"),
    ) as proxy:
        # Tokens are asked for the endpoint drillkit is given, the proxy's; the managed
        # identity endpoint itself is reached directly, as setup.
        arm_server.audiences.append(proxy.url)
        try:
            with aks_setting(
                kube_server, kube_config, arm_server, root, resource_manager=proxy.url
            ) as setting:
                yield proxy, setting
        finally:
            arm_server.audiences.remove(proxy.url)


def test_an_aks_zone_outage_through_a_failing_arm_api_completes_or_aborts_and_leaves_nothing(
    azure_proxied: tuple[FaultProxy, Setting],
    arm_server: ArmServer,
    kube_server: KubeApiServer,
    kube_config: Path,
) -> None:
    proxy, setting = azure_proxied
    name = "zone-outage-orders"
    counted = proxy.injected
    outcome: Record = record(setting, kube_server, kube_config, arm_server, name)
    injected = proxy.injected - counted
    summary = outcome.summary
    left = summary["faultsLeftApplied"]
    # Power states, node pool autoscaler settings, security rules and Traffic Manager
    # endpoints, read from the server's state.
    problems = [] if outcome.after == outcome.before else ["Azure state differs from before"]
    problems += left_on_nodes(outcome.nodes_after)
    ok = clean_exit(outcome.result) and left == [] and problems == []
    figures = tally("platform faults: Azure")
    figures.record(
        ok,
        survived=len(summary["faultsApplied"]) if ok else 0,
        left=len(left) + len(problems),
    )
    figures.notes.append(note(name, summary, injected, outcome.result))
    assert clean_exit(outcome.result), outcome.output
    assert left == [], outcome.output
    assert outcome.after == outcome.before, outcome.output
    assert problems == [], (problems, outcome.output)
    assert proxy.injected.total() > 0
    assert summary["retries"] == sum(1 for e in outcome.events if e.type == "retry")
    if summary["verdict"] == "passed":
        assert outcome.verified.returncode == 0, outcome.verified.stdout


@pytest.mark.parametrize(
    ("status", "code"), [("429", "TooManyRequests"), ("503", "ServiceUnavailable")]
)
def test_arm_error_bodies_through_the_tls_proxy_are_what_the_azure_sdk_parses_and_retries(
    arm_environment: ArmServer, status: str, code: str
) -> None:
    """The proxy serves TLS the SDK trusts, and its ARM errors are retried by azure-core and
    then read, code and all, as drillkit's transient error."""
    from azure.core.exceptions import HttpResponseError
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.compute import ComputeManagementClient

    from drillkit.errors import TransientError
    from drillkit.providers.aks.azure_errors import azure_error

    server = arm_environment
    plan = FaultPlan(share=1.0, faults=(status,), seed=SEED)
    with FaultProxy(
        server.url,
        plan,
        flavour="azure",
        upstream_ca=server.ca_file,
        server_cert=server.ca.issue_cert("127.0.0.1"),
    ) as proxy:
        server.audiences.append(proxy.url)
        try:
            with (
                DefaultAzureCredential() as credential,
                ComputeManagementClient(
                    credential,
                    "00000000-0000-0000-0000-000000000000",
                    base_url=proxy.url,
                    credential_scopes=[f"{proxy.url}/.default"],
                    retry_total=1,
                    retry_backoff_factor=0,
                ) as compute,
                pytest.raises(HttpResponseError) as raised,
            ):
                list(compute.virtual_machine_scale_sets.list("rg"))
        finally:
            server.audiences.remove(proxy.url)
    assert raised.value.status_code == int(status)
    assert raised.value.error is not None and raised.value.error.code == code
    assert isinstance(azure_error("list scale sets", raised.value), TransientError)
    assert proxy.injected == Counter({status: 2})
