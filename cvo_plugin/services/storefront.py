"""The demo storefront (`cvo demo`): a product page and a cart page like a theme's, whose cart
speaks Shopify's Ajax cart API (`/cart.js`, `/cart/add.js`, `/cart/update.js`), so the real
widget script runs against it unchanged.

Carts (variant id -> quantity, plus the cart attributes) are kept by `DemoCarts` under a
cart token; this module turns them into Shopify-shaped JSON.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import Product, Variant
from cvo_plugin.services.crosssell.products import ProductCard, product_cards
from cvo_plugin.services.crosssell.store import bought_products

MAX_LINES = 100
MAX_QUANTITY = 99


class CartError(ValueError):
    """An add-to-cart request the cart refuses (Shopify answers these with 422)."""


@dataclass(frozen=True)
class CartVariant:
    variant_id: str
    product_id: str
    title: str
    price_cents: int
    url: str | None
    image_url: str | None


def featured_products(session: Session, shop_id: int, limit: int = 12) -> list[ProductCard]:
    """The shop's most ordered products (those with cross-sells), as cards."""
    ids = [p.product_id for p in bought_products(session, shop_id, limit=limit)]
    cards = product_cards(session, shop_id, ids=ids)
    return [cards[i] for i in ids if i in cards and cards[i].available]


def product_page(session: Session, shop_id: int, platform_id: str) -> ProductCard | None:
    """One product's card, or None when the shop has no such product."""
    cards = product_cards(session, shop_id, platform_ids=[platform_id])
    return next(iter(cards.values()), None)


def _variants(session: Session, shop_id: int, variant_ids: Sequence[str]) -> dict[str, CartVariant]:
    rows = session.execute(
        select(
            Variant.platform_id,
            Product.platform_id,
            Product.title,
            Variant.title,
            Variant.price,
            Product.url,
            Product.handle,
            Product.image_url,
        )
        .join(Product, Product.id == Variant.product_id)
        .where(
            Variant.shop_id == shop_id, Product.shop_id == shop_id, Variant.platform_id.in_(list(variant_ids))
        )
    ).all()
    found = {}
    for vid, pid, title, vtitle, price, url, handle, image in rows:
        name = title or pid
        if vtitle and vtitle.lower() != "default title":
            name = f"{name} - {vtitle}"
        found[vid] = CartVariant(
            vid,
            pid,
            name,
            int(round((price or 0) * 100)),
            url or (f"/products/{handle}" if handle else None),
            image,
        )
    return found


def add_items(
    session: Session, shop_id: int, cart: Mapping[str, int], items: Any
) -> tuple[dict[str, int], list[CartVariant]]:
    """The cart with `items` (`[{"id": variant, "quantity": n}]`) added, and the variants added."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LINES:
        raise CartError(f"items must be a list of 1 to {MAX_LINES} lines")
    wanted: list[tuple[str, int]] = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("id") in (None, ""):
            raise CartError("each item needs a variant id")
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            raise CartError(f"quantity must be a whole number from 1 to {MAX_QUANTITY}")
        wanted.append((str(item["id"]), quantity))
    known = _variants(session, shop_id, [v for v, _ in wanted])
    missing = [v for v, _ in wanted if v not in known]
    if missing:
        raise CartError(f"no variant {missing[0]!r} in this shop")
    updated = dict(cart)
    for variant, quantity in wanted:
        updated[variant] = min(updated.get(variant, 0) + quantity, MAX_QUANTITY)
    return updated, [known[v] for v, _ in wanted]


def cart_json(
    session: Session, shop_id: int, currency: str, cart: Mapping[str, int], attributes: Mapping[str, str]
) -> dict[str, Any]:
    """The cart as Shopify's `/cart.js` shapes it (prices in cents)."""
    known = _variants(session, shop_id, list(cart))
    items = [
        {
            "id": v.variant_id,
            "variant_id": v.variant_id,
            "product_id": v.product_id,
            "title": v.title,
            "quantity": quantity,
            "price": v.price_cents,
            "line_price": v.price_cents * quantity,
            "url": v.url,
            "image": v.image_url,
        }
        for vid, quantity in cart.items()
        if (v := known.get(vid)) is not None
    ]
    return {
        "token": "demo",
        "items": items,
        "item_count": sum(i["quantity"] for i in items),
        "total_price": sum(i["line_price"] for i in items),
        "currency": currency,
        "attributes": dict(attributes),
    }


def line_json(variant: CartVariant, quantity: int) -> dict[str, Any]:
    """One added line as `/cart/add.js` answers it."""
    return {
        "id": variant.variant_id,
        "variant_id": variant.variant_id,
        "product_id": variant.product_id,
        "title": variant.title,
        "quantity": quantity,
        "price": variant.price_cents,
    }


class DemoCarts:
    """The demo storefront's carts, kept on the server by cart token like Shopify's (a cookie
    holds only the token, so concurrent cart calls of one page cannot overwrite each other)."""

    def __init__(self, max_carts: int = 10_000) -> None:
        self.max_carts = max_carts
        self._carts: OrderedDict[str, tuple[dict[str, int], dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[dict[str, int], dict[str, str]]:
        """(variant id -> quantity, attributes) of a cart (empty when unknown)."""
        with self._lock:
            items, attributes = self._carts.get(token, ({}, {}))
            return dict(items), dict(attributes)

    def update(
        self, token: str, items: Mapping[str, int] | None = None, attributes: Mapping[str, str] | None = None
    ) -> None:
        """Replace a cart's items and/or attributes."""
        with self._lock:
            old_items, old_attributes = self._carts.pop(token, ({}, {}))
            self._carts[token] = (
                dict(items) if items is not None else old_items,
                dict(attributes) if attributes is not None else old_attributes,
            )
            while len(self._carts) > self.max_carts:
                self._carts.popitem(last=False)
