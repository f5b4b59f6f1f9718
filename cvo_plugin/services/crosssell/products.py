"""What the cross-sells know about products: whether they can be sold now, and their cards.

A product is *available* (may be recommended) when it is not deleted, its status is `active`
(or unknown), it is not unpublished, and, when its variants' availability is known, at least
one variant is available. A variant is available unless the platform said it is not
(`available` false: out of stock and not sold on backorder); unknown counts as available.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from cvo_plugin.models import Product, Variant


def is_available(
    status: str | None,
    published: bool | None,
    deleted_at: datetime | None,
    variants: int,
    unavailable_variants: int,
) -> bool:
    """Whether a product may be recommended (the rule of the module docstring)."""
    if deleted_at is not None or published is False:
        return False
    if status is not None and status.lower() != "active":
        return False
    return not (variants > 0 and unavailable_variants >= variants)


def catalogue_query(shop_id: int) -> Select[Any]:
    """Per product of the shop (by id): its fields, variant counts and reference prices.

    Columns: id, product_type, vendor, status, published, deleted_at, variants,
    unavailable_variants, price (the cheapest available variant's price, else the cheapest).
    """
    unavailable = case((Variant.available.is_(False), 1), else_=0)
    price_available = case((Variant.available.is_(False), None), else_=Variant.price)
    summary = (
        select(
            Variant.product_id.label("product_id"),
            func.count(Variant.id).label("variants"),
            func.sum(unavailable).label("unavailable_variants"),
            func.coalesce(func.min(price_available), func.min(Variant.price)).label("price"),
        )
        .where(Variant.shop_id == shop_id)
        .group_by(Variant.product_id)
        .subquery()
    )
    return (
        select(
            Product.id,
            Product.product_type,
            Product.vendor,
            Product.status,
            Product.published,
            Product.deleted_at,
            func.coalesce(summary.c.variants, 0),
            func.coalesce(summary.c.unavailable_variants, 0),
            summary.c.price,
        )
        .outerjoin(summary, summary.c.product_id == Product.id)
        .where(Product.shop_id == shop_id)
        .order_by(Product.id)
    )


@dataclass(frozen=True)
class ProductCard:
    """What a widget shows of a product. Money is `Decimal` in the shop's currency."""

    id: int
    platform_id: str
    title: str
    product_type: str | None
    vendor: str | None
    url: str | None
    image_url: str | None
    price: Decimal | None
    compare_at_price: Decimal | None
    price_min: Decimal | None
    price_max: Decimal | None
    variant_id: str | None
    available: bool


def product_cards(
    session: Session, shop_id: int, ids: Collection[int] = (), platform_ids: Collection[str] = ()
) -> dict[int, ProductCard]:
    """Cards of the shop's products with these ids or platform ids, by product id.

    The default variant is the first available one (by creation); its price and compare-at
    price are the card's. Products of other shops are never read.
    """
    if not ids and not platform_ids:
        return {}
    products = session.scalars(
        select(Product).where(
            Product.shop_id == shop_id,
            Product.id.in_(list(ids)) | Product.platform_id.in_(list(platform_ids)),
        )
    ).all()
    variants: dict[int, list[Variant]] = {}
    if products:
        for variant in session.scalars(
            select(Variant)
            .where(Variant.shop_id == shop_id, Variant.product_id.in_([p.id for p in products]))
            .order_by(Variant.product_id, Variant.id)
        ):
            variants.setdefault(variant.product_id, []).append(variant)
    return {p.id: _card(p, variants.get(p.id, [])) for p in products}


def _card(product: Product, variants: list[Variant]) -> ProductCard:
    on_sale = [v for v in variants if v.available is not False]
    default = on_sale[0] if on_sale else (variants[0] if variants else None)
    prices = [v.price for v in (on_sale or variants) if v.price is not None]
    unavailable = len(variants) - len(on_sale)
    return ProductCard(
        id=product.id,
        platform_id=product.platform_id,
        title=product.title or product.platform_id,
        product_type=product.product_type,
        vendor=product.vendor,
        url=product.url or (f"/products/{product.handle}" if product.handle else None),
        image_url=product.image_url or (default.image_url if default else None),
        price=default.price if default else None,
        compare_at_price=default.compare_at_price if default else None,
        price_min=min(prices) if prices else None,
        price_max=max(prices) if prices else None,
        variant_id=default.platform_id if default and default.available is not False else None,
        available=is_available(
            product.status, product.published, product.deleted_at, len(variants), unavailable
        ),
    )
