"""The HTTP RPO canary against a real local "orders-like" service, and once through the engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drillkit.engine.journal import read_journal
from drillkit.engine.plan import make_plan
from drillkit.engine.progress import SilentProgress
from drillkit.engine.runner import Runner, RunOptions
from drillkit.errors import PermanentError, TransientError
from drillkit.probes.canary import RpoCanaryHandler
from drillkit.probes.canary_http import HttpCanaryChannel
from drillkit.providers.base import StepContext
from drillkit.providers.registry import PROVIDERS
from drillkit.spec.probes import RpoCanaryProbe
from drillkit.spec.repository import DrillRepository
from drillkit.spec.restores import RESTORE_KINDS
from tests.support import test_provider
from tests.support.canary_service import CanaryService
from tests.support.lab import TARGET, Lab
from tests.support.probe_context import ProbeContext as Context

CTX = Context()


def canary(url: str, **http: Any) -> RpoCanaryProbe:
    return RpoCanaryProbe.model_validate(
        {"type": "rpo-canary", "http": {"writeUrl": url, "readUrl": url, **http}}
    )


@pytest.fixture
def service() -> Iterator[CanaryService]:
    with CanaryService() as running:
        yield running


@pytest.fixture
def handler() -> Iterator[HttpCanaryChannel]:
    made = HttpCanaryChannel()
    yield made
    made.close()


def test_writes_are_acknowledged_and_read_back_by_seq(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    for seq in (1, 2, 3):
        handler.write(intent, "run-a", seq, CTX)
    assert service.seqs("run-a") == [1, 2, 3]
    assert sorted(handler.read(intent, "run-a", CTX)) == [1, 2, 3]
    assert any("runId=run-a" in path and "canary=true" in path for _, path in service.requests)


def test_records_of_another_run_are_not_returned_even_when_the_service_lists_them_all(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    handler.write(intent, "run-a", 1, CTX)
    handler.write(intent, "run-b", 2, CTX)
    service.filter_by_run = False
    service.plain_list = True
    assert handler.read(intent, "run-a", CTX) == [1]
    assert handler.read(intent, "run-b", CTX) == [2]


def test_records_lost_by_the_service_are_missing_from_the_read(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    handler.write(intent, "run-a", 1, CTX)
    time.sleep(0.3)
    handler.write(intent, "run-a", 2, CTX)
    handler.write(intent, "run-a", 3, CTX)
    service.lose_last(0.2)
    assert handler.read(intent, "run-a", CTX) == [1]


def test_a_503_write_raises_transient_with_a_short_message(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    service.status = 503
    with pytest.raises(TransientError) as raised:
        handler.write(canary(service.url), "run-a", 1, CTX)
    assert "503" in raised.value.message and "POST" in raised.value.message
    assert raised.value.message.count("x") <= 120


def test_a_400_write_raises_permanent(service: CanaryService, handler: HttpCanaryChannel) -> None:
    service.status = 400
    with pytest.raises(PermanentError, match="400"):
        handler.write(canary(service.url), "run-a", 1, CTX)


def test_a_429_write_is_worth_retrying(service: CanaryService, handler: HttpCanaryChannel) -> None:
    service.status = 429
    with pytest.raises(TransientError, match="429"):
        handler.write(canary(service.url), "run-a", 1, CTX)


def test_a_down_service_raises_transient_on_write_and_works_again_when_back(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    handler.write(intent, "run-a", 1, CTX)
    service.stop()
    with pytest.raises(TransientError, match="cannot reach"):
        handler.write(intent, "run-a", 2, CTX)
    service.start()
    handler.write(intent, "run-a", 3, CTX)
    assert handler.read(intent, "run-a", CTX) == [1, 3]


def test_cleanup_removes_this_runs_records_only(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    handler.write(intent, "run-a", 1, CTX)
    handler.write(intent, "run-b", 1, CTX)
    handler.cleanup(intent, "run-a", CTX)
    assert service.seqs("run-a") == [] and service.seqs("run-b") == [1]
    handler.cleanup(intent, "run-a", CTX)  # nothing left: 404 is fine


def test_cleanup_uses_the_delete_url_and_refuses_a_failure(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url, deleteUrl=service.url + "/purge")
    handler.write(intent, "run-a", 1, CTX)
    handler.cleanup(intent, "run-a", CTX)
    assert ("DELETE", "/orders/purge?runId=run-a") in service.requests
    service.status = 503
    with pytest.raises(PermanentError, match="cleanup"):
        handler.cleanup(intent, "run-a", CTX)


def test_a_paginated_listing_is_read_to_the_end(
    service: CanaryService, handler: HttpCanaryChannel
) -> None:
    intent = canary(service.url)
    for seq in range(1, 24):
        service.add("run-a", seq)
    service.add("run-b", 99)
    service.page_size = 5
    assert handler.read(intent, "run-a", CTX) == list(range(1, 24))
    assert sum(1 for method, _ in service.requests if method == "GET") == 5


def test_the_rpo_canary_handler_sends_http_canaries_to_this_channel(
    service: CanaryService, tmp_path: Path
) -> None:
    dispatcher = RpoCanaryHandler(provider=None)
    try:
        dispatcher.write(canary(service.url), "run-a", 1, CTX)
        database = RpoCanaryProbe.model_validate(
            {"type": "rpo-canary", "database": {"url": f"sqlite:///{tmp_path / 'c.db'}"}}
        )
        dispatcher.write(database, "run-a", 2, CTX)
        assert service.seqs("run-a") == [1]  # the database canary did not go over HTTP
        assert dispatcher.read(canary(service.url), "run-a", CTX) == [1]
        assert dispatcher.read(database, "run-a", CTX) == [2]
    finally:
        dispatcher.close()


# --- Through the engine -----------------------------------------------------------------------


class HttpCanaryProvider(test_provider.TestProvider):
    """The test provider without its own canary, so the generic HTTP canary is used.

    Its faults also make the canary service lose the last ``LOSE_SECONDS`` of
    records, as a restore from a slightly old backup would.
    """

    name = "test-http-canary"
    service: CanaryService | None = None
    LOSE_SECONDS = 0.5


class _LosingFault(test_provider._Fault):
    def apply(self, intent: Any, undo: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        result = super().apply(intent, undo, ctx)
        assert HttpCanaryProvider.service is not None
        HttpCanaryProvider.service.lose_last(HttpCanaryProvider.LOSE_SECONDS)
        return result


HttpCanaryProvider.faults.register("zone-outage", _LosingFault)
for _kind in RESTORE_KINDS:
    HttpCanaryProvider.restores.register(_kind, test_provider._Restore)
HttpCanaryProvider.probes.register("http", test_provider._Probe)
PROVIDERS.register(HttpCanaryProvider)

DRILL_STEPS = """\
- name: soak
  wait: 1200ms
