"""The Lease lock against a real HTTP Kubernetes API, through the real ``kubernetes`` client."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration, CoordinationV1Api, V1Lease
from kubernetes.client.exceptions import ApiException

from drillkit.errors import PermanentError, TransientError
from drillkit.providers.base import LockHeld
from drillkit.providers.kubernetes_lease import BODY_LIMIT, LeaseLock
from tests.support.kube_api import (  # noqa: F401 - the fixtures `kube_api` and `kube_client`
    LEASES,
    ApiError,
    KubeApiServer,
    ResourceStore,
    kube_api_fixture,
    kube_client_fixture,
)

NS, NAME, TARGET = "drillkit", "drillkit-lock-prod-eks", "prod-eks"
Acquire = Callable[..., LeaseLock]


@pytest.fixture
def acquire(kube_client: ApiClient) -> Iterator[Acquire]:
    """``LeaseLock.acquire`` for run ``run_id`` by ``user`` on ``host``; released after the test."""
    held: list[LeaseLock] = []

    def take(
        run_id: str = "01RUNA", user: str = "ann", host: str = "laptop-a", **options: Any
    ) -> LeaseLock:
        options.setdefault("ttl_seconds", 30)
        holder = {"user": user, "host": host, "drill": "restore-orders"}
        lock = LeaseLock.acquire(
            kube_client,
            target=TARGET,
            namespace=NS,
            name=NAME,
            run_id=run_id,
            holder=holder,
            **options,
        )
        held.append(lock)
        return lock

    yield take
    for lock in held:
        lock.release()


def read_lease(kube_client: ApiClient) -> V1Lease:
    return CoordinationV1Api(kube_client).read_namespaced_lease(NAME, NS)


def micro(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seed_lease(
    store: ResourceStore,
    *,
    run_id: str,
    renewed: datetime,
    duration: int = 10,
    transitions: int = 4,
) -> None:
    """A Lease another drillkit run wrote, last renewed at ``renewed``."""
    record = {
        "runId": run_id,
        "user": "bob",
        "host": "ci-7",
        "drill": "zone-outage",
        "pid": 4242,
        "since": "2024-05-01T10:00:00Z",
    }
    store.create(LEASES, NS, {
        "metadata": {"name": NAME, "annotations": {"drillkit.io/holder": json.dumps(record)}},
        "spec": {"holderIdentity": f"drillkit/{run_id}", "leaseDurationSeconds": duration, "acquireTime": micro(renewed), "renewTime": micro(renewed), "leaseTransitions": transitions},
    })  # fmt: skip


def hand_over(run_id: str) -> Callable[[ResourceStore], None]:
    """A store action: another drillkit run takes the Lease right now, as its own write would."""
    record = {
        "runId": run_id,
        "user": "carol",
        "host": "ci-9",
        "drill": "zone-outage",
        "pid": 77,
        "since": "2024-05-01T10:05:00Z",
    }

    def take(store: ResourceStore) -> None:
        def change(lease: dict[str, Any]) -> None:
            lease["metadata"].setdefault("annotations", {})["drillkit.io/holder"] = json.dumps(
                record
            )
            lease["spec"].update(
                holderIdentity=f"drillkit/{run_id}", renewTime=micro(datetime.now(UTC))
            )

        store.edit(LEASES, NS, NAME, change)

    return take


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- acquiring ----------------------------------------------------------------------------


def test_a_free_target_gets_a_lease_naming_its_holder_and_expiry(
    acquire: Acquire, kube_client: ApiClient
) -> None:
    before = datetime.now(UTC)
    lock = acquire(ttl_seconds=2.5)

    lease = read_lease(kube_client)
    assert lease.spec is not None and lease.metadata is not None
    assert lease.spec.holder_identity == "drillkit/01RUNA"
    assert lease.spec.lease_duration_seconds == 3
    assert lease.spec.lease_transitions == 0
    assert lease.spec.acquire_time is not None and lease.spec.renew_time is not None
    assert before - timedelta(seconds=1) <= lease.spec.acquire_time <= datetime.now(UTC)
    assert lease.metadata.labels == {"app.kubernetes.io/managed-by": "drillkit"}
    assert (
        lease.metadata.uid and lease.metadata.creation_timestamp and lease.metadata.resource_version
    )
    record = json.loads((lease.metadata.annotations or {})["drillkit.io/holder"])
    assert set(record) == {"runId", "user", "host", "drill", "pid", "since"}
    assert record["runId"] == "01RUNA" and record["user"] == "ann" and record["host"] == "laptop-a"
    assert lock.describe() == {
        "kind": "lease",
        "namespace": NS,
        "name": NAME,
        "holderIdentity": "drillkit/01RUNA",
        "leaseDurationSeconds": 3,
        **record,
    }


def test_a_second_run_is_refused_with_the_holders_run_user_host_and_lease(acquire: Acquire) -> None:
    acquire(run_id="01RUNA", user="ann", host="laptop-a", ttl_seconds=60)

    with pytest.raises(LockHeld) as refused:
        acquire(run_id="01RUNB", user="bob", host="ci-7")

    message = refused.value.message
    assert message.startswith(
        f"target `{TARGET}` is locked by another drill run (runId 01RUNA of drill restore-orders, user ann on host laptop-a (pid "
    )
    assert f"(lease {NS}/{NAME}, expires in 60 s)" in message
    assert refused.value.fix is not None and "can be taken after it expires" in refused.value.fix


def test_a_lease_held_by_something_else_names_its_holder_identity(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    kube_api.store.create(
        LEASES,
        NS,
        {
            "metadata": {"name": NAME},
            "spec": {
                "holderIdentity": "kube-controller-x",
                "leaseDurationSeconds": 15,
                "renewTime": micro(datetime.now(UTC)),
            },
        },
    )

    with pytest.raises(
        LockHeld, match=r"locked by another holder \(holderIdentity kube-controller-x\)"
    ):
        acquire()


def test_a_drillkit_holder_whose_annotation_is_stale_is_named_by_its_run_id(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    seed_lease(kube_api.store, run_id="01OLD", renewed=datetime.now(UTC))
    kube_api.store.edit(
        LEASES, NS, NAME, lambda lease: lease["spec"].update(holderIdentity="drillkit/01NEWER")
    )

    with pytest.raises(LockHeld, match=r"locked by another drill run \(runId 01NEWER\) \(lease "):
        acquire()


def test_an_expired_lease_is_taken_over_and_counts_a_transition(
    acquire: Acquire, kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    seed_lease(
        kube_api.store,
        run_id="01CRASHED",
        renewed=datetime.now(UTC) - timedelta(minutes=5),
        transitions=4,
    )

    acquire(run_id="01RUNA")

    spec = read_lease(kube_client).spec
    assert spec is not None and spec.acquire_time is not None
    assert spec.holder_identity == "drillkit/01RUNA"
    assert spec.lease_transitions == 5
    assert spec.acquire_time > datetime.now(UTC) - timedelta(seconds=5)


def test_a_takeover_that_loses_the_race_is_refused_naming_the_winner(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    seed_lease(kube_api.store, run_id="01CRASHED", renewed=datetime.now(UTC) - timedelta(minutes=5))
    kube_api.before_next(hand_over("01FASTER"), method="PUT")

    with pytest.raises(
        LockHeld,
        match=r"\(runId 01FASTER of drill zone-outage, user carol on host ci-9 .* expires in 10 s\)",
    ):
        acquire(run_id="01RUNA")

    put = next(r for r in kube_api.requests if r.method == "PUT")
    assert put.body["metadata"]["resourceVersion"] == "1"  # the version it read, now stale
    assert kube_api.store.get(LEASES, NS, NAME)["spec"]["holderIdentity"] == "drillkit/01FASTER"


def test_a_takeover_is_retried_when_a_change_leaves_the_lease_free(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    seed_lease(kube_api.store, run_id="01CRASHED", renewed=datetime.now(UTC) - timedelta(minutes=5))
    kube_api.before_next(
        lambda store: store.edit(
            LEASES, NS, NAME, lambda lease: lease["metadata"].update(labels={"team": "sre"})
        ),
        method="PUT",
    )

    acquire(run_id="01RUNA")

    stored = kube_api.store.get(LEASES, NS, NAME)
    assert stored["spec"]["holderIdentity"] == "drillkit/01RUNA"
    assert stored["metadata"]["labels"] == {
        "team": "sre",
        "app.kubernetes.io/managed-by": "drillkit",
    }


def test_a_lease_this_run_already_holds_is_adopted_without_a_transition(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    acquire(run_id="01RUNA")
    first = kube_api.store.get(LEASES, NS, NAME)["spec"]

    acquire(run_id="01RUNA")  # a retried acquire whose first answer was lost

    again = kube_api.store.get(LEASES, NS, NAME)["spec"]
    assert again["holderIdentity"] == "drillkit/01RUNA"
    assert again["leaseTransitions"] == 0 and again["acquireTime"] == first["acquireTime"]


def test_a_clock_on_a_whole_second_still_writes_a_micro_time_the_server_accepts(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    whole_second = datetime.now(UTC).replace(microsecond=0)

    acquire(clock=lambda: whole_second)

    assert kube_api.store.get(LEASES, NS, NAME)["spec"]["renewTime"] == micro(whole_second).replace(
        ".000000Z", ".000001Z"
    )


# -- renewal ------------------------------------------------------------------------------


def test_renewal_keeps_a_lease_alive_past_its_ttl(acquire: Acquire) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=1, renew_every=0.2)

    time.sleep(2)

    with pytest.raises(LockHeld, match="runId 01RUNA"):
        acquire(run_id="01RUNB")
    assert not lock.lost


def test_renewal_survives_api_errors_and_renews_at_the_next_tick(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=1, renew_every=0.2)
    kube_api.fail_next(503, count=3, method="PUT")

    time.sleep(1.5)

    renewed = datetime.fromisoformat(kube_api.store.get(LEASES, NS, NAME)["spec"]["renewTime"])
    assert datetime.now(UTC) - renewed < timedelta(seconds=0.5)
    assert not lock.lost
    assert len([r for r in kube_api.requests if r.method == "PUT"]) > 3  # the failed ones too
    with pytest.raises(LockHeld):
        acquire(run_id="01RUNB")


def test_a_run_whose_lease_was_taken_notices_at_its_next_renewal(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=1, renew_every=0.2)
    later = datetime.now(UTC) + timedelta(seconds=30)  # a competitor whose clock says A expired

    acquire(run_id="01RUNB", clock=lambda: later)

    assert wait_until(lambda: lock.lost)
    assert kube_api.store.get(LEASES, NS, NAME)["spec"]["holderIdentity"] == "drillkit/01RUNB"


# -- release ------------------------------------------------------------------------------


def test_release_clears_the_holder_so_the_next_run_gets_the_lease_at_once(
    acquire: Acquire, kube_client: ApiClient
) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=60)

    lock.release()

    spec = read_lease(kube_client).spec
    assert spec is not None and spec.holder_identity is None
    acquire(run_id="01RUNB")
    spec = read_lease(kube_client).spec
    assert (
        spec is not None
        and spec.holder_identity == "drillkit/01RUNB"
        and spec.lease_transitions == 1
    )


def test_release_after_someone_else_took_the_lease_leaves_theirs_alone(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=60)
    hand_over("01RUNB")(kube_api.store)

    lock.release()

    assert kube_api.store.get(LEASES, NS, NAME)["spec"]["holderIdentity"] == "drillkit/01RUNB"
    assert not [r for r in kube_api.requests if r.method == "DELETE"]


def test_release_is_idempotent_and_a_deleted_lease_is_already_released(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    lock = acquire(run_id="01RUNA", ttl_seconds=60)
    kube_api.store.delete(LEASES, NS, NAME)

    lock.release()
    lock.release()

    with pytest.raises(ApiError, match="not found"):  # a stale write must not bring it back
        kube_api.store.get(LEASES, NS, NAME)


# -- errors -------------------------------------------------------------------------------


def test_a_503_during_acquire_is_a_transient_error_with_the_body_cut_short(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    kube_api.fail_next(503, method="GET", message="overloaded " + "x" * 1000)

    with pytest.raises(TransientError) as failed:
        acquire()

    message = failed.value.message
    assert message.startswith(
        f"the Kubernetes API answered 503 Service Unavailable to read lease {NS}/{NAME}: overloaded x"
    )
    assert "x" * (BODY_LIMIT - len("overloaded ")) in message
    assert "x" * (BODY_LIMIT + 1) not in message
    cause = failed.value.__cause__
    assert isinstance(cause, ApiException) and cause.status == 503
    assert (
        cause.body is not None
        and len(cause.body) <= BODY_LIMIT + 3
        and "x" * BODY_LIMIT not in str(cause)
    )


def test_a_forbidden_write_is_a_permanent_error_that_says_which_permission(
    acquire: Acquire, kube_api: KubeApiServer
) -> None:
    kube_api.fail_next(
        403,
        method="POST",
        message='leases.coordination.k8s.io is forbidden: User "drill" cannot create',
    )

    with pytest.raises(PermanentError) as failed:
        acquire()

    assert "403" in failed.value.message and 'User "drill" cannot create' in failed.value.message
    assert (
        failed.value.fix is not None
        and f"leases.coordination.k8s.io in namespace {NS}" in failed.value.fix
    )


def test_an_unreachable_api_server_is_a_transient_error(kube_api: KubeApiServer) -> None:
    url = kube_api.url
    kube_api.stop()
    with (
        ApiClient(Configuration(host=url)) as client,
        pytest.raises(TransientError, match=f"cannot reach the Kubernetes API at {url}"),
    ):
        LeaseLock.acquire(
            client,
            target=TARGET,
            namespace=NS,
            name=NAME,
            run_id="01RUNA",
            holder={},
            ttl_seconds=5,
        )


def test_a_renewal_interval_not_shorter_than_the_ttl_is_refused(kube_client: ApiClient) -> None:
    with pytest.raises(ValueError, match="renew_every"):
        LeaseLock.acquire(
            kube_client,
            target=TARGET,
            namespace=NS,
            name=NAME,
            run_id="01RUNA",
            holder={},
            ttl_seconds=5,
            renew_every=5,
        )


def test_importing_the_module_does_not_import_the_kubernetes_client() -> None:
    code = "import sys, drillkit.providers.kubernetes_lease; print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
