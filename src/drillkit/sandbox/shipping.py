"""Asynchronous shipping: the standby's store receives the active store's new rows every
``shippingInterval`` seconds.

Asynchronous on purpose: a write acknowledged by the active region reaches the
other region only at the next shipment, so losing the active region loses
whatever was written since, which is the RPO a region failover really has.
Shipping runs only while both regions are up and the namespace exists; when
the direction changes (failover, failback) the cursor restarts from what the
receiving store already holds.
"""

from __future__ import annotations

from drillkit.sandbox import store
from drillkit.sandbox.layout import SandboxLayout


class Shipper:
    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout
        self._route: tuple[str, str, int] | None = None
        self._cursor = 0
        self.shipped = 0

    def ship_once(self, source: str, target: str, generation: int = 0) -> int:
        """Copy rows written in ``source`` since the last shipment into ``target``.

        ``generation`` changes when a store was replaced wholesale (restore,
        failback); the cursor then restarts from what ``target`` holds.
        """
        source_path = store.store_path(self.layout.root, source)
        target_path = store.store_path(self.layout.root, target)
        if not source_path.exists() or not target_path.exists():
            self._route = None
            return 0
        with store.connect(target_path) as receiving:
            if self._route != (source, target, generation):
                self._route = (source, target, generation)
                self._cursor = store.max_rowid(receiving)
            with store.connect(source_path) as sending:
                rows = store.rows_after(sending, self._cursor)
            if rows:
                store.apply_rows(receiving, rows)
                self._cursor = int(rows[-1][0])
                self.shipped += len(rows)
        return len(rows)
