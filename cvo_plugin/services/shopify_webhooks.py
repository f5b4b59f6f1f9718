"""Shopify webhooks: each delivery recorded once, then applied in batches by a job.

`receive` runs in the request, after the route has checked the HMAC: it records the delivery
under Shopify's `X-Shopify-Webhook-Id` (a second delivery with that id is acknowledged and
dropped) and keeps its body until a job applies it. `apply_pending` runs in the job: it applies
every waiting delivery of a shop in arrival order, several hundred per transaction, through the
same write path as the sync (`cvo_plugin.ingest.Loader`), so an update older than what is stored
changes nothing. Bodies are deleted once applied.

Per topic:
- `orders/create|updated|cancelled`: the order and its lines, as in the payload;
- `refunds/create`: the refund's order is read again through GraphQL (the payload holds only
  the refund) and stored whole;
- `products/create|update`, `customers/create|update`: the product with its variants (the
  stored cost is kept: REST variants carry none), the customer;
- `products/delete`: the product is marked deleted (order lines keep pointing at it);
- `app/uninstalled`: the token is forgotten, the shop marked uninstalled, its jobs stopped;
- `customers/data_request`, `customers/redact`, `shop/redact`: see `services.privacy`;
- `bulk_operations/finish`: reported (`bulk_finished`), so the job queues the shop's sync,
  which imports the finished export.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from connectors.shopify.mapping import (
    customer_from_rest,
    numeric_id,
    order_from_rest,
    parse_time,
    product_from_rest,
)
from connectors.shopify.webhooks import (
    COMPLIANCE_TOPICS,
    CUSTOMER_TOPICS,
    KNOWN_TOPICS,
    ORDER_TOPICS,
    PRODUCT_TOPICS,
)
from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader
from cvo_plugin.models import Product, Shop, Variant, WebhookDelivery, WebhookPayload
from cvo_plugin.records import CustomerRecord, OrderBundle, ProductRecord, VariantRecord
from cvo_plugin.services import privacy
from cvo_plugin.services.shopify_install import PLATFORM, find_shopify_shop

log = logging.getLogger(__name__)

BATCH_SIZE = 500

__all__ = ["KNOWN_TOPICS", "IncomingWebhook", "Receipt", "apply_pending", "parse_triggered_at", "receive"]


def parse_triggered_at(value: str | None) -> datetime | None:
    """The `X-Shopify-Triggered-At` time, or None when absent or malformed."""
    try:
        return parse_time(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class IncomingWebhook:
    """A delivery whose signature has been checked."""

    topic: str
    shop_domain: str
    webhook_id: str
    body: bytes = field(repr=False)
    event_id: str | None = None
    triggered_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """What became of a delivery: `accepted` (queued), `duplicate` or `ignored` (unknown shop)."""

    status: str
    shop_id: int | None = None


def receive(session: Session, incoming: IncomingWebhook) -> Receipt:
    """Record a delivery and keep its body for the job (the caller commits)."""
    shop = find_shopify_shop(session, incoming.shop_domain)
    now = datetime.now(UTC)
    row = WebhookDelivery(
        shop_id=shop.id if shop else None,
        platform=PLATFORM,
        delivery_id=incoming.webhook_id,
        event_id=incoming.event_id,
        topic=incoming.topic,
        triggered_at=incoming.triggered_at,
        received_at=now,
        status="received" if shop else "ignored",
        processed_at=None if shop else now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return Receipt("duplicate", shop.id if shop else None)
    if shop is None:
        log.info("shopify webhook %s for an unknown shop: acknowledged, not applied", incoming.topic)
        return Receipt("ignored")
    session.add(WebhookPayload(delivery_id=row.id, shop_id=shop.id, body=incoming.body))
    session.flush()
    return Receipt("accepted", shop.id)


def pending_count(session: Session, shop_id: int) -> int:
    """How many deliveries of the shop wait to be applied."""
    count = session.scalar(select(func.count()).where(WebhookPayload.shop_id == shop_id))
    return int(count or 0)


@dataclass
class WebhookHandlers:
    """What applying deliveries needs from outside the database (given by the job)."""

    fetch_orders: Callable[[Sequence[str]], list[OrderBundle]] | None = None
    uninstall: Callable[[Session, int], None] | None = None


@dataclass
class ApplySummary:
    """What a run of `apply_pending` did."""

    deliveries: int = 0
    orders: int = 0
    customers: int = 0
    products: int = 0
    deleted_products: int = 0
    privacy_requests: int = 0
    failed: int = 0
    ignored: int = 0
    uninstalled: bool = False
    shop_deleted: bool = False
    bulk_finished: bool = False

    @property
    def changed_data(self) -> bool:
        return bool(self.orders or self.customers or self.products or self.deleted_products)


def _newer(current: Any, candidate: Any) -> bool:
    """Whether `candidate` (a record with `updated_at`) should replace `current` in a batch."""
    if current is None:
        return True
    old, new = current.updated_at, candidate.updated_at
    return old is None or new is None or new >= old


# What a malformed (but signed) payload raises while it is mapped: the delivery fails alone.
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, AssertionError, ArithmeticError)
# What storing a value the database refuses raises (the staging writes through the driver).
REFUSED = (DBAPIError, psycopg.Error, sqlite3.Error, *UNREADABLE)


@dataclass
class _Batch:
    """One transaction's worth of deliveries, reduced to what must be written."""

    orders: dict[str, OrderBundle] = field(default_factory=dict)
    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    products: dict[str, tuple[ProductRecord, list[VariantRecord]]] = field(default_factory=dict)
    deleted_products: set[str] = field(default_factory=set)
    refund_orders: dict[str, list[WebhookDelivery]] = field(default_factory=dict)
    later: list[tuple[WebhookDelivery, dict[str, Any]]] = field(default_factory=list)

    def add_order(self, bundle: OrderBundle) -> None:
        if bundle.order.created_at is None:
            raise ValueError("the order has no created_at")
        key = bundle.order.platform_id
        current = self.orders.get(key)
        if _newer(current.order if current else None, bundle.order):
            self.orders[key] = bundle

    def add(self, delivery: WebhookDelivery, data: dict[str, Any]) -> str:
        """Take one delivery in; return its status so far (`applied`, `ignored` or `later`)."""
        topic = delivery.topic
        if topic in ORDER_TOPICS:
            self.add_order(order_from_rest(data))
        elif topic == "refunds/create":
            self.refund_orders.setdefault(str(numeric_id(data["order_id"])), []).append(delivery)
        elif topic in PRODUCT_TOPICS:
            product, variants = product_from_rest(data)
            current = self.products.get(product.platform_id)
            if _newer(current[0] if current else None, product):
                self.products[product.platform_id] = (product, variants)
        elif topic == "products/delete":
            self.deleted_products.add(str(numeric_id(data["id"])))
        elif topic in CUSTOMER_TOPICS:
            customer = customer_from_rest(data)
            if _newer(self.customers.get(customer.platform_id), customer):
                self.customers[customer.platform_id] = customer
        elif topic in COMPLIANCE_TOPICS or topic in ("app/uninstalled", "bulk_operations/finish"):
            self.later.append((delivery, data))
            return "later"
        else:
            return "ignored"
        return "applied"


