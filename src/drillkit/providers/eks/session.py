"""One boto3 session per provider: a named profile, an assumed role, or the default chain.

Clients are made on first use and kept for the provider's life, all in the
target's region, so no call can land in another region by accident.
``AWS_ENDPOINT_URL`` (and the per-service variants) is honoured by botocore
itself, which is how tests reach a local AWS emulator with the code paths
used against AWS. boto3 is imported here, inside functions, so ``drill
--help`` and sandbox runs never load it.
"""

from __future__ import annotations

from typing import Any

from drillkit.providers.eks.aws_errors import call_aws
from drillkit.spec.targets import AwsSettings

SESSION_NAME = "drillkit"


class AwsSession:
    """The target's AWS credentials and region, and the clients made from them."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        self.region = settings.region
        self._session: Any = None
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, *, region: str | None = None) -> Any:
        """A client of ``service`` in the target's region (or ``region``, for Route 53's
        global endpoint and a secret's DR replica)."""
        where = region or self.region
        key = (service, where)
        if key not in self._clients:
            self._clients[key] = self._boto_session().client(service, region_name=where)
        return self._clients[key]

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3

            base = boto3.session.Session(
                profile_name=self.settings.profile, region_name=self.region
            )
            if self.settings.role_arn:
                base = self._assume(base, self.settings.role_arn)
            self._session = base
        return self._session

    def _assume(self, base: Any, role_arn: str) -> Any:
        """Credentials of ``role_arn`` assumed from ``base`` (temporary, one hour)."""
        import boto3

        sts = base.client("sts", region_name=self.region)
        answer = call_aws(
            f"assume role {role_arn}",
            lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME),
        )
        assert answer is not None
        credentials = answer["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )
