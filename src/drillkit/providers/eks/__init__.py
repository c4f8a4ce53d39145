"""The ``eks`` provider: the Kubernetes layer of an EKS cluster plus its AWS layer.

Everything the ``kubernetes`` provider does is inherited (``inherits_handlers``);
this package adds what only the cloud can do: stop or terminate a node's EC2
instance, cut a zone off at the network (a deny-all network ACL) or at the
compute layer (Auto Scaling groups and instances), move traffic with Route 53,
read secrets from Secrets Manager, and sign evidence with a KMS key. boto3 is
imported inside functions only, so a sandbox run never loads it.
"""

from __future__ import annotations

from typing import Any

from drillkit.errors import PermanentError, UserInputError
from drillkit.providers.base import JsonDict
from drillkit.providers.eks.aws_errors import call_aws
from drillkit.providers.eks.session import AwsSession
from drillkit.providers.kubernetes import KubernetesProvider
from drillkit.providers.registry import PROVIDERS
from drillkit.providers.sources import BackupSource, SecretSource
from drillkit.spec.targets import AwsSettings

RUN_ID_TAG = "drillkit:run-id"
"""Tag on everything drillkit creates in AWS; revert finds what a run created by it."""


class EksProvider(KubernetesProvider):
    name = "eks"
    inherits_handlers = True

    _aws: AwsSession | None = None
    _cluster: JsonDict | None = None

    @property
    def aws_settings(self) -> AwsSettings:
        settings = self.target.aws
        if settings is None:
            raise UserInputError(
                f"target `{self.target_name}` has no `aws` section",
                fix="add `aws: {region: ..., cluster: ...}` to the target",
            )
        return settings

    @property
    def aws(self) -> AwsSession:
        if self._aws is None:
            self._aws = AwsSession(self.aws_settings)
        return self._aws

    @property
    def region(self) -> str:
        return self.aws_settings.region

    def client(self, service: str, *, region: str | None = None) -> Any:
        return self.aws.client(service, region=region)

    def call(self, what: str, call: Any, *, tolerate: tuple[str, ...] = ()) -> Any:
        """One AWS call with drillkit's error mapping (see ``aws_errors``)."""
        return call_aws(what, call, tolerate=tolerate)

    def cluster(self) -> JsonDict:
        """The EKS cluster as ``DescribeCluster`` answers it (read once per provider)."""
        if self._cluster is None:
            name = self.aws_settings.cluster
            eks = self.client("eks")
            found = self.call(
                f"describe EKS cluster {name}",
                lambda: eks.describe_cluster(name=name),
                tolerate=("ResourceNotFoundException",),
            )
            if found is None:
                raise PermanentError(
                    f"EKS cluster `{name}` does not exist in {self.region}",
                    fix="check `aws.cluster` and `aws.region` of the target "
                    "(`aws eks list-clusters`)",
                )
            self._cluster = dict(found["cluster"])
        return self._cluster

    def vpc_id(self) -> str:
        """The cluster's VPC: nothing outside it is ever changed."""
        config = self.cluster().get("resourcesVpcConfig") or {}
        if config.get("vpcId"):
            return str(config["vpcId"])
        subnets = config.get("subnetIds") or []
        if subnets:
            ec2 = self.client("ec2")
            found = self.call(
                "describe the cluster's subnets",
                lambda: ec2.describe_subnets(SubnetIds=subnets[:1]),
            )
            return str(found["Subnets"][0]["VpcId"])
        raise PermanentError(
            f"EKS cluster `{self.aws_settings.cluster}` reports no VPC",
            fix="check the cluster's networking (`aws eks describe-cluster`)",
        )

    def open(self) -> None:
        super().open()
        self.cluster()

    def identity(self) -> JsonDict:
        identity = super().identity()
        sts = self.client("sts")
        caller = self.call("read the caller identity", sts.get_caller_identity)
        cluster = self.cluster()
        identity["aws"] = {
            "arn": caller["Arn"],
            "account": caller["Account"],
            "region": self.region,
            "cluster": {
                "name": cluster.get("name"),
                "arn": cluster.get("arn"),
                "version": cluster.get("version"),
                "platformVersion": cluster.get("platformVersion"),
            },
        }
        return identity

    def secret_source(self, source: str) -> SecretSource | None:
        if source == "aws-secrets-manager":
            from drillkit.providers.eks.secrets_manager import SecretsManagerSecrets

            return SecretsManagerSecrets(self)
        return super().secret_source(source)

    def backup_source(self) -> BackupSource | None:
        """RDS point-in-time restore for ``rds:``/``rds-cluster:`` schedules, Velero otherwise."""
        from drillkit.providers.eks.rds_backups import RdsOrVeleroBackups

        return RdsOrVeleroBackups(self, super().backup_source())


PROVIDERS.register(EksProvider)

# Handlers register themselves on EksProvider when imported.
import drillkit.providers.eks.acm_tls  # noqa: E402
import drillkit.providers.eks.node_faults  # noqa: E402
import drillkit.providers.eks.traffic_faults  # noqa: E402
import drillkit.providers.eks.zone_faults  # noqa: E402, F401
