"""The per-target lock for Kubernetes targets: a ``coordination.k8s.io/v1`` Lease.

Two drills on one cluster may start on two machines, so their lock must live in
the cluster: one Lease per target, whose ``holderIdentity`` is ``drillkit/<run
id>`` and whose ``drillkit.io/holder`` annotation records who holds it (run id,
user, host, drill, pid, since when), so a refused run can name the holder. A
process cannot hold a Lease the way the kernel holds a ``flock``, so a Lease
expires instead: a daemon thread renews ``renewTime`` while the run lives, and a
crashed run's Lease may be taken once ``renewTime + leaseDurationSeconds`` has
passed. Every write carries the ``resourceVersion`` (and ``uid``) it was based
on, so two runs racing for one Lease cannot both win. The Kubernetes provider
calls ``LeaseLock.acquire`` from its ``acquire_lock``; the ``kubernetes`` client
is imported lazily, inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drillkit.errors import DrillError, PermanentError, TransientError
from drillkit.providers.base import LockHeld
from drillkit.providers.file_lock import describe_holder

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Lease
    from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

HOLDER_ANNOTATION = "drillkit.io/holder"
TARGET_ANNOTATION = "drillkit.io/target"
MANAGED_BY = ("app.kubernetes.io/managed-by", "drillkit")
IDENTITY_PREFIX = "drillkit/"
BODY_LIMIT = 256
"""Characters of an API response body kept in an error: enough to act on, too few to leak."""
_ATTEMPTS = 3
"""Read-decide-write rounds before a contended Lease is given up on."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LeaseLock:
    """A held Lease, renewed in the background until ``release``; see ``acquire``."""

    def __init__(
        self,
        api: _LeaseApi,
        lease: V1Lease,
        *,
        identity: str,
        holder: dict[str, Any],
        renew_every: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._api = api
        self._lease = lease
        self.identity = identity
        self.holder = holder
        self.duration = lease.spec.lease_duration_seconds if lease.spec else None
        self._renew_every = renew_every
        self._clock = clock
        self._mutex = threading.Lock()
        """Serializes renewal and release: both write ``self._lease``."""
        self._stop = threading.Event()
        self._lost = False
        self._released = False
        self._thread = threading.Thread(
            target=self._renew_until_stopped, name=f"drillkit-lease-{api.name}", daemon=True
        )

    @classmethod
    def acquire(
        cls,
        api_client: ApiClient,
        *,
        target: str,
        namespace: str,
        name: str,
        run_id: str,
        holder: dict[str, Any],
        ttl_seconds: float,
        renew_every: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> LeaseLock:
        """Take the Lease ``namespace/name`` for ``run_id``, or raise ``LockHeld``.

        A free, released (no holder) or expired Lease is taken; a Lease this run
        already holds is adopted (a retried acquire whose first answer was lost).
        ``clock`` returns an aware datetime; it stamps ``acquireTime``/``renewTime``
        and decides expiry. Renewal runs every ``renew_every`` (``ttl / 3``).
        """
        every = ttl_seconds / 3 if renew_every is None else renew_every
        if not 0 < every < ttl_seconds:
            raise ValueError(f"need 0 < renew_every ({every}) < ttl_seconds ({ttl_seconds})")
        now = clock or _utc_now
        api = _LeaseApi(api_client, namespace, name, timeout=min(10.0, max(1.0, every)))
        identity = IDENTITY_PREFIX + run_id
        since = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {"runId": run_id, **holder, "pid": os.getpid(), "since": since}
        for _ in range(_ATTEMPTS):
            current = api.read()
            if current is not None:
                _refuse_if_held(current, identity, target, api, now())
            claim = _claim(current, api, identity, record, target, math.ceil(ttl_seconds), now())
            won = api.create(claim) if current is None else api.replace(claim)
            if won is not None:  # None: another writer came first; read again and decide
                lock = cls(api, won, identity=identity, holder=record, renew_every=every, clock=now)
                lock._thread.start()
                log.info("run %s holds lease %s/%s for target %s", run_id, namespace, name, target)
                return lock
        raise LockHeld(
            f"target `{target}`: other writers kept changing lease {namespace}/{name} "
            f"while this run tried to take it ({_ATTEMPTS} attempts)",
            fix="try again in a few seconds",
        )

    @property
    def lost(self) -> bool:
        """True once a renewal found the Lease held by someone else, or deleted."""
        return self._lost

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "lease",
            "namespace": self._api.namespace,
            "name": self._api.name,
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            **self.holder,
        }

    def release(self) -> None:
        """Stop renewing; clear ``holderIdentity`` if the Lease is still ours. Idempotent.

        Never deletes the Lease and never touches another holder's. A vanished
        Lease (404) is already released; other API errors are raised (wrapped),
        and a later ``release`` tries again; meanwhile the Lease simply expires.
        """
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self._api.timeout * 2 + 1)
        with self._mutex:
            if not (self._released or self._lost):
                self._clear_holder()
            self._released = True

    def _clear_holder(self) -> None:
        for _ in range(_ATTEMPTS):
            assert self._lease.spec is not None
            self._lease.spec.holder_identity = None
            if self._api.replace(self._lease) is not None:
                log.info("run %s released lease %s/%s", self.holder["runId"], *self._api.where)
                return
            current = self._api.read()  # changed since our last write: still ours?
            if current is None or _identity(current) != self.identity:
                return
            self._lease = current
        log.warning("lease %s/%s kept changing under release; left to expire", *self._api.where)

    # -- renewal --------------------------------------------------------------------------

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._renew_every):
            try:
                with self._mutex:
                    if self._stop.is_set() or not self._renew():
                        return
            except Exception as error:  # the thread must survive; the next tick retries
                log.warning(
                    "run %s could not renew lease %s/%s, retrying in %.1f s: %s",
                    self.holder["runId"],
                    *self._api.where,
                    self._renew_every,
                    error,
                )

    def _renew(self) -> bool:
        """One renewal; ``False`` once the Lease is gone or held by someone else."""
        for _ in range(2):
            assert self._lease.spec is not None
            self._lease.spec.renew_time = self._clock()
            renewed = self._api.replace(self._lease)
            if renewed is not None:
                self._lease = renewed
                return True
            current = self._api.read()  # 409: someone wrote it; who holds it now?
            if current is None or _identity(current) != self.identity:
                self._lost = True
                log.warning(
                    "run %s lost lease %s/%s to %s",
                    self.holder["runId"],
                    *self._api.where,
                    _identity(current) if current is not None else "its deletion",
                )
                return False
            self._lease = current  # still ours (a label edit, say): renew on the new version
        return True


