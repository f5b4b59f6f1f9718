"""The widget's JSON: a product's "frequently bought together" block, or a cart's add-ons.

Built on `crosssell.recommend`; money is a decimal string in the shop's currency. Products in
a cart that the shop does not know (yet) are left out; a product page for an unknown product
raises `UnknownProductError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session

from cvo_plugin.services.crosssell.products import ProductCard
from cvo_plugin.services.crosssell.read import MAX_CART, UnknownProductError, recommend
from cvo_plugin.services.widget.directory import MAX_ITEMS, WidgetShop

PLACEMENT_PRODUCT = "product"
PLACEMENT_CART = "cart"


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def card_json(card: ProductCard, label: str | None = None) -> dict[str, Any]:
    """What the widget shows of one product."""
    return {
        "product_id": card.platform_id,
        "variant_id": card.variant_id,
        "title": card.title,
        "price": _money(card.price),
        "compare_at_price": _money(card.compare_at_price),
        "image_url": card.image_url,
        "url": card.url,
        "available": bool(card.available and card.variant_id),
        "label": label,
    }


def cache_key(shop: WidgetShop, placement: str, product_ids: Sequence[str], limit: int) -> str:
    """The response cache key: shop, computed set, placement, products (a cart's sorted), limit."""
    ids = sorted(product_ids) if placement == PLACEMENT_CART else list(product_ids)
    return f"{shop.id}:{shop.set_id or 0}:{placement}:{limit}:{','.join(ids)}"


def recommendations_body(
    session: Session, shop: WidgetShop, placement: str, product_ids: Sequence[str], limit: int
) -> bytes:
    """The JSON body of a recommendations answer (for the exposed arm)."""
    if not 1 <= limit <= MAX_ITEMS:
        raise ValueError(f"limit must be from 1 to {MAX_ITEMS}")
    wanted = list(dict.fromkeys(product_ids))[:MAX_CART]
    items: list[dict[str, Any]] = []
    product: dict[str, Any] | None = None
    while wanted:
        try:
            found = recommend(session, shop.id, wanted, limit=limit)
        except UnknownProductError as exc:
            if placement == PLACEMENT_PRODUCT:
                raise
            wanted = [p for p in wanted if p not in exc.platform_ids]
            continue
        if placement == PLACEMENT_PRODUCT:
            product = card_json(found.sources[0])
        items = [card_json(item.product, item.label) for item in found.items]
        break
    body = {
        "enabled": True,
        "arm": "exposed",
        "placement": placement,
        "currency": shop.currency,
        "product": product,
        "items": [item for item in items if item["available"]],
    }
    return orjson.dumps(body)


def empty_body(shop: WidgetShop, placement: str, arm: str, enabled: bool) -> bytes:
    """The answer when the widget is off for the shop, or the visitor is in the holdout."""
    return orjson.dumps(
        {
            "enabled": enabled,
            "arm": arm,
            "placement": placement,
            "currency": shop.currency,
            "product": None,
            "items": [],
        }
    )
