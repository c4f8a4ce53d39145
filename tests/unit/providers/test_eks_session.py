"""How the eks provider gets AWS credentials, and how AWS errors reach the operator.

Credentials come from the target's profile, a role it assumes, or the default
chain, in the target's region; all against moto over HTTP. Errors are real
botocore errors: an unreachable endpoint, and an error answer from AWS.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from drillkit.errors import PermanentError, TransientError
from drillkit.providers.eks import EksProvider
from drillkit.providers.eks.aws_errors import call_aws
from drillkit.spec.targets import Target
from tests.support.aws_seed import eks_target, seed_cluster
from tests.support.moto_server import MotoServer

ROLE = "arn:aws:iam::123456789012:role/drillkit-drills"


def provider(**aws: str) -> EksProvider:
    return EksProvider("staging-eks", Target.model_validate(eks_target({"context": "x"}, **aws)))


def caller(found: EksProvider) -> str:
    arn: str = found.call("who am i", found.client("sts").get_caller_identity)["Arn"]
    return arn


def test_the_default_chain_is_used_when_the_target_names_nothing(aws: MotoServer) -> None:
    assert caller(provider()).startswith("arn:aws:")


def test_a_role_arn_is_assumed_and_every_client_acts_as_that_role(aws: MotoServer) -> None:
    found = provider(roleArn=ROLE)

    assert ":assumed-role/drillkit-drills/drillkit" in caller(found)
    assert found.client("ec2").meta.region_name == "us-east-1"


def test_a_named_profile_is_read_from_the_shared_files(
    aws: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "credentials").write_text(
        "[drills]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    found = provider(profile="drills")

    assert found.aws._boto_session().get_credentials().access_key == "AKIAPROFILE"
    assert caller(found).startswith("arn:aws:")


def test_the_cluster_vpc_is_found_from_its_subnets_when_eks_does_not_say(
    aws: MotoServer,
) -> None:
    seeded = seed_cluster(node_group=False, other_vpc=False)

    assert provider().vpc_id() == seeded.vpc


def test_an_unreachable_endpoint_is_transient(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    found = provider()

    with pytest.raises(TransientError, match="cannot reach AWS to describe EKS cluster"):
        found.cluster()


def test_throttling_is_transient_and_access_denied_is_permanent_with_a_fix() -> None:
    def fail(code: str, status: int) -> None:
        raise ClientError(
            {
                "Error": {"Code": code, "Message": "x" * 500},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "StopInstances",
        )

    with pytest.raises(TransientError):
        call_aws("stop instances", lambda: fail("RequestLimitExceeded", 503))
    with pytest.raises(PermanentError) as denied:
        call_aws("stop instances", lambda: fail("UnauthorizedOperation", 403))
    assert denied.value.message.startswith("AWS answered UnauthorizedOperation to stop instances")
    assert len(denied.value.message) < 320  # the answer's text is cut short
    assert "docs/eks.md" in (denied.value.fix or "")
    assert (
        call_aws(
            "delete",
            lambda: fail("InvalidNetworkAclID.NotFound", 400),
            tolerate=("InvalidNetworkAclID.NotFound",),
        )
        is None
    )
