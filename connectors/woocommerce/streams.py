"""Backfill and incremental sync of one store, as pages of records plus the checkpoint to save.

A stream yields `SyncPage`s; the caller stores each page's records and its `cursor` in one
transaction, so a sync killed at any point resumes from the last stored page and repeats at most
one page (writes are idempotent upserts: repeats are harmless, gaps are not).

Orders and products (`modified_after` is the incremental cursor, GMT):

1. Freeze `sync_start` when a pass starts (kept in the cursor, so a resumed pass keeps it).
2. Read `modified_after = cursor - OVERLAP` (`dates_are_gmt=true`), 100 per page, 1-based pages
   until `X-WP-TotalPages`, ordered by **id**. Id order keeps pages stable while the store works:
   an order modified during the pass keeps its place (ordering by `modified` would move it to the
   end and shift every later record back by one, skipping one), and new orders are appended.
   Only deletions shift pages back; `X-WP-Total` shrinking shows them, and the pass then steps
   back as many pages as were emptied.
3. While the pass runs, the checkpoint is (its lower bound, the next page); at the end it
   becomes `min(sync_start, max(date_modified_gmt seen))`, so changes made during the pass, and
   records stamped by a store clock behind ours, are read again next time. With nothing seen the
   lower bound stays where it was. `OVERLAP` re-reads the last minute, for orders whose save was
   not yet visible when the previous pass read past their timestamp.

Customers: WooCommerce's `customers` endpoint has no `modified_after`. A full pass reads all of
them by id; an incremental pass reads the newest first (`order=desc`) down to the highest id
already seen. Only users with the `customer` role are listed (WooCommerce's default); a buyer
with another role (a shop manager, say) gets a customer row from their orders. Changes to
existing customers arrive by the `customer.updated` webhook, and `cvo sync --full` reads
everything again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.woocommerce.client import PER_PAGE, ListPage, WooClient
from connectors.woocommerce.mapping import (
    customer_record,
    format_gmt,
    is_variable,
    order_bundle,
    parse_gmt,
    product_records,
)
from cvo_plugin.records import CustomerRecord, OrderBundle, ProductRecord, VariantRecord

OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True)
class SyncPage:
    """One page of one resource, with the checkpoint to store in the same transaction."""

    resource: str
    cursor: str
    done: int
    total: int | None
    finished: bool
    bundles: tuple[OrderBundle, ...] = ()
    customers: tuple[CustomerRecord, ...] = ()
    products: tuple[ProductRecord, ...] = ()
    variants: tuple[VariantRecord, ...] = ()

    @property
    def fraction(self) -> float:
        """How far this resource's pass is (0..1)."""
        if self.finished:
            return 1.0
        if not self.total:
            return 0.0
        return min(self.done / self.total, 0.99)


