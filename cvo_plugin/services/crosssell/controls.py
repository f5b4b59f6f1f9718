"""The merchant's controls over cross-sells: pins, hides and hand-made bundles.

They are stored by the shop and the products' platform ids, apart from the computed sets, so
every recomputation keeps them; they apply when recommendations are read. Every write is
idempotent (pinning twice moves the pin, hiding twice hides once, saving a bundle under an
existing name replaces its products) and validated first: a product must belong to the shop
and not be deleted. Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from cvo_plugin.models import CrosssellBundle, CrosssellBundleItem, CrosssellHide, CrosssellPin, Product
from cvo_plugin.models.crosssell import EVERYWHERE

MAX_PIN_POSITION = 50
MAX_BUNDLE_PRODUCTS = 10

Row = TypeVar("Row", CrosssellPin, CrosssellHide)


class ControlError(ValueError):
    """A control cannot be saved; the message says why (nothing was changed)."""


def _products(session: Session, shop_id: int, platform_ids: Sequence[str]) -> dict[str, Product]:
    """The shop's (not deleted) products with these platform ids; `ControlError` for any other."""
    wanted = [str(p).strip() for p in platform_ids]
    if any(not p or p == EVERYWHERE or len(p) > 64 for p in wanted):
        raise ControlError("product ids must be 1 to 64 characters")
    found = {
        p.platform_id: p
        for p in session.scalars(
            select(Product).where(Product.shop_id == shop_id, Product.platform_id.in_(wanted))
        )
    }
    for platform_id in wanted:
        product = found.get(platform_id)
        if product is None:
            raise ControlError(f"this shop has no product {platform_id!r}")
        if product.deleted_at is not None:
            raise ControlError(f"product {platform_id!r} was deleted")
    return found


def _pair(session: Session, shop_id: int, product_id: str, other_id: str) -> tuple[str, str]:
    found = _products(session, shop_id, [product_id, other_id])
    source, target = found[str(product_id).strip()], found[str(other_id).strip()]
    if source.id == target.id:
        raise ControlError("a product cannot be recommended for itself")
    return source.platform_id, target.platform_id


def _remove(session: Session, model: type[Any], **keys: Any) -> bool:
    """Delete the rows of `model` with these column values; whether there were any."""
    return bool(session.execute(delete(model).filter_by(**keys)).rowcount)  # type: ignore[attr-defined]


def _get_or_add(session: Session, model: type[Row], **keys: Any) -> Row:
    """The row of `model` with these column values, added when missing."""
    row = session.scalars(select(model).filter_by(**keys)).first()
    if row is None:
        row = model(**keys, created_at=datetime.now(UTC))
        session.add(row)
    return row


def pin(session: Session, shop_id: int, product_id: str, pinned_id: str, position: int = 1) -> CrosssellPin:
    """Show `pinned_id` at `position` (1-based) of `product_id`'s add-ons; un-hides the pair."""
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= MAX_PIN_POSITION:
        raise ControlError(f"position must be a whole number from 1 to {MAX_PIN_POSITION}")
    source, target = _pair(session, shop_id, product_id, pinned_id)
    _remove(session, CrosssellHide, shop_id=shop_id, product_platform_id=source, hidden_platform_id=target)
    row = _get_or_add(
        session, CrosssellPin, shop_id=shop_id, product_platform_id=source, pinned_platform_id=target
    )
    row.position = position
    session.flush()
    return row


def unpin(session: Session, shop_id: int, product_id: str, pinned_id: str) -> bool:
    """Remove a pin; False when there was none."""
    return _remove(
        session,
        CrosssellPin,
        shop_id=shop_id,
        product_platform_id=str(product_id),
        pinned_platform_id=str(pinned_id),
    )


def hide(session: Session, shop_id: int, product_id: str | None, hidden_id: str) -> CrosssellHide:
    """Never recommend `hidden_id` for `product_id` (None: for any product); removes pins of it."""
    if product_id is None:
        target = _products(session, shop_id, [hidden_id])[str(hidden_id).strip()].platform_id
        source = EVERYWHERE
        _remove(session, CrosssellPin, shop_id=shop_id, pinned_platform_id=target)
    else:
        source, target = _pair(session, shop_id, product_id, hidden_id)
        _remove(session, CrosssellPin, shop_id=shop_id, product_platform_id=source, pinned_platform_id=target)
    row = _get_or_add(
        session, CrosssellHide, shop_id=shop_id, product_platform_id=source, hidden_platform_id=target
    )
    session.flush()
    return row


def unhide(session: Session, shop_id: int, product_id: str | None, hidden_id: str) -> bool:
    """Remove a hide (`product_id` None: the shop-wide one); False when there was none."""
    return _remove(
        session,
        CrosssellHide,
        shop_id=shop_id,
        product_platform_id=EVERYWHERE if product_id is None else str(product_id),
        hidden_platform_id=str(hidden_id),
    )


