"""The data of each admin page, read from the shop's stored summaries (one row each per page).

Nothing here scans customers except the segment page's one page of customers (an index walk),
so the dashboard of a shop of a million customers reads as fast as a small one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cvo_plugin.models import Shop
from cvo_plugin.services.crosssell import controls as crosssell_controls
from cvo_plugin.services.crosssell.read import RecommendationList, UnknownProductError, recommend
from cvo_plugin.services.crosssell.store import ProductOrders, bought_products, current_set
from cvo_plugin.services.insights import read
from cvo_plugin.services.insights.read import NoSnapshotError
from cvo_plugin.services.insights.spend import spend_by_month

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PRODUCTS_PER_PAGE = 50


def _optional(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The result of a read, or None when the shop has nothing computed for it yet."""
    try:
        return call(*args, **kwargs)
    except NoSnapshotError:
        return None


def rfm_matrix(grid: dict[str, Any]) -> dict[str, Any]:
    """The stored R x F cells as rows (recency high to low) of columns (frequency low to high)."""
    scale = int(grid["scale"])
    cells = {(c["r"], c["f"]): c for c in grid["cells"]}
    most = max((c["customers"] for c in grid["cells"]), default=0)
    rows = [
        {"r": r, "cells": [cells.get((r, f), {"r": r, "f": f, "customers": 0, "avg_monetary": None}) for f in
                           range(1, scale + 1)]}
        for r in range(scale, 0, -1)
    ]  # fmt: skip
    return {"scale": scale, "rows": rows, "max_customers": most, "frequencies": list(range(1, scale + 1))}


def dashboard(session: Session, shop_id: int) -> dict[str, Any]:
    """The dashboard: segment summary, RFM grid, predicted CLV by segment, channels; None parts
    when nothing was computed yet."""
    segments = _optional(read.segment_summary, session, shop_id)
    if segments is None:
        return {"segments": None, "grid": None, "clv": None, "channels": None}
    grid = read.summary(session, shop_id, "rfm_grid")
    return {
        "segments": segments,
        "grid": rfm_matrix(grid),
        "clv": read.summary(session, shop_id, "clv_by_segment"),
        "channels": read.summary(session, shop_id, "channels"),
    }


def segment_page(
    session: Session,
    shop_id: int,
    segment: str,
    *,
    page: int = 1,
    search: str | None = None,
    sort: str = "historic_clv",
) -> dict[str, Any]:
    """A segment's ideal-customer profile, one page of its customers and its moves in and out.

    Raises `NoSnapshotError` before the first computation and `UnknownSegmentError` for a key
    the shop's segment table does not have.
    """
    profile = read.segment_profile(session, shop_id, segment)
    customers = read.segment_customers(session, shop_id, segment, page=page, search=search, sort=sort)
    try:
        moves = read.transitions(session, shop_id, segment=segment)
    except NoSnapshotError:
        moves = None
    names = read.segment_names(read.get_snapshot(session, shop_id))
    return {"profile": profile, "customers": customers, "transitions": moves, "names": names}


def check_segment(session: Session, shop_id: int, segment: str) -> None:
    """Raise `NoSnapshotError` or `UnknownSegmentError` unless the shop's current table has `segment`."""
    if segment not in read.segment_names(read.get_snapshot(session, shop_id)):
        raise read.UnknownSegmentError(segment)


def segment_list(session: Session, shop_id: int) -> list[dict[str, str]]:
    """The keys and names of the shop's segments (for the navigation), [] before a computation."""
    snapshot = read.current_snapshot(session, shop_id)
    if snapshot is None:
        return []
    return [{"key": k, "name": v} for k, v in read.segment_names(snapshot).items()]


def channels(session: Session, shop_id: int) -> dict[str, Any]:
    """The channels page: CAC, CLV and LTV:CAC per channel, and the stored spend by month."""
    return {
        "summary": _optional(read.summary, session, shop_id, "channels"),
        "spend": spend_by_month(session, shop_id),
    }


def offers(session: Session, shop_id: int) -> dict[str, Any] | None:
    """First-purchase products ranked by what their buyers are worth afterwards."""
    return _optional(read.summary, session, shop_id, "offers")


@dataclass(frozen=True)
class CrosssellPage:
    computed_at: Any
    products: list[ProductOrders]
    selected: RecommendationList | None
    upsell: RecommendationList | None
    downsell: RecommendationList | None
    controls: crosssell_controls.ControlsView


def crosssells(
    session: Session, shop_id: int, product_id: str | None = None, search: str | None = None, page: int = 1
) -> CrosssellPage:
    """The products bought (most ordered first, searchable) and one product's lists and controls.

    Raises `UnknownProductError` for a product id the shop does not have.
    """
    page = max(int(page), 1)
    products = bought_products(
        session, shop_id, limit=PRODUCTS_PER_PAGE, offset=(page - 1) * PRODUCTS_PER_PAGE, search=search
    )
    selected = upsell = downsell = None
    if product_id:
        selected = recommend(session, shop_id, [product_id])
        upsell = recommend(session, shop_id, [product_id], list_kind="upsell")
        downsell = recommend(session, shop_id, [product_id], list_kind="downsell")
    stored = current_set(session, shop_id)
    return CrosssellPage(
        computed_at=stored.computed_at if stored else None,
        products=products,
        selected=selected,
        upsell=upsell,
        downsell=downsell,
        controls=crosssell_controls.list_controls(session, shop_id, product_id or None),
    )


def shop_header(session: Session, shop_id: int) -> dict[str, Any]:
    """The shop's name, currency and last computation (every page's header)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"no shop {shop_id}")
    snapshot = read.current_snapshot(session, shop_id)
    return {
        "id": shop.id,
        "domain": shop.domain,
        "name": shop.name or shop.domain,
        "platform": shop.platform,
        "currency": shop.currency,
        "as_of": snapshot.as_of if snapshot else None,
        "computed_at": snapshot.finished_at if snapshot else None,
    }


__all__ = [
    "WEEKDAYS",
    "CrosssellPage",
    "UnknownProductError",
    "channels",
    "check_segment",
    "crosssells",
    "dashboard",
    "offers",
    "rfm_matrix",
    "segment_list",
    "segment_page",
    "shop_header",
]
