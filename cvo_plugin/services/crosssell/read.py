"""Reading cross-sells: one product's recommendations, or a cart's add-ons, ready to show.

Used by the widget API, the admin and `cvo recommend`. Each list starts from the current
computed set, applies the merchant's controls (see `compose`) and keeps only products that are
available now; every query is filtered by the shop.

Lists:

- `addons` for one product: frequently bought together, then the bestseller fallbacks
  (same type, then same vendor) for products with few or no co-purchases; for a cart of
  several products, the cart's combined add-ons (`analytics.basket.combine_cart`: noisy-or
  of the confidences) followed by the cart products' fallbacks. Bundles and pins apply.
- `upsell` and `downsell` for one product (rules in `analytics.basket.trade_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.analytics.basket import KINDS, combine_cart
from cvo_plugin.models import CrosssellBundle, CrosssellBundleItem, CrosssellHide, CrosssellPin, Shop
from cvo_plugin.models.crosssell import EVERYWHERE
from cvo_plugin.services.crosssell.compose import Candidate, Controls, compose
from cvo_plugin.services.crosssell.products import ProductCard, product_cards
from cvo_plugin.services.crosssell.settings import crosssell_settings
from cvo_plugin.services.crosssell.store import StoredRule, current_rules

LISTS = {
    "addons": ("fbt", "bestseller_type", "bestseller_vendor"),
    "upsell": ("upsell",),
    "downsell": ("downsell",),
}
MAX_CART = 50
MAX_LIMIT = 100


class UnknownProductError(LookupError):
    """A product id the shop does not have."""

    def __init__(self, platform_ids: Sequence[str]) -> None:
        names = ", ".join(repr(p) for p in platform_ids)
        super().__init__(f"this shop has no product {names}")
        self.platform_ids = tuple(platform_ids)


def _figure(value: float | None) -> float | None:
    """A metric for JSON: six significant digits; None for missing or infinite."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class Recommendation:
    """One recommended product with why it is there (`kind`, `label`) and its rule's metrics.

    For cart add-ons `confidence` is the combined confidence and the other metrics are those
    of the strongest rule, whose source is `because_of`. Pinned and bundled products that the
    computation did not find carry no metrics.
    """

    product: ProductCard
    kind: str
    label: str
    rank: int
    orders_together: int | None
    support: float | None
    confidence: float | None
    lift: float | None
    conviction: float | None
    because_of: str | None = None
    bundle: str | None = None
    explanation: str = ""

    def as_dict(self, currency: str) -> dict[str, Any]:
        """JSON-ready (CONTRACT.md's fields first; money as decimal strings)."""
        card = self.product
        return {
            "product_id": card.platform_id,
            "title": card.title,
            "kind": self.kind,
            "orders_together": self.orders_together,
            "support": _figure(self.support),
            "confidence": _figure(self.confidence),
            "lift": _figure(self.lift),
            "conviction": _figure(self.conviction),
            "label": self.label,
            "explanation": self.explanation,
            "rank": self.rank,
            "because_of": self.because_of,
            "bundle": self.bundle,
            "product_type": card.product_type,
            "vendor": card.vendor,
            "price": _money(card.price),
            "compare_at_price": _money(card.compare_at_price),
            "price_min": _money(card.price_min),
            "price_max": _money(card.price_max),
            "currency": currency,
            "variant_id": card.variant_id,
            "image_url": card.image_url,
            "url": card.url,
        }


@dataclass(frozen=True)
class RecommendationList:
    """A list for one product or a cart; `computed_at` None when nothing was computed yet."""

    shop_id: int
    currency: str
    list: str
    sources: tuple[ProductCard, ...]
    computed_at: datetime | None
    items: tuple[Recommendation, ...]
    set_id: int | None = None  # the computed set read (changes with every computation: a cache key)

    def as_json(self) -> list[dict[str, Any]]:
        return [item.as_dict(self.currency) for item in self.items]


