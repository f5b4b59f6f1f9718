"""Syncing a Shopify shop: the backfill through bulk exports, then incremental pages.

Per resource (products, customers, orders) a `SyncState` row says where the sync stands:

- **Backfill** (first sync, or `full`): one bulk export per resource, all three started at once
  (Shopify runs up to five per shop). Each finished export is streamed and stored a batch of
  root objects at a time; the number of roots stored is checkpointed with each batch, in the
  same transaction, so a killed backfill resumes after the last stored batch (the export's
  file stays available for a week) and stores every object exactly once. When the exports are
  still running after `bulk_wait_s`, the run ends with `waiting`: the `bulk_operations/finish`
  webhook or the next scheduled sync resumes it.
- **Incremental** (STYLE rule 11): `until` is frozen at the start; each resource is paged by
  `updated_at` from its cursor (less `OVERLAP`, for Shopify's search index lag) to `until`;
  each page is stored with the checkpoint `min(until, newest updated_at seen)`. A delta of more
  than `bulk_threshold` orders goes through a bulk export limited to the window instead.

Every batch is written through `cvo_plugin.ingest.Loader` (upserts; older updates ignored), then
redactions are re-applied. A shop uninstalled mid-sync stops the sync at the next batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from connectors.shopify import bulk
from connectors.shopify.bulk import BulkOperation
from connectors.shopify.client import GraphQLClient
from connectors.shopify.errors import Permanent, ShopifyError, Transient
from connectors.shopify.mapping import (
    customer_from_graphql,
    order_from_graphql,
    order_rows_from_graphql,
    product_from_graphql,
)
from connectors.shopify.shapes import LineItemNode, OrderNode
from connectors.shopify.streams import CustomersStream, OrdersStream, ProductsStream, Stream, window_search
from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader, TextRows, collector_paused, text_rows
from cvo_plugin.models import Shop, SyncState
from cvo_plugin.services.privacy import reapply_redactions

RESOURCES = ("products", "customers", "orders")
OVERLAP = timedelta(minutes=10)
BATCH_ROOTS = {"products": 1_000, "customers": 10_000, "orders": 10_000}
WEIGHTS = {"products": 0.1, "customers": 0.2, "orders": 0.7}

Progress = Callable[[float, str | None], None]


class ShopInactive(RuntimeError):
    """The shop was uninstalled while its sync ran."""


@dataclass
class SyncSummary:
    """What a sync run did."""

    mode: str = "incremental"
    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESOURCES, 0))
    waiting: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.stored.values())

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "stored": dict(self.stored), "waiting": list(self.waiting)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _stage(loader: Loader, resource: str, records: list[Any]) -> None:
    if resource == "orders":
        loader.add_bundles(records)
    elif resource == "customers":
        loader.add_customers(records)
    else:
        for product, variants in records:
            loader.add_products((product,))
            loader.add_variants(variants)


@dataclass
class _TextOrders:
    """A batch of exported orders as text rows (see `Loader.add_text_orders`)."""

    orders: TextRows
    lines: TextRows

    def __len__(self) -> int:
        return self.orders.count


def _text_orders(chunk: list[tuple[OrderNode, list[LineItemNode]]]) -> _TextOrders:
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    for node, children in chunk:
        order, order_lines = order_rows_from_graphql(node, children)
        orders.append(order)
        lines.extend(order_lines)
    return _TextOrders(text_rows(orders), text_rows(lines))


def _map_bulk(resource: str, item: tuple[Any, list[Any]]) -> Any:
    node, children = item
    if resource == "orders":
        return order_from_graphql(node, children)
    if resource == "customers":
        return customer_from_graphql(node)
    return product_from_graphql(node, children)


class ShopifySync:
    """One sync run of one shop."""

    def __init__(
        self,
        database: Database,
        client: GraphQLClient,
        shop_id: int,
        *,
        progress: Progress | None = None,
        batch_roots: dict[str, int] | None = None,
        bulk_wait_s: float = 20 * 60,
        bulk_threshold: int = 2_000,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.client = client
        self.shop_id = shop_id
        self.progress = progress or (lambda fraction, message: None)
        self.batch_roots = {**BATCH_ROOTS, **(batch_roots or {})}
        self.bulk_wait_s = bulk_wait_s
        self.bulk_threshold = bulk_threshold
        self.sleep = sleep
        self.clock = clock
        self.streams: dict[str, Stream[Any]] = {
            "products": ProductsStream(client),
            "customers": CustomersStream(client),
            "orders": OrdersStream(client),
        }
        self._done: dict[str, float] = dict.fromkeys(RESOURCES, 0.0)

    # --- the run ----------------------------------------------------------------------------

    def run(self, full: bool = False) -> SyncSummary:
        """Sync every resource: bulk exports where needed (started together), pages otherwise."""
        until = self.clock()
        summary = SyncSummary()
        with self.database.session() as session:
            self._ensure_active(session)
            states = {r: self._state(session, r) for r in RESOURCES}
            plans = {r: self._plan(states[r], full) for r in RESOURCES}
        if any(kind == "backfill" for kind, _ in plans.values()):
            summary.mode = "backfill"
        operations: dict[str, BulkOperation] = {}
        for resource, (kind, search) in plans.items():
            if kind in ("backfill", "bulk"):
                operations[resource] = self._start_or_resume(resource, until, search)
        for resource in RESOURCES:
            if resource in operations:
                self._finish_bulk(resource, operations[resource], summary)
            else:
                self._page(resource, plans[resource][1], until, summary)
        self.progress(1.0, "waiting for Shopify's export" if summary.waiting else "sync finished")
        return summary

    def _plan(self, state: SyncState, full: bool) -> tuple[str, Any]:
        """What to do for one resource: ("backfill" | "bulk" | "pages", search or since)."""
        pending = (state.extra or {}).get("bulk")
        if pending:
            return ("bulk" if pending.get("search") else "backfill"), pending.get("search")
        if full or state.cursor is None:
            return "backfill", None
        since = _from_iso(state.cursor)
        assert since is not None
        since -= OVERLAP
        if state.resource == "orders" and self.bulk_threshold:
            until = self.clock()
            if self.streams["orders"].count(since, until) > self.bulk_threshold:  # type: ignore[attr-defined]
                return "bulk", window_search(since, until)
        return "pages", since

    # --- bulk exports -----------------------------------------------------------------------

    def _start_or_resume(self, resource: str, until: datetime, search: str | None) -> BulkOperation:
        with self.database.session() as session:
            state = self._state(session, resource)
            pending = (state.extra or {}).get("bulk")
        if pending:
            try:
                operation = bulk.fetch(self.client, pending["id"])
                if operation.status not in ("FAILED", "CANCELED", "EXPIRED"):
                    return operation
            except Permanent:
                pass  # Shopify no longer knows it: start again (upserts make repeats harmless)
            search = pending.get("search")
            until = _from_iso(pending.get("until")) or until
        operation = bulk.start(self.client, resource, search)
        with self.database.session() as session:
            state = self._state(session, resource, lock=True)
            state.extra = {
                **(state.extra or {}),
                "bulk": {"id": operation.id, "until": _iso(until), "search": search, "roots_done": 0},
            }
            state.mode = "backfill" if search is None else "incremental"
            state.status = "running"
            state.started_at = self.clock()
            state.records_synced = 0
            state.records_total = None
            state.last_error = None
        return operation

    def _finish_bulk(self, resource: str, operation: BulkOperation, summary: SyncSummary) -> None:
        if not operation.finished:
            self.progress(self._fraction(), f"Shopify is preparing the {resource} export")
        # Also when it looks finished: the answer that started it carries no file URL or counts.
        operation = bulk.wait(self.client, operation.id, timeout_s=self.bulk_wait_s, sleep=self.sleep)
        if not operation.finished:
            summary.waiting.append(resource)
            self._note(resource, status="waiting", error=None)
            return
        if not operation.completed:
            code = operation.error_code or "no reason given"
            reason = f"Shopify's {resource} export ended {operation.status} ({code})"
            self._clear_pending(resource, reason + "; the next sync starts it again")
            raise Transient(reason)
        self._import(resource, operation, summary)

    def _import(self, resource: str, operation: BulkOperation, summary: SyncSummary) -> None:
        with self.database.session() as session:
            state = self._state(session, resource, lock=True)
            pending = dict((state.extra or {})["bulk"])
            state.records_total = operation.root_object_count
        done = int(pending.get("roots_done") or 0)
        total = max(operation.root_object_count, 1)
        if operation.url and done < operation.root_object_count:
            # Reading and mapping the next batch (this thread) overlaps with storing the previous
            # ones (writer threads, mostly waiting on the database). On PostgreSQL two writers
            # take turns: one stages its batch while the other merges. Batches merge and commit in
            # order, one at a time, each with its checkpoint.
            writers = 2 if self.database.engine.dialect.name == "postgresql" else 1
            with (
                collector_paused(),
                bulk.open_result(operation.url) as stream,
                ThreadPoolExecutor(writers, "shopify-writer") as pool,
            ):
                objects: Iterator[Any] = (
                    bulk.read_orders(stream, skip_roots=done)
                    if resource == "orders"
                    else bulk.read_objects(stream, skip_roots=done)
                )
                in_flight: deque[Future[None]] = deque()
                named: threading.Event | None = None
                as_text = resource == "orders" and self.database.engine.dialect.name == "postgresql"
                for chunk in _batched(objects, self.batch_roots[resource]):
                    records: Any = (
                        _text_orders(chunk) if as_text else [_map_bulk(resource, item) for item in chunk]
                    )
                    while len(in_flight) >= writers:
                        in_flight.popleft().result()  # committed (or its error raised)
                    previous = in_flight[-1] if in_flight else None
                    if isinstance(records, _TextOrders):
                        named, previous_named = threading.Event(), named
                        job = pool.submit(
                            self._store_text_batch, records, total, summary, previous, previous_named, named
                        )
                    else:
                        job = pool.submit(self._store_batch, resource, records, total, summary, previous)
                    in_flight.append(job)
                while in_flight:
                    in_flight.popleft().result()
        with self.database.session() as session:
            state = self._state(session, resource, lock=True)
            extra = dict(state.extra or {})
            finished = extra.pop("bulk")
            state.extra = {**extra, "last_export": finished["id"]}
            self._succeeded(state, _from_iso(finished["until"]))
        self._done[resource] = 1.0

    def _store_batch(
        self, resource: str, records: Any, total: int, summary: SyncSummary, previous: Future[None] | None
    ) -> None:
        """Store one batch of an export with its checkpoint (the count of roots stored), staged
        at once but merged only once the `previous` batch is committed (its failure is this
        batch's too)."""
        with self.database.session() as session:
            self._without_disk_wait(session)
            self._ensure_active(session)
            self._store(session, resource, records, before_merge=previous.result if previous else None)
            done = self._checkpoint(session, resource, len(records))
        self._stored(resource, len(records), done, total, summary)

    def _store_text_batch(
        self,
        records: _TextOrders,
        total: int,
        summary: SyncSummary,
        previous: Future[None] | None,
        previous_named: threading.Event | None,
        named: threading.Event,
    ) -> None:
        """Store one batch of the orders export on PostgreSQL, in two transactions on one
        connection. The first stages the batch and, in batch order (after `previous_named`),
        writes and commits the customers, products and variants it names. The second merges the
        orders and lines, side by side with the previous batch (they share no rows), and commits
        with the checkpoint once the `previous` batch has committed (its failure is this
        batch's too). Every wait is on an earlier batch, while holding no lock it could need."""
        try:
            with (
                self.database.engine.connect() as connection,
                Session(bind=connection, expire_on_commit=False) as session,
            ):
                with Loader(session, self.shop_id) as loader:
                    self._without_disk_wait(session)
                    self._ensure_active(session)
                    loader.add_text_orders(records.orders, records.lines)
                    loader.prepare()
                    if previous_named is not None:
                        previous_named.wait()
                    loader.create_named()
                    session.commit()  # the staged rows stay: temporary tables of this connection
                    named.set()
                    self._without_disk_wait(session)
                    # A bulk export's orders come complete, once each, with all their lines.
                    loader.merge(complete=True, before_general=previous.result if previous else None)
                    if previous is not None:
                        previous.result()
                    reapply_redactions(session, self.shop_id)
                    done = self._checkpoint(session, "orders", len(records))
                session.commit()
        finally:
            named.set()
        self._stored("orders", len(records), done, total, summary)

    def _without_disk_wait(self, session: Session) -> None:
        if self.database.engine.dialect.name == "postgresql":
            # The batch and its checkpoint commit together: should the server crash before the
            # commit reaches disk, both are lost and the resumed import repeats the batch. So
            # the commit need not wait for the disk.
            session.execute(text("SET LOCAL synchronous_commit = off"))

    def _checkpoint(self, session: Session, resource: str, count: int) -> int:
        state = self._state(session, resource, lock=True)
        done = int(state.extra["bulk"]["roots_done"]) + count
        state.extra = {**state.extra, "bulk": {**state.extra["bulk"], "roots_done": done}}
        state.records_synced = done
        return done

    def _stored(self, resource: str, count: int, done: int, total: int, summary: SyncSummary) -> None:
        summary.stored[resource] += count
        self._done[resource] = min(done / total, 1.0)
        self.progress(self._fraction(), f"{resource}: {done:,} of {total:,} stored")

    def _clear_pending(self, resource: str, error: str) -> None:
        with self.database.session() as session:
            state = self._state(session, resource, lock=True)
            extra = dict(state.extra or {})
            extra.pop("bulk", None)
            state.extra = extra
            state.status = "error"
            state.last_error = error

    # --- incremental pages ------------------------------------------------------------------

    def _page(self, resource: str, since: datetime, until: datetime, summary: SyncSummary) -> None:
        self._note(resource, status="running", error=None, mode="incremental")
        for page in self.streams[resource].pages(since, until):
            with self.database.session() as session:
                self._ensure_active(session)
                if page.items:
                    self._store(session, resource, page.items)
                state = self._state(session, resource, lock=True)
                if page.max_updated_at is not None:
                    checkpoint = min(until, page.max_updated_at)
                    current = _from_iso(state.cursor)
                    if current is None or checkpoint > current:
                        state.cursor = _iso(checkpoint)
                state.records_synced = (state.records_synced or 0) + len(page.items)
            summary.stored[resource] += len(page.items)
            self.progress(self._fraction(), f"{resource}: {summary.stored[resource]:,} changed")
        with self.database.session() as session:
            self._succeeded(self._state(session, resource, lock=True), until)
        self._done[resource] = 1.0

    # --- shared -----------------------------------------------------------------------------

    def _store(
        self, session: Session, resource: str, records: Any, before_merge: Callable[[], Any] | None = None
    ) -> None:
        with Loader(session, self.shop_id) as loader:
            if isinstance(records, _TextOrders):
                loader.add_text_orders(records.orders, records.lines)
                loader.prepare()
            else:
                _stage(loader, resource, records)
            if before_merge is not None:
                before_merge()
            # A bulk export's orders come complete, once each, with all their lines.
            loader.merge(complete=isinstance(records, _TextOrders))
        if resource == "orders":
            reapply_redactions(session, self.shop_id)

    def _ensure_active(self, session: Session) -> None:
        active = session.scalar(select(Shop.is_active).where(Shop.id == self.shop_id))
        if not active:
            raise ShopInactive(f"shop {self.shop_id} is not installed any more: sync stopped")

    def _state(self, session: Session, resource: str, lock: bool = False) -> SyncState:
        query = select(SyncState).where(SyncState.shop_id == self.shop_id, SyncState.resource == resource)
        state = session.scalars(query.with_for_update() if lock else query).first()
        if state is None:
            state = SyncState(
                shop_id=self.shop_id, resource=resource, status="idle", records_synced=0, extra={}
            )
            session.add(state)
            session.flush()
        return state

    def _succeeded(self, state: SyncState, until: datetime | None) -> None:
        now = self.clock()
        if until is not None:
            state.cursor = _iso(until)
        state.mode = "incremental"
        state.status = "ok"
        state.finished_at = now
        state.last_success_at = now
        state.last_error = None

    def _note(self, resource: str, status: str, error: str | None, mode: str | None = None) -> None:
        with self.database.session() as session:
            state = self._state(session, resource, lock=True)
            state.status = status
            state.last_error = error
            if mode:
                state.mode = mode
            if status == "running":
                state.started_at = self.clock()

    def _fraction(self) -> float:
        return sum(WEIGHTS[r] * self._done[r] for r in RESOURCES)


def record_failure(database: Database, shop_id: int, error: ShopifyError | Exception) -> None:
    """Show a failed sync's reason on every resource that was running (for the admin)."""
    text = str(error)[:1000]
    with database.session() as session:
        for state in session.scalars(
            select(SyncState).where(
                SyncState.shop_id == shop_id, SyncState.status.in_(("running", "waiting"))
            )
        ):
            state.status = "error"
            state.last_error = text
