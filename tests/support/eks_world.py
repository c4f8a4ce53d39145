"""An EKS target around the shipped drills: the emulator, moto, orders in two regions, DNS.

What ``tests/integration/test_eks_drills.py`` runs its drills in, built once
per module:

- the cluster: the Kubernetes API emulator with its controllers, two nodes per
  zone carrying the providerIDs of instances seeded in moto (VPC, subnets,
  the node group's Auto Scaling group, see ``aws_seed``);
- the orders name ``orders.example.com`` in a Route 53 hosted zone in moto:
  failover records, PRIMARY in us-east-1 and SECONDARY in us-west-2, each
  with a health check, answering the address of that region's orders front;
- DNS: a loopback server answering that name from moto as Route 53 would
  (``route53_dns``), which is the target's ``dns_server``;
- the orders service in each region (``OrdersFront``, us-east-1 and
  us-west-2). Both answer from the emulator's store, so the data is shared,
  as a synchronously replicated database would share it; ``/region`` names
  the region of the front that answered;
- ``${orders_url}``: a ``DnsEdge`` that sends each connection to the front
  DNS answers now, as a user following the name would be sent.

The target is ``provider: eks`` with ``aws.route53`` naming that record; its
evidence is signed with a KMS key in moto (``alias/drillkit-evidence``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillkit.providers.eks import RUN_ID_TAG
from tests.support.aws_seed import (
    RECORD,
    REGION,
    STANDBY,
    SeededAws,
    SeededRoute53,
    client,
    eks_target,
    link_nodes,
    seed_cluster,
    seed_route53,
)
from tests.support.dns_edge import DnsEdge
from tests.support.kube.catalogue import NODES
from tests.support.kube.fixtures import KubeCluster
from tests.support.kube.server import KubeApiServer
from tests.support.kube.workloads import WorkloadTiming
from tests.support.moto_kms import digest_signing
from tests.support.moto_server import MotoServer
from tests.support.orders_front import OrdersFront
from tests.support.route53_dns import Route53Resolver, route53_dns
from tests.support.session import SESSION_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
TARGET = "staging-eks"
KMS_ALIAS = "alias/drillkit-evidence"
KMS_URI = f"awskms:///{KMS_ALIAS}"


@dataclass
class World:
    """The drill repository, its targets.yaml and environment, and the seeded platform."""

    root: Path
    environment: dict[str, str]
    kube: KubeCluster
    seeded: SeededAws
    route53: SeededRoute53
    fronts: dict[str, OrdersFront]
    """region -> the orders front serving it."""
    dns: Route53Resolver
    edge: DnsEdge

    @property
    def subnets(self) -> list[str]:
        return [*self.seeded.subnets.values(), str(self.seeded.other_subnet)]

    def drill(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def verify_offline(self, folder: Path) -> subprocess.CompletedProcess[str]:
        """``drill verify`` as an auditor runs it: the exported key file, no AWS endpoint or
        credentials."""
        exported = self.drill("keys", "export-public", KMS_URI, "-o", "kms.pem")
        assert exported.returncode == 0, exported.stdout + exported.stderr
        offline = {**self.environment, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        offline.pop("AWS_ACCESS_KEY_ID", None)
        return subprocess.run(
            [sys.executable, "-m", "drillkit", "verify", str(folder), "--key", "kms.pem"],
            cwd=self.root,
            env=offline,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def run_acls(self) -> list[str]:
        found = client("ec2").describe_network_acls(
            Filters=[{"Name": "tag-key", "Values": [RUN_ID_TAG]}]
        )["NetworkAcls"]
        return [a["NetworkAclId"] for a in found]

    def nodes(self) -> dict[str, dict[str, Any]]:
        return {n["metadata"]["name"]: n["spec"] for n in self.kube.store.list(NODES)}


@contextlib.contextmanager
def eks_world(
    moto_server: MotoServer, kube_server: KubeApiServer, kube_config: Path, root: Path
) -> Iterator[World]:
    """Build the world described in the module docstring in ``root`` (a fresh folder)."""
    for folder in ("drills", "probes", "runbooks", "experiments"):
        shutil.copytree(ROOT / folder, root / folder)
    with pytest.MonkeyPatch.context() as env:
        # What the `aws` fixture does, for the whole module: one clean moto account.
        moto_server.reset()
        for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_CONFIG_FILE"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ENDPOINT_URL", moto_server.url)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        kube_server.reset()
        kube = KubeCluster(kube_server, kube_config, kube_config.parent / "kubectl-cache")
        try:
            kube.seed(nodes_per_zone=2)
            seeded = seed_cluster(instances_per_zone=2)
            link_nodes(kube.store, seeded)
            kube.run_controllers(workloads=WorkloadTiming(start_seconds=1.0))
            with contextlib.ExitStack() as stack:
                edge = stack.enter_context(DnsEdge(RECORD))
                fronts = {
                    region: stack.enter_context(
                        OrdersFront(
                            lambda: kube_server.store,
                            root.parent / f"eks-tls-{region}",
                            region=region,
                            also_names=(edge.address,),
                        )
                    )
                    for region in (REGION, STANDBY)
                }
                route53 = seed_route53("failover", values={r: f.address for r, f in fronts.items()})
                resolver, nameserver = stack.enter_context(route53_dns(route53.zone))
                edge.start(nameserver)
                trusted = root.parent / "eks-trusted-cas.pem"
                trusted.write_text("".join(f.ca_file.read_text() for f in fronts.values()))
                _write_targets(root, kube, route53, edge, nameserver)
                environment = {k: v for k, v in os.environ.items() if not k.startswith("DRILLKIT_")}
                environment.update({k: os.environ[k] for k in SESSION_VARIABLES})
                environment.update(
                    {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "SSL_CERT_FILE": str(trusted)}
                )
                environment.pop("SSL_CERT_DIR", None)
                # Evidence of runs on this target is signed by a KMS key (ECC_NIST_P256).
                kms = client("kms")
                key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
                kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])
                stack.enter_context(digest_signing())
                yield World(root, environment, kube, seeded, route53, fronts, resolver, edge)
        finally:
            kube.close()
            kube_server.reset()


def _write_targets(
    root: Path, kube: KubeCluster, route53: SeededRoute53, edge: DnsEdge, nameserver: str
) -> None:
    target = eks_target(
        kube.target_settings(),
        route53={"hostedZoneId": route53.zone, "recordName": RECORD, "recordType": "A"},
    ) | {
        "variables": {
            "orders_url": edge.url,
            "orders_host": RECORD,
            "orders_port": "8443",
            "dns_server": nameserver,
        },
    }
    registry = {
        "apiVersion": "drillkit.io/v1",
        "kind": "TargetRegistry",
        "targets": {TARGET: target},
    }
    (root / "targets.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
