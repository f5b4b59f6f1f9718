"""WooCommerce shops in the database: credentials, stored pages, deletes and sync bookkeeping.

Every function takes the caller's session and never commits: a sync page and its checkpoint,
or a webhook and its delivery record, land in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from connectors.woocommerce.client import RetryPolicy, WooClient
from connectors.woocommerce.streams import SyncPage
from cvo_plugin.config import Settings
from cvo_plugin.crypto import TokenBox
from cvo_plugin.ingest import Loader, MergeCounts
from cvo_plugin.models import (
    Customer,
    Order,
    OrderLine,
    Product,
    Shop,
    SyncState,
    Variant,
    WebhookDelivery,
)
from cvo_plugin.records import CustomerRecord, OrderBundle, ProductRecord, VariantRecord
from cvo_plugin.services.shops import delete_orders

PLATFORM = "woocommerce"
RESOURCES = ("products", "customers", "orders")


class NotConnectedError(LookupError):
    """The shop is not a connected WooCommerce store."""


# --- shops and credentials --------------------------------------------------------------------


def woocommerce_shop(session: Session, shop_id: int) -> Shop:
    """The WooCommerce shop `shop_id`; `NotConnectedError` for any other shop."""
    shop = session.get(Shop, shop_id)
    if shop is None or shop.platform != PLATFORM:
        raise NotConnectedError(f"shop {shop_id} is not a WooCommerce store")
    return shop


def shop_by_webhook_key(session: Session, key: str) -> Shop | None:
    """The active WooCommerce shop whose webhook URL ends in `key` (its public key)."""
    if not key or len(key) > 64:
        return None
    return session.scalars(
        select(Shop).where(Shop.public_key == key, Shop.platform == PLATFORM, Shop.is_active.is_(True))
    ).first()


def store_url(shop: Shop) -> str:
    """The store's HTTPS base URL as it was connected."""
    url = (shop.settings or {}).get(PLATFORM, {}).get("url")
    return str(url) if url else f"https://{shop.domain}"


def client_for(settings: Settings, shop: Shop, retry: RetryPolicy | None = None) -> WooClient:
    """An API client with the shop's decrypted keys."""
    box = TokenBox(settings.token_encryption_key)
    key, secret = box.decrypt(shop.access_token_enc), box.decrypt(shop.api_secret_enc)
    if not key or not secret:
        raise NotConnectedError(f"{shop.domain} has no WooCommerce API keys; connect it again")
    return WooClient(store_url(shop), key, secret, ca_bundle=settings.woocommerce_ca_bundle, retry=retry)


def webhook_secret(settings: Settings, shop: Shop) -> str | None:
    """The shop's webhook secret in clear (None when it has none)."""
    return TokenBox(settings.token_encryption_key).decrypt(shop.webhook_secret_enc)


# --- storing records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreResult:
    """What storing some records did: the merge counts and how many were new or newer."""

    counts: MergeCounts
    changed: int


def _changed(session: Session, model: Any, shop_id: int, updated: Mapping[str, datetime | None]) -> int:
    """How many of `updated` (platform id -> updated time) are not stored, or stored older."""
    if not updated:
        return 0
    stored = dict(
        session.execute(
            select(model.platform_id, model.platform_updated_at).where(
                model.shop_id == shop_id, model.platform_id.in_(list(updated))
            )
        ).all()
    )
    return sum(
        1
        for pid, when in updated.items()
        if pid not in stored or (when is not None and (stored[pid] is None or when > stored[pid]))
    )


def store_records(
    session: Session,
    shop_id: int,
    *,
    bundles: Sequence[OrderBundle] = (),
    customers: Sequence[CustomerRecord] = (),
    products: Sequence[ProductRecord] = (),
    variants: Sequence[VariantRecord] = (),
) -> StoreResult:
    """Merge records through the one write path (`Loader`) and say how many changed."""
    every_customer = [*customers, *(b.customer for b in bundles if b.customer is not None)]
    changed = (
        _changed(session, Order, shop_id, {b.order.platform_id: b.order.updated_at for b in bundles})
        + _changed(session, Customer, shop_id, {c.platform_id: c.updated_at for c in every_customer})
        + _changed(session, Product, shop_id, {p.platform_id: p.updated_at for p in products})
        + _changed(session, Variant, shop_id, {v.platform_id: v.updated_at for v in variants})
    )
    if not (bundles or customers or products or variants):
        return StoreResult(MergeCounts(), 0)
    with Loader(session, shop_id) as loader:
        loader.add_products(products)
        loader.add_variants(variants)
        loader.add_customers(customers)
        loader.add_bundles(bundles)
        counts = loader.merge()
    return StoreResult(counts, changed)