def _label(candidate: Candidate, card: ProductCard, names: dict[int, str], cart: bool) -> str:
    kind = candidate.kind
    if kind == "fbt" and cart and candidate.because_of in names:
        return f"Often bought with {names[candidate.because_of]}"
    if kind == "bestseller_type" and card.product_type:
        return f"Bestseller in {card.product_type}"
    if kind == "bestseller_vendor" and card.vendor:
        return f"Bestseller from {card.vendor}"
    if kind == "bundle" and candidate.bundle:
        return f"Bundle: {candidate.bundle}"
    return {
        "fbt": "Frequently bought together",
        "upsell": "Customers moved up to this",
        "downsell": "A lower-priced alternative",
        "bestseller_type": "Bestseller",
        "bestseller_vendor": "Bestseller",
        "pinned": "Recommended by the shop",
        "bundle": "Bundle",
    }[kind]


def _explain(candidate: Candidate, card: ProductCard, names: dict[int, str]) -> str:
    """Why a product is on the list, in a merchant's words."""
    kind, together = candidate.kind, candidate.orders_together or 0
    source = names.get(candidate.because_of or -1) or " + ".join(names.values())
    if kind == "pinned":
        return "You pinned it here."
    if kind == "bundle":
        return f"It is in your bundle {candidate.bundle!r}."
    if kind == "fbt":
        return (
            f"{together:,} orders held both; {candidate.confidence or 0:.0%} of the orders with {source} "
            f"also held it, {candidate.lift or 0:.1f} times as often as orders in general."
        )
    if kind == "upsell":
        return (
            f"{together:,} customers who bought {source} later bought this dearer "
            f"{card.product_type or 'product'} ({candidate.confidence or 0:.0%} of {source}'s buyers)."
        )
    if kind == "downsell":
        return (
            f"{together:,} customers bought both {source} and this cheaper "
            f"{card.product_type or 'product'} in different orders ({candidate.confidence or 0:.0%} of "
            f"{source}'s buyers)."
        )
    group = card.product_type if kind == "bestseller_type" else card.vendor
    return (
        f"A bestseller of {group or 'the shop'}, filling the list where too few products are bought "
        f"with {source} often enough ({together:,} orders held both)."
    )


def _candidate(rule: StoredRule, because_of: int | None = None, confidence: float | None = None) -> Candidate:
    return Candidate(
        product_id=rule.recommended_id,
        kind=rule.kind,
        orders_together=rule.orders_together,
        support=rule.support,
        confidence=rule.confidence if confidence is None else confidence,
        lift=rule.lift,
        conviction=rule.conviction,
        because_of=because_of,
    )


