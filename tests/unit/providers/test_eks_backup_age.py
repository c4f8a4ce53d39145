"""backup-age for data outside the cluster: an RDS database's latest restorable time, in moto."""

from __future__ import annotations

from typing import Any

import pytest

from drillkit.providers.eks import EksProvider
from drillkit.spec.probes import BackupAgeProbe
from drillkit.spec.targets import Target
from tests.support.aws_seed import client, eks_target
from tests.support.moto_server import MotoServer
from tests.support.probe_context import ProbeContext


@pytest.fixture
def provider(aws: MotoServer) -> EksProvider:
    return EksProvider("staging-eks", Target.model_validate(eks_target({"context": "unused"})))


def measure(provider: EksProvider, schedule: str, max_age: str = "10m") -> Any:
    handler = provider.probe_handler("backup-age")
    assert handler is not None
    intent = BackupAgeProbe.model_validate(
        {"type": "backup-age", "schedule": schedule, "maxAge": max_age}
    )
    return handler.measure(intent, ProbeContext())


def test_an_rds_instances_latest_restorable_time_is_its_newest_backup(
    provider: EksProvider,
) -> None:
    client("rds").create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="orders",
        MasterUserPassword="not-a-real-one",
        AllocatedStorage=20,
        BackupRetentionPeriod=7,
    )

    result = measure(provider, "rds:orders-db")

    assert result.ok, result.summary
    assert result.values["backup"] == "rds:orders-db@latest-restorable"
    assert result.values["ageSeconds"] < 600


def test_a_database_that_does_not_exist_fails_naming_it(provider: EksProvider) -> None:
    result = measure(provider, "rds:nothing")

    assert not result.ok
    assert "no RDS instance `nothing` in us-east-1" in result.summary
