"""Recording the widget's events: impressions, clicks and add-to-carts.

Events are accepted only for the shop's own products (both the product the block was shown
for and the recommended one); others are dropped and counted. Each event is stored once per
visitor, kind, placement, products and day (`dedup_key`), so repeated beacons change nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cvo_plugin.models import Product
from cvo_plugin.models.widget import EVENT_KINDS, PLACEMENTS, WidgetEvent
from cvo_plugin.services.widget.directory import WidgetShop
from cvo_plugin.services.widget.holdout import arm_of, valid_anon_id

MAX_EVENTS = 50


class EventError(ValueError):
    """A batch of events is malformed; the message says what is wrong."""


@dataclass(frozen=True)
class EventReceipt:
    received: int
    stored: int
    duplicates: int
    dropped: int


@dataclass(frozen=True)
class _Event:
    kind: str
    placement: str
    source: str | None
    product: str


def _text(value: Any, name: str, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise EventError(f"{name} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str) or len(value) > 64:
        raise EventError(f"{name} must be a product id of at most 64 characters")
    return value


def parse_events(payload: Any) -> tuple[str, list[_Event]]:
    """The anonymous id and the events of a beacon body; `EventError` when malformed."""
    if not isinstance(payload, Mapping):
        raise EventError("the body must be a JSON object with `anon` and `events`")
    anon = payload.get("anon")
    if not isinstance(anon, str) or not valid_anon_id(anon):
        raise EventError("`anon` must be the widget's anonymous id (8 to 64 letters, digits, - or _)")
    events = payload.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise EventError(f"`events` must be a list of 1 to {MAX_EVENTS} events")
    parsed = []
    for event in events:
        if not isinstance(event, Mapping):
            raise EventError("each event must be an object")
        kind, placement = event.get("kind"), event.get("placement", "product")
        if kind not in EVENT_KINDS:
            raise EventError(f"an event's kind must be one of {', '.join(EVENT_KINDS)}")
        if placement not in PLACEMENTS:
            raise EventError(f"an event's placement must be one of {', '.join(PLACEMENTS)}")
        product = _text(event.get("product"), "an event's `product`")
        assert product is not None
        parsed.append(_Event(kind, placement, _text(event.get("source"), "`source`", False), product))
    return anon, parsed


def dedup_key(anon: str, event: _Event, day: str) -> str:
    """The key an event is stored under once."""
    raw = "\x00".join((anon, event.kind, event.placement, event.source or "", event.product, day))
    return hashlib.sha256(raw.encode()).hexdigest()


def record_events(
    session: Session, shop: WidgetShop, payload: Any, now: datetime | None = None
) -> EventReceipt:
    """Store a beacon's events for `shop` (the caller commits); `EventError` when malformed."""
    anon, events = parse_events(payload)
    now = now or datetime.now(UTC)
    named = {p for e in events for p in (e.source, e.product) if p}
    known = set(
        session.scalars(
            select(Product.platform_id).where(
                Product.shop_id == shop.id, Product.platform_id.in_(sorted(named))
            )
        )
    )
    arm = arm_of(shop.public_key, anon, shop.settings.holdout_share)
    day = now.date()
    rows: dict[str, dict[str, Any]] = {}
    dropped = 0
    for event in events:
        if event.product not in known or (event.source is not None and event.source not in known):
            dropped += 1
            continue
        key = dedup_key(anon, event, day.isoformat())
        rows[key] = {
            "shop_id": shop.id,
            "day": day,
            "kind": event.kind,
            "placement": event.placement,
            "arm": arm,
            "anon_id": anon,
            "source_product_id": event.source,
            "product_id": event.product,
            "dedup_key": key,
            "created_at": now,
        }
    stored = 0
    if rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(WidgetEvent)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["shop_id", "dedup_key"])
            .returning(WidgetEvent.id)
        )
        stored = len(session.execute(statement).all())
    accepted = len(events) - dropped
    return EventReceipt(len(events), stored, accepted - stored, dropped)


def event_counts(session: Session, shop_id: int, since: datetime | None = None) -> dict[str, dict[str, int]]:
    """Events by arm and kind (for the performance figures)."""
    query = (
        select(WidgetEvent.arm, WidgetEvent.kind, func.count())
        .where(WidgetEvent.shop_id == shop_id)
        .group_by(WidgetEvent.arm, WidgetEvent.kind)
    )
    if since is not None:
        query = query.where(WidgetEvent.day >= since.date())
    counts: dict[str, dict[str, int]] = {}
    for arm, kind, count in session.execute(query):
        counts.setdefault(arm, {})[kind] = int(count)
    return counts