def save_bundle(session: Session, shop_id: int, name: str, product_ids: Sequence[str]) -> CrosssellBundle:
    """Create the bundle `name` of these products (2 to 10, in order), or replace its products."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 255:
        raise ControlError("a bundle needs a name of 1 to 255 characters")
    wanted = [str(p).strip() for p in product_ids]
    if len(set(wanted)) != len(wanted):
        raise ControlError("a bundle holds each product once")
    if not 2 <= len(wanted) <= MAX_BUNDLE_PRODUCTS:
        raise ControlError(f"a bundle holds 2 to {MAX_BUNDLE_PRODUCTS} products")
    _products(session, shop_id, wanted)
    now = datetime.now(UTC)
    bundle = session.scalars(
        select(CrosssellBundle).where(CrosssellBundle.shop_id == shop_id, CrosssellBundle.name == name)
    ).first()
    if bundle is None:
        bundle = CrosssellBundle(shop_id=shop_id, name=name, created_at=now, updated_at=now)
        session.add(bundle)
        session.flush()
    else:
        bundle.updated_at = now
        session.execute(delete(CrosssellBundleItem).where(CrosssellBundleItem.bundle_id == bundle.id))
    session.add_all(
        CrosssellBundleItem(bundle_id=bundle.id, shop_id=shop_id, product_platform_id=p, position=i)
        for i, p in enumerate(wanted)
    )
    session.flush()
    return bundle


def delete_bundle(session: Session, shop_id: int, bundle_id: int) -> bool:
    """Delete one of the shop's bundles; False when the shop has no such bundle."""
    bundle = session.scalars(
        select(CrosssellBundle).where(CrosssellBundle.shop_id == shop_id, CrosssellBundle.id == bundle_id)
    ).first()
    if bundle is None:
        return False
    session.execute(delete(CrosssellBundleItem).where(CrosssellBundleItem.bundle_id == bundle.id))
    session.delete(bundle)
    session.flush()
    return True


@dataclass(frozen=True)
class BundleView:
    id: int
    name: str
    product_ids: tuple[str, ...]


@dataclass(frozen=True)
class ControlsView:
    """A shop's controls (for one product, or all): what the admin lists."""

    pins: tuple[tuple[str, str, int], ...]  # (product, pinned, position)
    hides: tuple[tuple[str | None, str], ...]  # (product or None for everywhere, hidden)
    bundles: tuple[BundleView, ...]


def list_controls(session: Session, shop_id: int, product_id: str | None = None) -> ControlsView:
    """The shop's pins, hides and bundles; with `product_id`, those that concern that product."""
    pins_q = select(CrosssellPin).where(CrosssellPin.shop_id == shop_id)
    hides_q = select(CrosssellHide).where(CrosssellHide.shop_id == shop_id)
    bundles_q = select(CrosssellBundle).where(CrosssellBundle.shop_id == shop_id)
    if product_id is not None:
        pins_q = pins_q.where(
            or_(CrosssellPin.product_platform_id == product_id, CrosssellPin.pinned_platform_id == product_id)
        )
        hides_q = hides_q.where(
            or_(
                CrosssellHide.product_platform_id.in_([product_id, EVERYWHERE]),
                CrosssellHide.hidden_platform_id == product_id,
            )
        )
        bundles_q = bundles_q.where(
            CrosssellBundle.id.in_(
                select(CrosssellBundleItem.bundle_id).where(
                    CrosssellBundleItem.shop_id == shop_id,
                    CrosssellBundleItem.product_platform_id == product_id,
                )
            )
        )
    pins = tuple(
        (p.product_platform_id, p.pinned_platform_id, p.position)
        for p in session.scalars(pins_q.order_by(CrosssellPin.product_platform_id, CrosssellPin.position))
    )
    hides = tuple(
        (None if h.product_platform_id == EVERYWHERE else h.product_platform_id, h.hidden_platform_id)
        for h in session.scalars(hides_q.order_by(CrosssellHide.product_platform_id, CrosssellHide.id))
    )
    bundles = session.scalars(bundles_q.order_by(CrosssellBundle.name)).all()
    items: dict[int, list[str]] = {}
    if bundles:
        for item in session.scalars(
            select(CrosssellBundleItem)
            .where(
                CrosssellBundleItem.shop_id == shop_id,
                CrosssellBundleItem.bundle_id.in_([b.id for b in bundles]),
            )
            .order_by(CrosssellBundleItem.bundle_id, CrosssellBundleItem.position)
        ):
            items.setdefault(item.bundle_id, []).append(item.product_platform_id)
    return ControlsView(
        pins, hides, tuple(BundleView(b.id, b.name, tuple(items.get(b.id, []))) for b in bundles)
    )