def read_pages(
    client: WooClient, endpoint: str, params: Mapping[str, Any], start: int = 1
) -> Iterator[ListPage]:
    """Pages `start`.. of a list until `X-WP-TotalPages`, stepping back when deletions made
    `X-WP-Total` shrink (records of later pages then moved to earlier ones)."""
    page, seen_total = start, None
    while True:
        current = client.list_page(endpoint, params, page)
        if seen_total is not None and current.total < seen_total and page > 1:
            back = math.ceil((seen_total - current.total) / PER_PAGE)
            seen_total = current.total
            page = max(1, page - back)
            continue
        seen_total = current.total
        yield current
        if current.is_last:
            return
        page += 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _load(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _Window:
    """A pass of a `modified_after` stream that has started and not finished."""

    lower: datetime | None
    started: datetime
    next_page: int = 1
    max_seen: datetime | None = None
    done: int = 0
    total: int | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "lower": _iso(self.lower),
            "started": _iso(self.started),
            "next_page": self.next_page,
            "max_seen": _iso(self.max_seen),
            "done": self.done,
            "total": self.total,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> _Window:
        started = parse_gmt(value.get("started"))
        if started is None:
            raise ValueError("window without a start")
        return cls(
            lower=parse_gmt(value.get("lower")),
            started=started,
            next_page=int(value.get("next_page") or 1),
            max_seen=parse_gmt(value.get("max_seen")),
            done=int(value.get("done") or 0),
            total=value.get("total"),
        )


class ModifiedStream:
    """A resource read by `modified_after` (orders, products); see the module doc."""

    resource = ""
    endpoint = ""

    def __init__(self, client: WooClient) -> None:
        self.client = client

    def pages(self, cursor: str | None, now: datetime, full: bool = False) -> Iterator[SyncPage]:
        """The pages of this pass: the open pass resumed, or a new one from the cursor."""
        state = _load(cursor)
        window: _Window | None = None
        if isinstance(state.get("window"), Mapping):
            try:
                window = _Window.from_json(state["window"])
            except (ValueError, TypeError):
                window = None
        if window is not None and full and window.lower is not None:
            window = None  # an incremental pass was open; a full one starts over
        if window is None:
            lower = None if full else parse_gmt(state.get("modified_after"))
            window, start = _Window(lower=lower, started=now), 1
        else:
            start = max(1, window.next_page - 1)  # re-read the last stored page (deletions shift)
        params: dict[str, Any] = {"orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        if window.lower is not None:
            params["modified_after"] = format_gmt(window.lower - OVERLAP)
        for page in read_pages(self.client, self.endpoint, params, start):
            window.total = page.total
            window.done += len(page.items)
            for item in page.items:
                modified = parse_gmt(item.get("date_modified_gmt")) if isinstance(item, Mapping) else None
                if modified is not None and (window.max_seen is None or modified > window.max_seen):
                    window.max_seen = modified
            records = self.records(page.items)
            if page.is_last:
                after = window.lower if window.max_seen is None else min(window.started, window.max_seen)
                next_cursor: dict[str, Any] = {"modified_after": _iso(after)}
            else:
                window.next_page = page.page + 1
                next_cursor = {"modified_after": state.get("modified_after"), "window": window.to_json()}
            yield SyncPage(
                resource=self.resource,
                cursor=json.dumps(next_cursor),
                done=window.done,
                total=window.total,
                finished=page.is_last,
                **records,
            )

    def records(self, items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
        """The records of one page (subclasses)."""
        raise NotImplementedError


class OrderStream(ModifiedStream):
    """Orders with their lines; refunded orders also get their refunds (for refunded units)."""

    resource = "orders"
    endpoint = "orders"

    def records(self, items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
        bundles = []
        for order in items:
            refunds = None
            if order.get("refunds"):
                refunds = self.client.list_all(f"orders/{int(order['id'])}/refunds")
            bundles.append(order_bundle(order, refunds))
        return {"bundles": tuple(bundles)}


class ProductStream(ModifiedStream):
    """Products with their variants (a variable product's variations are read with it)."""

    resource = "products"
    endpoint = "products"

    def records(self, items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return product_page_records(self.client, items)


def product_page_records(client: WooClient, items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """Products and variants of product payloads, fetching the variations of variable ones."""
    products: list[ProductRecord] = []
    variants: list[VariantRecord] = []
    for item in items:
        variations = None
        if is_variable(item):
            variations = client.list_all(
                f"products/{int(item['id'])}/variations", {"orderby": "id", "order": "asc"}
            )
        product, its_variants = product_records(item, variations)
        if product is not None:
            products.append(product)
        variants.extend(its_variants)
    return {"products": tuple(products), "variants": tuple(variants)}


class CustomerStream:
    """Registered customers; see the module doc for why this stream has no `modified_after`."""

    resource = "customers"
    endpoint = "customers"

    def __init__(self, client: WooClient) -> None:
        self.client = client

    def pages(self, cursor: str | None, now: datetime, full: bool = False) -> Iterator[SyncPage]:
        """A full pass (first sync, `full`, or an unfinished one), else the newest customers."""
        state = _load(cursor)
        known_max = state.get("max_id")
        if full or known_max is None or state.get("full_next_page"):
            yield from self._full(state)
        else:
            yield from self._newest(int(known_max))

    def _full(self, state: Mapping[str, Any]) -> Iterator[SyncPage]:
        start = max(1, int(state.get("full_next_page") or 1) - 1)
        running_max = int(state.get("full_max_id") or 0)
        done = int(state.get("full_done") or 0)
        for page in read_pages(self.client, self.endpoint, {"orderby": "id", "order": "asc"}, start):
            records = tuple(customer_record(item) for item in page.items)
            running_max = max([running_max, *(int(r.platform_id) for r in records)])
            done += len(records)
            if page.is_last:
                cursor: dict[str, Any] = {"max_id": running_max or state.get("max_id")}
            else:
                cursor = {
                    "max_id": state.get("max_id"),
                    "full_next_page": page.page + 1,
                    "full_max_id": running_max,
                    "full_done": done,
                }
            yield SyncPage(
                resource=self.resource,
                cursor=json.dumps(cursor),
                done=done,
                total=page.total,
                finished=page.is_last,
                customers=records,
            )

    def _newest(self, known_max: int) -> Iterator[SyncPage]:
        new_max, done = known_max, 0
        for page in read_pages(self.client, self.endpoint, {"orderby": "id", "order": "desc"}):
            records = tuple(r for r in map(customer_record, page.items) if int(r.platform_id) > known_max)
            reached = len(records) < len(page.items) or page.is_last
            new_max = max([new_max, *(int(r.platform_id) for r in records)])
            done += len(records)
            yield SyncPage(
                resource=self.resource,
                cursor=json.dumps({"max_id": new_max if reached else known_max}),
                done=done,
                total=None,
                finished=reached,
                customers=records,
            )
            if reached:
                return


def streams(client: WooClient) -> list[ModifiedStream | CustomerStream]:
    """The streams of a sync, in the order they run (catalogue and customers before orders)."""
    return [ProductStream(client), CustomerStream(client), OrderStream(client)]