def stored_refunded_quantities(session: Session, shop_id: int, order_platform_id: str) -> dict[str, int]:
    """Refunded units per line platform id of a stored order."""
    rows = session.execute(
        select(OrderLine.platform_id, OrderLine.refunded_quantity)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.shop_id == shop_id,
            OrderLine.shop_id == shop_id,
            Order.platform_id == order_platform_id,
        )
    ).all()
    return {pid: int(qty or 0) for pid, qty in rows}


def stored_order(session: Session, shop_id: int, platform_id: str) -> Order | None:
    """A stored order of the shop by its WooCommerce id."""
    return session.scalars(
        select(Order).where(Order.shop_id == shop_id, Order.platform_id == platform_id)
    ).first()


def product_stored(session: Session, shop_id: int, platform_id: str) -> bool:
    """Whether the shop has product `platform_id`."""
    return (
        session.scalar(
            select(func.count()).where(Product.shop_id == shop_id, Product.platform_id == platform_id)
        )
        or 0
    ) > 0


def remove_orders(session: Session, shop_id: int, platform_ids: list[str]) -> int:
    """Delete orders (deleted or trashed in the store) with their lines."""
    return delete_orders(session, shop_id, platform_ids)


def soft_delete_products(session: Session, shop_id: int, platform_ids: Iterable[str]) -> int:
    """Mark products deleted (`deleted_at`: order lines keep pointing at them) and their
    variants unavailable; an id may also be a variation's (WooCommerce ids are unique across
    products and variations), which then becomes unavailable."""
    ids = list(platform_ids)
    if not ids:
        return 0
    products = session.execute(
        update(Product)
        .where(Product.shop_id == shop_id, Product.platform_id.in_(ids), Product.deleted_at.is_(None))
        .values(deleted_at=datetime.now(UTC))
    )
    deleted = select(Product.id).where(Product.shop_id == shop_id, Product.platform_id.in_(ids))
    variants = session.execute(
        update(Variant)
        .where(
            Variant.shop_id == shop_id,
            Variant.available.is_not(False),
            or_(Variant.platform_id.in_(ids), Variant.product_id.in_(deleted)),
        )
        .values(available=False)
    )
    return int(products.rowcount or 0) + int(variants.rowcount or 0)  # type: ignore[attr-defined]


# --- sync bookkeeping ---------------------------------------------------------------------------


def sync_state(session: Session, shop_id: int, resource: str) -> SyncState:
    """The shop's sync state of `resource` (created when missing)."""
    state = session.scalars(
        select(SyncState).where(SyncState.shop_id == shop_id, SyncState.resource == resource)
    ).first()
    if state is None:
        state = SyncState(shop_id=shop_id, resource=resource, status="idle", records_synced=0, extra={})
        session.add(state)
        session.flush()
    return state


def begin_resource(session: Session, shop_id: int, resource: str, full: bool) -> str | None:
    """Mark a resource's pass as running and return its cursor."""
    state = sync_state(session, shop_id, resource)
    state.status = "running"
    state.mode = "backfill" if state.last_success_at is None else ("full" if full else "incremental")
    state.started_at = datetime.now(UTC)
    state.last_error = None
    return state.cursor


def save_page(session: Session, shop_id: int, page: SyncPage) -> StoreResult:
    """Store one sync page and its checkpoint (one transaction: the caller's)."""
    result = store_records(
        session,
        shop_id,
        bundles=page.bundles,
        customers=page.customers,
        products=page.products,
        variants=page.variants,
    )
    state = sync_state(session, shop_id, page.resource)
    state.cursor = page.cursor
    state.records_synced = page.done
    state.records_total = page.total
    if page.finished:
        now = datetime.now(UTC)
        state.status, state.finished_at, state.last_success_at = "ok", now, now
    return result


def fail_resource(session: Session, shop_id: int, resource: str, error: str) -> None:
    """Record why a resource's pass stopped (its cursor stays at the last stored page)."""
    state = sync_state(session, shop_id, resource)
    state.status = "error"
    state.finished_at = datetime.now(UTC)
    state.last_error = error[:1000]


def webhook_changes_since(session: Session, shop_id: int, since: datetime | None) -> int:
    """Webhook deliveries that changed the shop's data since `since` (all when None)."""
    query = select(func.count()).where(
        WebhookDelivery.shop_id == shop_id,
        WebhookDelivery.platform == PLATFORM,
        WebhookDelivery.status == "processed",
    )
    if since is not None:
        query = query.where(WebhookDelivery.processed_at >= since)
    return int(session.scalar(query) or 0)


def last_sync_started(session: Session, shop_id: int) -> datetime | None:
    """When the shop's last successful pass of its orders started."""
    state = sync_state(session, shop_id, "orders")
    return state.started_at if state.last_success_at is not None else None