def _claim(
    current: V1Lease | None,
    api: _LeaseApi,
    identity: str,
    record: dict[str, Any],
    target: str,
    duration: int,
    now: datetime,
) -> V1Lease:
    """The Lease as this run holds it: ``current`` taken over, or a new one."""
    from kubernetes.client import V1Lease, V1LeaseSpec, V1ObjectMeta

    lease = current or V1Lease(
        api_version="coordination.k8s.io/v1",
        kind="Lease",
        metadata=V1ObjectMeta(name=api.name, namespace=api.namespace),
        spec=V1LeaseSpec(lease_transitions=0),
    )
    meta = lease.metadata or V1ObjectMeta(name=api.name, namespace=api.namespace)
    meta.labels = {**(meta.labels or {}), MANAGED_BY[0]: MANAGED_BY[1]}
    meta.annotations = {
        **(meta.annotations or {}),
        HOLDER_ANNOTATION: json.dumps(record, sort_keys=True),
        TARGET_ANNOTATION: target,
    }
    spec = lease.spec or V1LeaseSpec()
    if spec.holder_identity != identity:
        spec.acquire_time = now
        if current is not None:
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
    spec.holder_identity = identity
    spec.lease_duration_seconds = duration
    spec.renew_time = now
    lease.metadata, lease.spec = meta, spec
    return lease


def _refuse_if_held(
    lease: V1Lease, identity: str, target: str, api: _LeaseApi, now: datetime
) -> None:
    """Raise ``LockHeld`` unless the Lease is free, released, expired or ours."""
    spec = lease.spec
    holder = _identity(lease)
    if spec is None or not holder or holder == identity:
        return
    last = spec.renew_time or spec.acquire_time
    where = f"lease {api.namespace}/{api.name}"
    drillkit = holder.startswith(IDENTITY_PREFIX)
    record = _holder_record(lease)
    if drillkit and holder != IDENTITY_PREFIX + str(record.get("runId")):
        record = {"runId": holder.removeprefix(IDENTITY_PREFIX)}  # annotation missing or stale
    who = describe_holder(record) if drillkit else f"holderIdentity {holder}"
    message = f"target `{target}` is locked by another {'drill run' if drillkit else 'holder'}"
    if last is None or spec.lease_duration_seconds is None:
        raise LockHeld(
            f"{message} ({who}) ({where}, no renewTime: expiry unknown)",
            fix="wait for that run to finish; if it is surely gone, delete the lease: "
            f"kubectl -n {api.namespace} delete lease {api.name}",
        )
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    left = (last + timedelta(seconds=spec.lease_duration_seconds) - now).total_seconds()
    if left > 0:
        raise LockHeld(
            f"{message} ({who}) ({where}, expires in {math.ceil(left)} s)",
            fix="wait for that run to finish; a crashed run's lease can be taken after it "
            f"expires ({spec.lease_duration_seconds} s after its last renewal)",
        )


