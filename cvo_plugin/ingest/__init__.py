"""The one write path for commerce data: stage records, then merge them set-based.

CSV imports, platform syncs, webhooks and the demo all store data through `Loader`, so every
source gets the same upsert, staleness and line-replacement rules (see `merge`).

    with Loader(session, shop.id) as loader:
        loader.add_orders(order_records)
        loader.add_lines(line_records)
        counts = loader.merge()

The loader never commits: the caller owns the transaction, which makes a whole file (or a
whole sync page plus its checkpoint) atomic.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session

from cvo_plugin.ingest.complete import merge_complete
from cvo_plugin.ingest.merge import MergeCounts, merge_staged
from cvo_plugin.ingest.staging import Stager, TextRows, text_rows
from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderBundle,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)

__all__ = ["Loader", "MergeCounts", "TextRows", "text_rows"]


class Loader:
    """Stages records for one shop on the session's connection and merges them on demand."""

    def __init__(self, session: Session, shop_id: int, batch_size: int = 10_000) -> None:
        self.session = session
        self.shop_id = shop_id
        self.batch_size = batch_size
        self._stager: Stager | None = None
        self._merged = False
        self._before: dict[str, int] = {}
        self._buffers: dict[str, list[Any]] = {}
        self.staged: dict[str, int] = {}

    def __enter__(self) -> Loader:
        self.session.flush()
        self._stager = Stager(self.session.connection())
        self._stager.create()
        self._merged = False  # staging tables holding merged rows: emptied on demand
        self._buffers = {
            table: []
            for table in ("stg_customers", "stg_products", "stg_variants", "stg_orders", "stg_lines")
        }
        self.staged = dict.fromkeys(self._buffers, 0)
        self._before = dict(self.staged)  # what was staged before the last merge
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stager is not None and exc_type is None:
            self._stager.drop()
        self._stager = None

    # --- staging --------------------------------------------------------------------------

    def _add(self, table: str, records: Iterable[Any]) -> None:
        buffer = self._buffers[table]
        for record in records:
            buffer.append(record)
            if len(buffer) >= self.batch_size:
                self._flush(table)

    def _staging(self) -> Stager:
        assert self._stager is not None, "use Loader as a context manager"
        if self._merged:
            self._stager.create()
            self._merged = False
        return self._stager

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if buffer:
            self.staged[table] += self._staging().append(table, buffer)
            buffer.clear()

    def add_customers(self, records: Iterable[CustomerRecord]) -> None:
        """Stage customers given in full."""
        self._add("stg_customers", records)

    def add_products(self, records: Iterable[ProductRecord]) -> None:
        """Stage products given in full."""
        self._add("stg_products", records)

    def add_variants(self, records: Iterable[VariantRecord]) -> None:
        """Stage variants given in full (their products must be staged or stored)."""
        self._add("stg_variants", records)

    def add_orders(self, records: Iterable[OrderRecord]) -> None:
        """Stage orders (several records of one order are merged)."""
        self._add("stg_orders", records)

    def add_lines(self, records: Iterable[LineRecord]) -> None:
        """Stage order lines; an order staged with lines gets exactly its staged lines."""
        self._add("stg_lines", records)

    def add_line(self, record: LineRecord) -> None:
        """Stage one order line (the fast path for row-per-line files)."""
        buffer = self._buffers["stg_lines"]
        buffer.append(record)
        if len(buffer) >= self.batch_size:
            self._flush("stg_lines")

    def add_order(self, order: OrderRecord, lines: Iterable[LineRecord]) -> None:
        """Stage one order with its lines."""
        self._add("stg_orders", (order,))
        self._add("stg_lines", lines)

    def add_bundles(self, bundles: Iterable[OrderBundle]) -> None:
        """Stage complete orders as connectors deliver them (order, lines, customer)."""
        for bundle in bundles:
            if bundle.customer is not None:
                self._add("stg_customers", (bundle.customer,))
            self.add_order(bundle.order, bundle.lines)

    @property
    def takes_text_rows(self) -> bool:
        """Whether `add_text_orders` works here (PostgreSQL)."""
        assert self._stager is not None, "use Loader as a context manager"
        return self._stager.dialect == "postgresql"

    def add_text_orders(self, orders: TextRows, lines: TextRows) -> None:
        """Stage orders and lines given as `text_rows` of `OrderRecord` and `LineRecord` fields,
        with times and amounts as the text a platform sent (PostgreSQL only). A bad time or
        amount fails the load."""
        stager = self._staging()
        self.staged["stg_orders"] += stager.append_text("stg_orders", orders)
        self.staged["stg_lines"] += stager.append_text("stg_lines", lines)

    # --- merge ----------------------------------------------------------------------------

    def merge(self, complete: bool = False) -> MergeCounts:
        """Merge everything staged so far into the shop's tables and empty the staging tables.

        `complete`: the load holds complete orders only, each once with all its lines (a bulk
        export), which PostgreSQL merges on a faster path (`cvo_plugin.ingest.complete`; a load
        that turns out otherwise takes the general one).
        """
        assert self._stager is not None, "use Loader as a context manager"
        for table in self._buffers:
            self._flush(table)
        stager = self._staging()
        given = sum(
            self.staged[t] - self._before[t] for t in ("stg_customers", "stg_products", "stg_variants")
        )
        counts = None
        if complete and stager.dialect == "postgresql" and not given:
            counts = merge_complete(self.session.connection(), self.shop_id)
        if counts is None:
            stager.index()
            counts = merge_staged(self.session.connection(), self.shop_id)
        self._merged = True
        self._before = dict(self.staged)
        self.session.expire_all()
        return counts
