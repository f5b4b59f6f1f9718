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

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session

from cvo_plugin.ingest.complete import create_named, merge_complete, prepare_complete
from cvo_plugin.ingest.merge import MergeCounts, line_key, merge_staged
from cvo_plugin.ingest.staging import Stager, TextRows, text_rows
from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderBundle,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)

__all__ = ["Loader", "MergeCounts", "TextRows", "collector_paused", "text_rows"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while millions of parsed objects come and go.

    Parsed JSON, CSV rows and records hold no reference cycles, so reference counting frees them;
    the collector would only re-scan the live batch again and again (it tripled the parsing time
    of the Shopify backfill, and costs a 1,000,000-line order import about 4 s).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Loader:
    """Stages records for one shop on the session's connection and merges them on demand."""

    def __init__(self, session: Session, shop_id: int, batch_size: int = 10_000) -> None:
        self.session = session
        self.shop_id = shop_id
        self.batch_size = batch_size
        self._stager: Stager | None = None
        self._merged = False
        self._prepared = self._named = False
        self._before: dict[str, int] = {}
        self._buffers: dict[str, list[Any]] = {}
        self.staged: dict[str, int] = {}
        self._keys = _LineKeys()

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
            if table == "stg_lines":
                self._keys.leave(record.order_platform_id)
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
            self._prepared = self._named = False
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
        buffer.append(self._keys.keyed(record))
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
        self._keys.stop()  # these lines are not seen one by one
        self.staged["stg_orders"] += stager.append_text("stg_orders", orders)
        self.staged["stg_lines"] += stager.append_text("stg_lines", lines)
        self._prepared = self._named = False

    def prepare(self) -> None:
        """Do what a `merge(complete=True)` can do before the load's turn to write (PostgreSQL:
        aggregate the staged lines; see `ingest.complete.prepare_complete`). Staging more rows
        after it undoes it."""
        stager = self._staging()
        if stager.dialect == "postgresql":
            prepare_complete(self.session.connection())
            self._prepared = True

    def create_named(self) -> None:
        """Write now the customers, products and variants that the staged complete orders name
        (PostgreSQL; see `ingest.complete.create_named`), so that the caller may commit them
        ahead of the orders; `merge(complete=True)` then leaves them out."""
        if not self._prepared:
            self.prepare()
        create_named(self.session.connection(), self.shop_id)
        self._named = True

    # --- merge ----------------------------------------------------------------------------

    def merge(self, complete: bool = False, before_general: Callable[[], Any] | None = None) -> MergeCounts:
        """Merge everything staged so far into the shop's tables and empty the staging tables.

        `complete`: the load holds complete orders only, each once with all its lines (a bulk
        export), which PostgreSQL merges on a faster path (`cvo_plugin.ingest.complete`; a load
        that turns out otherwise takes the general one, after `before_general` returns).
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
            counts = merge_complete(
                self.session.connection(),
                self.shop_id,
                prepared=self._prepared,
                named=self._named,
                unkeyed_lines=self._keys.unkeyed > 0,
            )
        if counts is None:
            if before_general is not None:
                before_general()
            stager.index()
            counts = merge_staged(self.session.connection(), self.shop_id)
        self._merged = True
        self._prepared = self._named = False
        self._before = dict(self.staged)
        self._keys = _LineKeys()
        self.session.expire_all()
        return counts


class _LineKeys:
    """Gives lines without a platform id their key (`merge.line_key`) as they are staged, so that
    the merge need not rank them. Only the first run of consecutive lines of an order is keyed
    here: its ranks are final, as nothing of the order was staged before it. Lines of an order
    that comes back later in the load (or arrives through `add_lines`) keep no key, and the merge
    ranks them among all the order's lines."""

    # Orders whose first run has ended, as bits of a hash table (8 MB, whatever the load): a false
    # "ended" only leaves the order's lines to the merge, which ranks them the same.
    _BITS = 1 << 26

    def __init__(self) -> None:
        self.order: str | None = None
        self.ranks: dict[tuple[str | None, str | None], int] = {}
        self.ended = b""  # allocated on the first order that ends (most loads are a few orders)
        self.keyable = False
        self.stopped = False
        self.unkeyed = 0  # lines left without a platform id, for the merge to rank

    def _end(self, order: str) -> None:
        if not self.ended:
            self.ended = bytearray(self._BITS // 8)
        bit = hash(order) & (self._BITS - 1)
        self.ended[bit >> 3] |= 1 << (bit & 7)

    def _has_ended(self, order: str) -> bool:
        if not self.ended:
            return False
        bit = hash(order) & (self._BITS - 1)
        return bool(self.ended[bit >> 3] & (1 << (bit & 7)))

    def stop(self) -> None:
        """Lines arrive unseen (as text rows): key no more lines in this load."""
        self.stopped = True
        self.keyable = False

    def leave(self, order: str) -> None:
        """An order's line arrives by another path: nothing of this order is keyed from now on."""
        if self.order is not None:
            self._end(self.order)
            self.order = None
        self._end(order)
        self.unkeyed += 1

    def keyed(self, line: LineRecord) -> LineRecord:
        """`line`, with its key when it has none and belongs to its order's first run."""
        order = line.order_platform_id
        if order != self.order:
            if self.order is not None:
                self._end(self.order)
            self.order = order
            self.ranks = {}
            self.keyable = not self.stopped and not self._has_ended(order)
        if not self.keyable:
            self.unkeyed += line.platform_id is None
            return line
        partition = (line.product_platform_id, line.variant_platform_id)
        rank = self.ranks.get(partition, 0) + 1
        self.ranks[partition] = rank
        if line.platform_id is not None:
            return line
        # platform_id is the fifth field (`_make` is cheaper than `_replace`, once per line).
        key = line_key(line.product_platform_id, line.variant_platform_id, rank)
        return LineRecord._make((*line[:4], key, *line[5:]))