def _identity(lease: V1Lease) -> str:
    return (lease.spec.holder_identity if lease.spec else None) or ""


def _holder_record(lease: V1Lease) -> dict[str, Any]:
    raw = ((lease.metadata.annotations if lease.metadata else None) or {}).get(HOLDER_ANNOTATION)
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _micro_time(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC, never on a whole second.

    The API server parses a MicroTime as RFC 3339 with exactly six fractional
    digits, and the client writes datetimes with ``isoformat()``, which drops
    the fraction when the microseconds are zero: the server refuses such a
    write with 400. One microsecond later is the harmless way round it.
    """
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment if moment.microsecond else moment.replace(microsecond=1)


class _LeaseApi:
    """The Lease calls the lock makes; platform errors become drillkit errors here.

    ``read`` returns ``None`` for a missing Lease; ``create`` and ``replace``
    return ``None`` when another writer came first (409 ``AlreadyExists`` or
    ``Conflict``, or 404): the caller reads again and decides.
    """

    def __init__(self, api_client: ApiClient, namespace: str, name: str, timeout: float) -> None:
        from kubernetes.client import CoordinationV1Api

        self._api = CoordinationV1Api(api_client)
        self._host = str(api_client.configuration.host)
        self.namespace, self.name, self.timeout = namespace, name, timeout

    @property
    def where(self) -> tuple[str, str]:
        return self.namespace, self.name

    def read(self) -> V1Lease | None:
        return self._call(
            "read",
            lambda: self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=(self.timeout, self.timeout)
            ),
            tolerate=(404,),
        )

    def create(self, lease: V1Lease) -> V1Lease | None:
        self._sendable(lease)
        return self._call(
            "create",
            lambda: self._api.create_namespaced_lease(
                self.namespace, lease, _request_timeout=(self.timeout, self.timeout)
            ),
            tolerate=(409,),
        )

    def replace(self, lease: V1Lease) -> V1Lease | None:
        self._sendable(lease)
        return self._call(
            "update",
            lambda: self._api.replace_namespaced_lease(
                self.name, self.namespace, lease, _request_timeout=(self.timeout, self.timeout)
            ),
            tolerate=(404, 409),
        )

    @staticmethod
    def _sendable(lease: V1Lease) -> None:
        if lease.spec is not None:
            lease.spec.acquire_time = _micro_time(lease.spec.acquire_time)
            lease.spec.renew_time = _micro_time(lease.spec.renew_time)

    def _call(
        self, verb: str, call: Callable[[], V1Lease], *, tolerate: tuple[int, ...]
    ) -> V1Lease | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return call()
        except ApiException as error:
            if error.status in tolerate:
                return None
            raise self._wrap(verb, error) from error
        except HTTPError as error:  # refused, reset, timed out: worth another try
            raise TransientError(
                f"cannot reach the Kubernetes API at {self._host} to {verb} lease "
                f"{self.namespace}/{self.name}: {_cut(str(error))}",
                fix="drillkit retries this; if it persists, check the cluster's API endpoint",
            ) from error

    def _wrap(self, verb: str, error: ApiException) -> DrillError:
        """``TransientError`` for 429 and 5xx, else ``PermanentError``; the body cut short."""
        body = error.body.decode(errors="replace") if isinstance(error.body, bytes) else error.body
        error.body = _cut(body or "")  # the chained cause must not carry the full body either
        try:
            detail = str(json.loads(body or "")["message"])
        except (ValueError, KeyError, TypeError):
            detail = body or str(error.reason or "")
        status = error.status or 0
        message = (
            f"the Kubernetes API answered {status} {error.reason or ''} to {verb} lease "
            f"{self.namespace}/{self.name}: {_cut(detail)}"
        )
        if status == 429 or status >= 500:
            fix = f"drillkit retries this; if it persists, check the API server at {self._host}"
            return TransientError(message, fix=fix)
        fixes = {
            401: "refresh the credentials for this target's cluster (kubeconfig context, token)",
            403: "let drillkit's identity get, create and update leases.coordination.k8s.io "
            f"in namespace {self.namespace}",
            404: f"create namespace {self.namespace}, or point the target's lock elsewhere",
        }
        return PermanentError(message, fix=fixes.get(status))


def _cut(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "..."
