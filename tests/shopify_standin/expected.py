"""What the app's database must hold for a stand-in store, computed from the store's plain data.

Written independently of the connector's mapping (from the store's own fields), so comparing
the two checks the whole path: GraphQL or REST shape, mapping, write path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select

from cvo_plugin.db import Database
from cvo_plugin.models import Customer, Order, OrderLine, Product, Variant
from tests.shopify_standin.store import Store, refunded_quantity, variant_available

ZERO = Decimal("0.00")


def _utm(order: dict[str, Any]) -> dict[str, str | None]:
    landing = order["landing_site"] or ""
    query = parse_qs(landing.split("?", 1)[1]) if "?" in landing else {}
    notes = dict(order["note_attributes"])
    return {
        key: (query.get(key) or [None])[0] or notes.get(key)
        for key in ("utm_source", "utm_medium", "utm_campaign")
    }


def expected_orders(store: Store) -> dict[str, dict[str, Any]]:
    """Order rows keyed by platform id (customer as platform id, lines as a sorted list)."""
    result = {}
    for order in store.orders.values():
        lines = order["line_items"]
        gross = sum((line["price"] * line["quantity"] for line in lines), ZERO)
        refunds = sum((line["price"] * refunded_quantity(order, line) for line in lines), ZERO)
        net = ZERO if order["cancelled_at"] else max(gross - order["total_discounts"] - refunds, ZERO)
        place = order["shipping_address"] or order["billing_address"] or {}
        notes = order["note_attributes"]
        result[str(order["id"])] = {
            "name": order["name"],
            "email": order["email"],
            "customer": str(order["customer_id"]) if order["customer_id"] else None,
            "created_at": order["created_at"],
            "processed_at": order["processed_at"],
            "updated_at": order["updated_at"],
            "cancelled_at": order["cancelled_at"],
            "financial_status": order["financial_status"],
            "currency": order["currency"],
            "gross": gross,
            "discounts": order["total_discounts"],
            "refunds": refunds,
            "net_revenue": net,
            "shipping": order["total_shipping"],
            "tax": order["total_tax"],
            "total": order["total_price"],
            "discount_codes": ", ".join(order["discount_codes"]) or None,
            "source_name": order["source_name"],
            "referrer": order["referring_site"],
            "landing_page": order["landing_site"],
            **_utm(order),
            "country": place.get("country_code"),
            "province": place.get("province"),
            "city": place.get("city"),
            "note_attributes": "\n".join(f"{k}: {v}" for k, v in notes) or None,
            "line_count": len(lines),
            "units": sum(line["quantity"] for line in lines),
            "lines": sorted(
                (
                    str(line["id"]),
                    str(line["product_id"]) if line["product_id"] else None,
                    str(line["variant_id"]) if line["variant_id"] else None,
                    line["sku"],
                    line["title"],
                    line["quantity"],
                    line["price"],
                    line["total_discount"],
                    refunded_quantity(order, line),
                )
                for line in lines
            ),
        }
    return result


def actual_orders(database: Database, shop_id: int) -> dict[str, dict[str, Any]]:
    """The same view of the app's database."""
    with database.sessionmaker() as session:
        customers = dict(
            session.execute(
                select(Customer.id, Customer.platform_id).where(Customer.shop_id == shop_id)
            ).all()
        )
        products = dict(
            session.execute(select(Product.id, Product.platform_id).where(Product.shop_id == shop_id)).all()
        )
        variants = dict(
            session.execute(select(Variant.id, Variant.platform_id).where(Variant.shop_id == shop_id)).all()
        )
        lines: dict[int, list[tuple[Any, ...]]] = {}
        for line in session.scalars(select(OrderLine).where(OrderLine.shop_id == shop_id)):
            lines.setdefault(line.order_id, []).append(
                (
                    line.platform_id,
                    products.get(line.product_id),
                    variants.get(line.variant_id),
                    line.sku,
                    line.title,
                    line.quantity,
                    line.unit_price,
                    line.discount,
                    line.refunded_quantity,
                )
            )
        result = {}
        for o in session.scalars(select(Order).where(Order.shop_id == shop_id)):
            result[o.platform_id] = {
                "name": o.name,
                "email": o.email,
                "customer": customers.get(o.customer_id),
                "created_at": o.created_at,
                "processed_at": o.processed_at,
                "updated_at": o.platform_updated_at,
                "cancelled_at": o.cancelled_at,
                "financial_status": o.financial_status,
                "currency": o.currency,
                "gross": o.gross,
                "discounts": o.discounts,
                "refunds": o.refunds,
                "net_revenue": o.net_revenue,
                "shipping": o.shipping,
                "tax": o.tax,
                "total": o.total,
                "discount_codes": o.discount_codes,
                "source_name": o.source_name,
                "referrer": o.referrer,
                "landing_page": o.landing_page,
                "utm_source": o.utm_source,
                "utm_medium": o.utm_medium,
                "utm_campaign": o.utm_campaign,
                "country": o.country,
                "province": o.province,
                "city": o.city,
                "note_attributes": o.note_attributes,
                "line_count": o.line_count,
                "units": o.units,
                "lines": sorted(lines.get(o.id, [])),
            }
    return result


