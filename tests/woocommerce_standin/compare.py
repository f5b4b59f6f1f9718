"""What the app's database should hold for a stand-in store, worked out from the store's plain
data (not from its JSON, and not with the app's mapping), and what it does hold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cvo_plugin.db import Database
from cvo_plugin.models import Customer, Order, OrderLine, Product, Variant
from tests.woocommerce_standin.store import CENT, Store

NOT_COUNTED = {"pending", "failed", "cancelled", "checkout-draft", "trash"}


@dataclass
class State:
    """Comparable rows keyed by WooCommerce ids."""

    orders: dict[str, tuple[Any, ...]]
    lines: dict[tuple[str, str], tuple[Any, ...]]
    customers: dict[str, tuple[Any, ...]]
    products: dict[str, tuple[Any, ...]]
    variants: dict[str, tuple[Any, ...]]

    def differences(self, other: State, limit: int = 5) -> list[str]:
        """Human-readable differences (empty when identical)."""
        found: list[str] = []
        for name in ("orders", "lines", "customers", "products", "variants"):
            mine, theirs = getattr(self, name), getattr(other, name)
            missing = sorted(set(mine) - set(theirs), key=str)
            extra = sorted(set(theirs) - set(mine), key=str)
            changed = sorted((k for k in set(mine) & set(theirs) if mine[k] != theirs[k]), key=str)
            if missing:
                found.append(f"{name}: {len(missing)} missing, e.g. {missing[:limit]}")
            if extra:
                found.append(f"{name}: {len(extra)} unexpected, e.g. {extra[:limit]}")
            for key in changed[:limit]:
                found.append(f"{name} {key}: expected {mine[key]}, stored {theirs[key]}")
            if len(changed) > limit:
                found.append(f"{name}: {len(changed)} differ in all")
        return found


def _c(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


def _blank(value: str | None) -> str | None:
    return value or None


def expected_state(store: Store, base_url: str) -> State:
    """The rows the app should hold after syncing `store` (served at `base_url`)."""
    orders: dict[str, tuple[Any, ...]] = {}
    lines: dict[tuple[str, str], tuple[Any, ...]] = {}
    guests: dict[str, tuple[datetime, tuple[Any, ...]]] = {}
    for order in store.orders.values():
        oid = str(order["id"])
        gross = sum((line["price"] * line["quantity"] for line in order["lines"]), Decimal(0))
        discount = sum((line["discount"] for line in order["lines"]), Decimal(0))
        refunds = sum((refund["amount"] for refund in order["refunds"]), Decimal(0))
        net_lines = gross - discount
        tax = _c(net_lines * Decimal("0.2"))
        total = _c(net_lines + net_lines * Decimal("0.2") + order["shipping_total"])
        counted = order["status"] not in NOT_COUNTED
        billing, shipping = order["billing"], order["shipping"]
        email = _blank(billing.get("email"))
        if order["customer_id"]:
            customer = str(order["customer_id"])
        elif email:
            customer = f"guest:{email.lower()}"
            person = (
                email,
                billing["first_name"],
                billing["last_name"],
                billing["phone"],
                billing["country"],
                _blank(billing["state"]),
                billing["city"],
            )
            if customer not in guests or guests[customer][0] <= order["modified"]:
                guests[customer] = (order["modified"], person)
        else:
            customer = None
        attribution = order["attribution"]
        device = attribution.get("device_type")
        refunded: dict[int, int] = {}
        for refund in order["refunds"]:
            for item in refund["lines"]:
                refunded[item["line_id"]] = refunded.get(item["line_id"], 0) + item["quantity"]
        orders[oid] = (
            f"#{oid}",
            customer,
            email,
            order["created"],
            order["paid"],
            order["modified"],
            order["modified"] if not counted else None,
            order["status"],
            store.currency,
            _c(gross),
            _c(discount),
            _c(refunds),
            _c(max(gross - discount - refunds, Decimal(0))) if counted else Decimal("0.00"),
            _c(order["shipping_total"]),
            tax,
            total,
            ",".join(c["code"] for c in order["coupons"]) or None,
            attribution.get("source_type") or order["created_via"],
            attribution.get("referrer"),
            attribution.get("session_entry"),
            attribution.get("utm_source"),
            attribution.get("utm_medium"),
            attribution.get("utm_campaign"),
            device.lower() if device else None,
            shipping["country"],
            _blank(shipping["state"]),
            shipping["city"],
            len(order["lines"]),
            sum(line["quantity"] for line in order["lines"]),
        )
        for line in order["lines"]:
            product = str(line["product_id"])
            lines[(oid, str(line["id"]))] = (
                product,
                str(line["variation_id"] or line["product_id"]),
                line["sku"],
                line["name"],
                line["quantity"],
                _c(line["price"]),
                _c(line["discount"]),
                refunded.get(line["id"], 0),
            )
    customers = {
        str(c["id"]): (
            c["email"],
            c["first_name"],
            c["last_name"],
            c["phone"],
            c["country"],
            _blank(c["state"]),
            c["city"],
        )
        for c in store.customers.values()
    }
    customers.update({key: person for key, (_, person) in guests.items()})

    status = {"publish": "active", "private": "archived"}
    products: dict[str, tuple[Any, ...]] = {}
    variants: dict[str, tuple[Any, ...]] = {}
    for deleted, source in ((False, store.products), (True, store.trashed_products)):
        for product in source.values():
            pid = str(product["id"])
            products[pid] = (
                product["name"],
                product["slug"],
                product["categories"][0] if product["categories"] else None,
                status.get(product["status"], "draft"),
                product["status"] == "publish" and product.get("catalog_visibility") != "hidden",
                ", ".join(product["tags"]) or None,
                product.get("image"),
                f"{base_url}/product/{product['slug']}/",
                deleted,
            )
            if product["type"] != "variable":
                available = product["status"] == "publish" and not deleted
                variants[pid] = _variant(pid, None, product, product.get("image"), available)
    for variation in store.variations.values():
        parent = str(variation["parent_id"])
        if parent not in products:
            continue
        available = variation.get("status", "publish") == "publish" and products[parent][-1] is False
        title = " / ".join(option for _, option in variation["attributes"])
        variants[str(variation["id"])] = _variant(parent, title, variation, variation.get("image"), available)
    return State(orders, lines, customers, products, variants)


def _variant(
    parent: str, title: str | None, item: dict[str, Any], image: str | None, available: bool
) -> tuple[Any, ...]:
    sale = item.get("sale_price")
    price = sale if sale is not None else item["regular_price"]
    return (
        parent,
        title,
        item["sku"],
        _c(price),
        _c(item["regular_price"]) if sale is not None and item["regular_price"] > sale else None,
        item.get("stock"),
        available and item.get("stock_status", "instock") != "outofstock",
        image,
    )


def stored_state(database: Database, shop_id: int) -> State:
    """The same rows as stored for one shop."""
    with database.sessionmaker() as session:
        customers_by_id = dict(
            session.execute(
                select(Customer.id, Customer.platform_id).where(Customer.shop_id == shop_id)
            ).all()
        )
        products_by_id = dict(
            session.execute(select(Product.id, Product.platform_id).where(Product.shop_id == shop_id)).all()
        )
        variants_by_id = dict(
            session.execute(select(Variant.id, Variant.platform_id).where(Variant.shop_id == shop_id)).all()
        )
        orders: dict[str, tuple[Any, ...]] = {}
        order_ids: dict[int, str] = {}
        for o in session.scalars(select(Order).where(Order.shop_id == shop_id)):
            order_ids[o.id] = o.platform_id
            orders[o.platform_id] = (
                o.name,
                customers_by_id.get(o.customer_id) if o.customer_id else None,
                o.email,
                o.created_at,
                o.processed_at,
                o.platform_updated_at,
                o.cancelled_at,
                o.financial_status,
                o.currency,
                o.gross,
                o.discounts,
                o.refunds,
                o.net_revenue,
                o.shipping,
                o.tax,
                o.total,
                o.discount_codes,
                o.source_name,
                o.referrer,
                o.landing_page,
                o.utm_source,
                o.utm_medium,
                o.utm_campaign,
                o.device_type,
                o.country,
                o.province,
                o.city,
                o.line_count,
                o.units,
            )
        lines = {
            (order_ids[line.order_id], line.platform_id): (
                products_by_id.get(line.product_id),
                variants_by_id.get(line.variant_id),
                line.sku,
                line.title,
                line.quantity,
                line.unit_price,
                line.discount,
                line.refunded_quantity,
            )
            for line in session.scalars(select(OrderLine).where(OrderLine.shop_id == shop_id))
        }
        customers = {
            c.platform_id: (c.email, c.first_name, c.last_name, c.phone, c.country, c.province, c.city)
            for c in session.scalars(select(Customer).where(Customer.shop_id == shop_id))
        }
        products = {
            p.platform_id: (
                p.title,
                p.handle,
                p.product_type,
                p.status,
                p.published,
                p.tags,
                p.image_url,
                p.url,
                p.deleted_at is not None,
            )
            for p in session.scalars(select(Product).where(Product.shop_id == shop_id))
        }
        variants = {
            v.platform_id: (
                products_by_id.get(v.product_id),
                v.title,
                v.sku,
                v.price,
                v.compare_at_price,
                v.inventory_quantity,
                v.available,
                v.image_url,
            )
            for v in session.scalars(select(Variant).where(Variant.shop_id == shop_id))
        }
    return State(orders, lines, customers, products, variants)


def row_counts(
    database: Database, shop_id: int, tables: Iterable[Any] = (Order, OrderLine, Customer, Product, Variant)
) -> dict[str, int]:
    """Rows per table for a shop (to show nothing was stored twice)."""
    from sqlalchemy import func

    with database.sessionmaker() as session:
        return {
            t.__tablename__: int(
                session.scalar(select(func.count()).select_from(t).where(t.shop_id == shop_id)) or 0
            )
            for t in tables
        }