def apply_pending(
    database: Database, shop_id: int, handlers: WebhookHandlers, batch_size: int = BATCH_SIZE
) -> ApplySummary:
    """Apply every waiting delivery of the shop, oldest first, a batch per transaction.

    Orders named by refunds are read from Shopify before the batch's transaction opens, so no
    transaction waits on the network.
    """
    summary = ApplySummary()
    while not summary.shop_deleted:
        with database.sessionmaker() as session:
            waiting = session.execute(
                select(WebhookPayload.id, WebhookDelivery.topic, WebhookPayload.body)
                .join(WebhookDelivery, WebhookDelivery.id == WebhookPayload.delivery_id)
                .where(WebhookPayload.shop_id == shop_id)
                .order_by(WebhookDelivery.id)
                .limit(batch_size)
            ).all()
        if not waiting:
            break
        refunded = _fetch_refunded_orders(
            database, shop_id, [body for _, topic, body in waiting if topic == "refunds/create"], handlers
        )
        with database.session() as session:
            query = (
                select(WebhookPayload, WebhookDelivery)
                .join(WebhookDelivery, WebhookDelivery.id == WebhookPayload.delivery_id)
                .where(WebhookPayload.id.in_([row[0] for row in waiting]))
                .order_by(WebhookDelivery.id)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(of=WebhookPayload, skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                break  # another run is applying them
            _apply_batch(session, shop_id, rows, refunded, handlers, summary)
    return summary


def _fetch_refunded_orders(
    database: Database, shop_id: int, bodies: list[bytes], handlers: WebhookHandlers
) -> list[OrderBundle] | str:
    """The current state of the orders that refunds name, or why it cannot be read."""
    from connectors.shopify.errors import ShopifyError

    if not bodies:
        return []
    order_ids = set()
    for body in bodies:
        try:
            order_ids.add(str(numeric_id(json.loads(body)["order_id"])))
        except (ValueError, KeyError, TypeError):
            continue  # reported as unreadable when the batch is applied
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        installed = shop is not None and shop.is_active
    if handlers.fetch_orders is None or not installed:
        return "the shop is not installed: the refunded order cannot be read"
    try:
        return handlers.fetch_orders(sorted(order_ids))
    except ShopifyError as exc:
        return f"the refunded order could not be read: {exc}"


def _apply_batch(
    session: Session,
    shop_id: int,
    rows: Sequence[Any],
    refunded: list[OrderBundle] | str,
    handlers: WebhookHandlers,
    summary: ApplySummary,
) -> None:
    now = datetime.now(UTC)
    batch = _Batch()
    for payload, delivery in rows:
        summary.deliveries += 1
        try:
            data = json.loads(payload.body)
            if not isinstance(data, dict):
                raise ValueError("the body is not a JSON object")
            status = batch.add(delivery, data)
        except UNREADABLE as exc:
            status = "failed"
            delivery.error = f"unreadable {delivery.topic} payload: {type(exc).__name__}: {exc}"[:1000]
        _settle(delivery, status, now, summary)

    if isinstance(refunded, str):
        for deliveries in batch.refund_orders.values():
            for delivery in deliveries:
                delivery.error = refunded[:1000]
                _settle(delivery, "failed", now, summary)
    elif batch.refund_orders:
        for bundle in refunded:
            batch.add_order(bundle)
    try:
        with session.begin_nested():
            _write_commerce(session, shop_id, batch, ApplySummary())
    except REFUSED:
        # A signed but malformed delivery (a value the database refuses) must not hold up the
        # rest: store them one at a time and fail only the ones the database refuses.
        _write_one_by_one(session, shop_id, rows, refunded, now, summary)
    else:
        _count_written(batch, summary)

    ids = [payload.id for payload, _ in rows]
    for delivery, data in batch.later:
        try:
            with session.begin_nested():
                _apply_later(session, shop_id, delivery, data, handlers, summary)
        except REFUSED as exc:  # a malformed request: recorded as failed, the others go on
            delivery.error = f"unreadable {delivery.topic} payload: {type(exc).__name__}"
            _settle(delivery, "failed", now, summary)
        if summary.shop_deleted:
            session.expunge_all()  # the shop, its deliveries and their bodies are gone
            return
        delivery.status = delivery.status if delivery.status == "failed" else "applied"
        delivery.processed_at = now
    session.execute(delete(WebhookPayload).where(WebhookPayload.id.in_(ids)))


def _write_one_by_one(
    session: Session,
    shop_id: int,
    rows: Sequence[Any],
    refunded: list[OrderBundle] | str,
    now: datetime,
    summary: ApplySummary,
) -> None:
    written = (*ORDER_TOPICS, *PRODUCT_TOPICS, *CUSTOMER_TOPICS, "products/delete")
    for payload, delivery in rows:
        if delivery.status != "applied" or delivery.topic not in written:
            continue
        single = _Batch()
        single.add(delivery, json.loads(payload.body))
        _write_alone(session, shop_id, single, delivery, now, summary)
    if not isinstance(refunded, str):
        for bundle in refunded:
            single = _Batch()
            single.add_order(bundle)
            _write_alone(session, shop_id, single, None, now, summary)


def _write_alone(
    session: Session,
    shop_id: int,
    single: _Batch,
    delivery: WebhookDelivery | None,
    now: datetime,
    summary: ApplySummary,
) -> None:
    try:
        with session.begin_nested():
            _write_commerce(session, shop_id, single, ApplySummary())
    except REFUSED as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        log.warning("a shopify webhook payload was refused by the database: %s", reason)
        if delivery is not None:
            delivery.error = f"{delivery.topic} payload refused by the database: {reason}"
            _settle(delivery, "failed", now, summary)
    else:
        _count_written(single, summary)


def _count_written(batch: _Batch, summary: ApplySummary) -> None:
    summary.orders += len(batch.orders)
    summary.customers += len(batch.customers)
    summary.products += len(batch.products)
    summary.deleted_products += len(batch.deleted_products)


def _settle(delivery: WebhookDelivery, status: str, now: datetime, summary: ApplySummary) -> None:
    if status == "later":
        return
    delivery.status = status
    delivery.processed_at = now
    if status == "failed":
        summary.failed += 1
        log.warning("shopify webhook %s (%s) could not be applied", delivery.delivery_id, delivery.topic)
    elif status == "ignored":
        summary.ignored += 1


def _write_commerce(session: Session, shop_id: int, batch: _Batch, summary: ApplySummary) -> None:
    if batch.products:
        _keep_stored_costs(session, shop_id, batch.products)
    if batch.orders or batch.customers or batch.products:
        with Loader(session, shop_id) as loader:
            for product, variants in batch.products.values():
                loader.add_products((product,))
                loader.add_variants(variants)
            loader.add_customers(batch.customers.values())
            loader.add_bundles(batch.orders.values())
            loader.merge()
        privacy.reapply_redactions(session, shop_id)
    if batch.deleted_products:
        session.execute(
            update(Product)
            .where(Product.shop_id == shop_id, Product.platform_id.in_(sorted(batch.deleted_products)))
            .where(Product.deleted_at.is_(None))
            .values(deleted_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )


def _keep_stored_costs(
    session: Session, shop_id: int, products: dict[str, tuple[ProductRecord, list[VariantRecord]]]
) -> None:
    """REST variants carry no cost: keep the one a sync stored (cost lives on inventory items)."""
    ids = [v.platform_id for _, variants in products.values() for v in variants if v.cost is None]
    if not ids:
        return
    costs = dict(
        session.execute(
            select(Variant.platform_id, Variant.cost).where(
                Variant.shop_id == shop_id, Variant.platform_id.in_(ids)
            )
        ).all()
    )
    for key, (product, variants) in products.items():
        products[key] = (
            product,
            [v._replace(cost=costs.get(v.platform_id)) if v.cost is None else v for v in variants],
        )


def _apply_later(
    session: Session,
    shop_id: int,
    delivery: WebhookDelivery,
    data: dict[str, Any],
    handlers: WebhookHandlers,
    summary: ApplySummary,
) -> None:
    topic = delivery.topic
    customer = data.get("customer") or {}
    customer_id = numeric_id(customer.get("id")) if isinstance(customer, dict) else None
    if topic == "customers/redact":
        privacy.redact_customer(session, shop_id, PLATFORM, customer_id, data.get("orders_to_redact") or ())
        summary.privacy_requests += 1
    elif topic == "customers/data_request":
        request = data.get("data_request") or {}
        privacy.record_data_request(
            session,
            shop_id,
            PLATFORM,
            customer_id,
            data.get("orders_requested") or (),
            str(request.get("id")) if isinstance(request, dict) and request.get("id") else None,
        )
        summary.privacy_requests += 1
    elif topic == "shop/redact":
        summary.shop_deleted = privacy.redact_shop(session, shop_id)
    elif topic == "app/uninstalled":
        if handlers.uninstall is not None:
            handlers.uninstall(session, shop_id)
        summary.uninstalled = True
    elif topic == "bulk_operations/finish":
        summary.bulk_finished = True