def _computed(rules: list[StoredRule], sources: list[int]) -> list[Candidate]:
    """Stored rules as candidates in list order: by kind (fbt first), then rank; a cart's
    frequently-bought-together rules combined into one ranking."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    rules = sorted(rules, key=lambda r: (order[r.kind], r.rank, r.product_id))
    fbt = [r for r in rules if r.kind == "fbt"]
    rest = [_candidate(r) for r in rules if r.kind != "fbt"]
    if len(sources) == 1:
        return [_candidate(r) for r in fbt] + rest
    ranking = combine_cart(
        [r.product_id for r in fbt],
        [r.recommended_id for r in fbt],
        [r.confidence for r in fbt],
        [r.lift for r in fbt],
        [r.orders_together for r in fbt],
        sources,
    )
    combined = [
        _candidate(fbt[int(best)], because_of=fbt[int(best)].product_id, confidence=float(confidence))
        for best, confidence in zip(ranking.best, ranking.confidence, strict=True)
    ]
    return combined + rest


def _controls(
    session: Session, shop_id: int, sources: list[str], with_placement: bool
) -> tuple[set[str], list[tuple[str, int]], list[tuple[str, str]]]:
    """Hidden platform ids, pins (platform id, position) and bundled (platform id, bundle)."""
    hidden = set(
        session.scalars(
            select(CrosssellHide.hidden_platform_id).where(
                CrosssellHide.shop_id == shop_id,
                CrosssellHide.product_platform_id.in_([*sources, EVERYWHERE]),
            )
        )
    )
    if not with_placement:
        return hidden, [], []
    pins = [
        (row[0], row[1])
        for row in session.execute(
            select(CrosssellPin.pinned_platform_id, CrosssellPin.position)
            .where(CrosssellPin.shop_id == shop_id, CrosssellPin.product_platform_id.in_(sources))
            .order_by(CrosssellPin.position, CrosssellPin.id)
        )
    ]
    holding = select(CrosssellBundleItem.bundle_id).where(
        CrosssellBundleItem.shop_id == shop_id, CrosssellBundleItem.product_platform_id.in_(sources)
    )
    bundled = [
        (row[0], row[1])
        for row in session.execute(
            select(CrosssellBundleItem.product_platform_id, CrosssellBundle.name)
            .join(CrosssellBundle, CrosssellBundle.id == CrosssellBundleItem.bundle_id)
            .where(
                CrosssellBundle.shop_id == shop_id,
                CrosssellBundleItem.shop_id == shop_id,
                CrosssellBundleItem.bundle_id.in_(holding),
            )
            .order_by(CrosssellBundle.name, CrosssellBundleItem.position)
        )
    ]
    return hidden, pins, bundled


def recommend(
    session: Session,
    shop_id: int,
    product_ids: Sequence[str],
    *,
    list_kind: str = "addons",
    limit: int | None = None,
) -> RecommendationList:
    """The recommendations for one product (platform id) or the add-ons of a cart of several.

    `list_kind` is `addons`, `upsell` or `downsell` (the last two for one product only);
    `limit` defaults to the shop's `max_recommendations`. Raises `UnknownProductError` for a
    product the shop does not have, `ValueError` for a bad request, `LookupError` for an
    unknown shop.
    """
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"no shop with id {shop_id}")
    if list_kind not in LISTS:
        raise ValueError(f"the list must be one of {', '.join(LISTS)}")
    wanted = list(dict.fromkeys(str(p).strip() for p in product_ids))
    if not wanted or not 1 <= len(wanted) <= MAX_CART or any(not p or len(p) > 64 for p in wanted):
        raise ValueError(f"give 1 to {MAX_CART} product ids of 1 to 64 characters")
    if len(wanted) > 1 and list_kind != "addons":
        raise ValueError("upsells and downsells are for one product; a cart gets add-ons")
    limit = crosssell_settings(shop).max_recommendations if limit is None else int(limit)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")

    found = {c.platform_id: c for c in product_cards(session, shop_id, platform_ids=wanted).values()}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise UnknownProductError(missing)
    sources = [found[p] for p in wanted]
    source_ids = [c.id for c in sources]

    stored = current_rules(session, shop_id, source_ids, LISTS[list_kind])
    computed = _computed(stored.rules, source_ids)
    hidden, pins, bundled = _controls(session, shop_id, wanted, with_placement=list_kind == "addons")
    cards = product_cards(
        session,
        shop_id,
        ids={c.product_id for c in computed},
        platform_ids={*hidden, *(p for p, _ in pins), *(p for p, _ in bundled)},
    )
    by_platform = {card.platform_id: card.id for card in cards.values()}
    controls = Controls(
        hidden=frozenset(by_platform[p] for p in hidden if p in by_platform),
        pins=tuple((by_platform[p], position) for p, position in pins if p in by_platform),
        bundled=tuple((by_platform[p], name) for p, name in bundled if p in by_platform),
    )
    chosen = compose(
        computed,
        controls,
        exclude=set(source_ids),
        available={card.id for card in cards.values() if card.available},
        limit=limit,
    )
    names = {c.id: c.title for c in sources}
    items = tuple(
        Recommendation(
            product=cards[c.product_id],
            kind=c.kind,
            label=_label(c, cards[c.product_id], names, cart=len(sources) > 1),
            rank=rank,
            orders_together=c.orders_together,
            support=c.support,
            confidence=c.confidence,
            lift=c.lift,
            conviction=c.conviction,
            because_of=next((s.platform_id for s in sources if s.id == c.because_of), None),
            bundle=c.bundle,
            explanation=_explain(c, cards[c.product_id], names),
        )
        for rank, c in enumerate(chosen, start=1)
    )
    return RecommendationList(
        shop_id, shop.currency, list_kind, tuple(sources), stored.computed_at, items, stored.set_id
    )