- name: lose-zone-a
  fault: {type: zone-outage, zone: a}
- name: recover
  restore: {type: wait-for-recovery, namespace: orders}
"""
MEASURE = """\
rto:
  probe: {type: http, url: "${orders_url}/readyz"}
  interval: 50ms
  stableFor: 2
rpo:
  canary:
    type: rpo-canary
    interval: 100ms
    http: {writeUrl: "${orders_url}", readUrl: "${orders_url}"}
"""


def test_the_engine_measures_rpo_through_the_generic_http_canary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: CanaryService
) -> None:
    monkeypatch.setenv("DRILLKIT_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(HttpCanaryProvider, "service", service)
    lab = Lab.create(tmp_path / "lab", recoverSeconds=0.1)
    targets = lab.root / "targets.yaml"
    targets.write_text(
        targets.read_text()
        .replace("provider: test", f"provider: {HttpCanaryProvider.name}")
        .replace("http://orders.lab.test", service.url)
    )
    lab.add_drill("loss", DRILL_STEPS, objectives="rto: 2m, rpo: 5s", measure=MEASURE)

    repo = DrillRepository.discover(lab.root)
    target = repo.target(TARGET)
    provider = PROVIDERS.get(target.provider)(TARGET, target)
    assert isinstance(provider.canary_handler("rpo-canary"), RpoCanaryHandler)
    runner = Runner(
        make_plan(repo.load_named("loss"), TARGET, target),
        provider,
        RunOptions(output_dir=lab.root / "reports", undo_grace_seconds=2.0),
        SilentProgress(),
    )
    result = runner.run()

    summary = result.summary
    assert summary.verdict == "passed", summary.to_json()
    # 0.5 s really lost; one 100 ms interval plus scheduling slack on a busy CI box.
    assert summary.rpo_seconds is not None and 0.3 <= summary.rpo_seconds <= 1.1
    assert summary.canary_writes_lost is not None and 2 <= summary.canary_writes_lost <= 7
    events = read_journal(result.run_dir / "journal.jsonl").events
    read_back = [e for e in events if e.type == "canary-read"]
    assert len(read_back) == 1 and read_back[0].data["survivors"][0] == 1
    assert [e.data["ok"] for e in events if e.type == "canary-cleanup"] == [True]
    assert service.records == []  # this run's records were removed afterwards