def expected_customers(store: Store) -> dict[str, dict[str, Any]]:
    result = {}
    for c in store.customers.values():
        place = c["address"] or {}
        result[str(c["id"])] = {
            "email": c["email"],
            "first_name": c["first_name"],
            "last_name": c["last_name"],
            "phone": c["phone"],
            "country": place.get("country_code"),
            "province": place.get("province"),
            "city": place.get("city"),
            "tags": ", ".join(c["tags"]) or None,
            "accepts_marketing": c["accepts_marketing"],
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
        }
    return result


def actual_customers(database: Database, shop_id: int) -> dict[str, dict[str, Any]]:
    with database.sessionmaker() as session:
        return {
            c.platform_id: {
                "email": c.email,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "phone": c.phone,
                "country": c.country,
                "province": c.province,
                "city": c.city,
                "tags": c.tags,
                "accepts_marketing": c.accepts_marketing,
                "created_at": c.platform_created_at,
                "updated_at": c.platform_updated_at,
            }
            for c in session.scalars(select(Customer).where(Customer.shop_id == shop_id))
        }


def expected_products(store: Store) -> dict[str, dict[str, Any]]:
    result = {}
    for p in store.products.values():
        result[str(p["id"])] = {
            "title": p["title"],
            "handle": p["handle"],
            "product_type": p["product_type"],
            "vendor": p["vendor"],
            "status": p["status"],
            "published": p["published_at"] is not None,
            "tags": ", ".join(p["tags"]) or None,
            "image_url": p["image_url"],
            "created_at": p["created_at"],
            "updated_at": p["updated_at"],
            "deleted": False,
            "variants": sorted(
                (
                    str(v["id"]),
                    v["title"],
                    v["sku"],
                    v["price"],
                    v["compare_at_price"],
                    v["cost"],
                    v["inventory_quantity"],
                    variant_available(v),
                    v["updated_at"],
                )
                for v in p["variants"]
            ),
        }
    return result


def actual_products(
    database: Database, shop_id: int, include_deleted: bool = False
) -> dict[str, dict[str, Any]]:
    with database.sessionmaker() as session:
        variants: dict[int, list[tuple[Any, ...]]] = {}
        for v in session.scalars(select(Variant).where(Variant.shop_id == shop_id)):
            variants.setdefault(v.product_id, []).append(
                (
                    v.platform_id,
                    v.title,
                    v.sku,
                    v.price,
                    v.compare_at_price,
                    v.cost,
                    v.inventory_quantity,
                    v.available,
                    v.platform_updated_at,
                )  # fmt: skip
            )
        return {
            p.platform_id: {
                "title": p.title,
                "handle": p.handle,
                "product_type": p.product_type,
                "vendor": p.vendor,
                "status": p.status,
                "published": p.published,
                "tags": p.tags,
                "image_url": p.image_url,
                "created_at": p.platform_created_at,
                "updated_at": p.platform_updated_at,
                "deleted": p.deleted_at is not None,
                "variants": sorted(variants.get(p.id, [])),
            }
            for p in session.scalars(select(Product).where(Product.shop_id == shop_id))
            if include_deleted or p.deleted_at is None
        }


def differences(
    expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], limit: int = 5
) -> list[str]:
    """A few readable differences (empty when the two agree)."""
    found = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            found.append(f"{key}: missing from the database")
        elif key not in expected:
            found.append(f"{key}: in the database but not in the store")
        else:
            for field, value in expected[key].items():
                if actual[key].get(field) != value:
                    found.append(f"{key}.{field}: store {value!r} != database {actual[key].get(field)!r}")
        if len(found) >= limit:
            break
    return found


def assert_database_matches(store: Store, database: Database, shop_id: int) -> None:
    """The app's orders, lines, customers and products are exactly the store's."""
    for name, expected, actual in (
        ("orders", expected_orders(store), actual_orders(database, shop_id)),
        ("customers", expected_customers(store), actual_customers(database, shop_id)),
        ("products", expected_products(store), actual_products(database, shop_id)),
    ):
        problems = differences(expected, actual)
        assert not problems, f"{name} differ:\n" + "\n".join(problems)
