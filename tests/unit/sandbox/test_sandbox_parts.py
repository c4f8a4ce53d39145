"""Sandbox parts on their own: DNS answers follow the desired state, shipping is
asynchronous and restartable, backups snapshot and restore real SQLite files."""

from __future__ import annotations

import socket
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from drillkit.sandbox import store
from drillkit.sandbox.backup_catalog import SandboxBackupCatalog
from drillkit.sandbox.backup_schedule import restore_backup, take_backup
from drillkit.sandbox.desired_state import change_desired, read_desired
from drillkit.sandbox.dns_server import SandboxDnsServer
from drillkit.sandbox.layout import SandboxLayout
from drillkit.sandbox.secret_store import SandboxSecretStore
from drillkit.sandbox.shipping import Shipper
from drillkit.sandbox.topology import DNS_NAME, NAMESPACE, SCHEDULE


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ask(port: int, name: str, kind: str = "A") -> dns.message.Message:
    query = dns.message.make_query(name, getattr(dns.rdatatype, kind))
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=2)


@pytest.fixture
def layout(tmp_path: Path) -> SandboxLayout:
    return SandboxLayout(tmp_path / "sandbox")


def write_orders(layout: SandboxLayout, region: str, *seqs: int) -> None:
    with store.connect(store.store_path(layout.root, region), create=True) as connection:
        for seq in seqs:
            store.insert(connection, {"runId": "r", "seq": seq, "canary": True})


def seqs_in(layout: SandboxLayout, region: str) -> list[int]:
    with store.connect(store.store_path(layout.root, region)) as connection:
        return [int(row["seq"]) for row in store.select(connection, "r")]


def test_the_dns_record_follows_the_active_region(layout: SandboxLayout) -> None:
    port = free_udp_port()
    server = SandboxDnsServer(layout, port, ttl=1)
    server.start()
    try:
        before = ask(port, DNS_NAME)
        with change_desired(layout) as desired:
            desired.active_region = "standby"
        after = ask(port, DNS_NAME)
        txt = ask(port, DNS_NAME, "TXT")
        unknown = ask(port, "other.sandbox.drillkit.test")
    finally:
        server.stop()

    assert before.answer[0][0].to_text() == "127.0.10.1"
    assert after.answer[0][0].to_text() == "127.0.20.1"
    assert after.answer[0].ttl == 1
    assert txt.answer[0][0].to_text() == '"region=standby"'
    assert unknown.rcode() == dns.rcode.NXDOMAIN


def test_shipping_copies_only_new_rows_and_restarts_after_a_store_is_replaced(
    layout: SandboxLayout,
) -> None:
    write_orders(layout, "primary", 1, 2)
    write_orders(layout, "standby")
    shipper = Shipper(layout)

    assert shipper.ship_once("primary", "standby") == 2
    write_orders(layout, "primary", 3)
    assert seqs_in(layout, "standby") == [1, 2]  # not yet: shipping is asynchronous
    assert shipper.ship_once("primary", "standby") == 1
    assert seqs_in(layout, "standby") == [1, 2, 3]

    # Failback: the primary store is replaced by a copy of the standby; a new generation
    # restarts the cursor from what the receiving store holds.
    write_orders(layout, "standby", 4)
    store.snapshot(
        store.store_path(layout.root, "standby"), store.store_path(layout.root, "primary")
    )
    write_orders(layout, "primary", 5)
    assert shipper.ship_once("primary", "standby", generation=1) == 1
    assert seqs_in(layout, "standby") == [1, 2, 3, 4, 5]


def test_a_backup_restores_data_and_secrets_and_loses_what_came_after(
    layout: SandboxLayout,
) -> None:
    write_orders(layout, "primary", 1, 2)
    SandboxSecretStore(layout).put("orders-db", {"password": b"pw"}, namespace=NAMESPACE)
    backup = take_backup(layout, "primary")
    write_orders(layout, "primary", 3)
    for region in ("primary", "standby"):
        store.remove(store.store_path(layout.root, region))
    (layout.secrets / NAMESPACE / "orders-db.json").unlink()

    restore_backup(layout, backup.name)

    assert backup.phase == "Completed" and backup.namespaces == (NAMESPACE,)
    assert seqs_in(layout, "primary") == [1, 2]
    assert seqs_in(layout, "standby") == [1, 2]
    assert SandboxSecretStore(layout).value("orders-db", "password", namespace=NAMESPACE) == b"pw"
    newest = SandboxBackupCatalog(layout).newest_completed(SCHEDULE, [NAMESPACE])
    assert newest is not None and newest.name == backup.name


def test_a_lost_store_is_not_silently_recreated_empty(layout: SandboxLayout) -> None:
    with pytest.raises(FileNotFoundError), store.connect(store.store_path(layout.root, "primary")):
        pass


def test_the_desired_state_round_trips_and_names_every_fault(layout: SandboxLayout) -> None:
    with change_desired(layout) as desired:
        desired.down_zones.append("primary/a")
        desired.namespace_present = False
        desired.active_region = "standby"

    state = read_desired(layout)

    assert state.faults == ["zone primary/a down", "namespace orders deleted", "traffic on standby"]
    assert state.node_down("primary-a1", "primary", "a")
    assert not state.node_down("primary-b1", "primary", "b")
