"""The storefront widget's return path: its events, and the segment tags written to the store.

- `WidgetEvent`: an impression, click or add-to-cart of a recommendation, one row per visitor,
  kind, placement, source product, recommended product and day (`dedup_key` is unique per shop,
  so a repeated beacon is stored once).
- `SegmentTagState`: the segment tag last written to the store for a customer, so the next
  computation writes only the customers whose segment changed.
- `SegmentTagWrite`: the log of what was written (or failed), one row per customer and run.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.models.commerce import shop_fk
from cvo_plugin.types import BigId, UTCDateTime, intpk

EVENT_KINDS = ("impression", "click", "add_to_cart")
PLACEMENTS = ("product", "cart")
ARMS = ("exposed", "holdout")


class WidgetEvent(Base):
    """One de-duplicated widget event (platform ids, not row ids: events outlive re-imports)."""

    __tablename__ = "widget_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedup_key"),
        Index("ix_widget_events_shop_day", "shop_id", "day", "kind"),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = shop_fk()
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    placement: Mapped[str] = mapped_column(String(16))
    arm: Mapped[str] = mapped_column(String(8))
    anon_id: Mapped[str] = mapped_column(String(64))
    source_product_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SegmentTagState(Base):
    """The segment tag the store holds for a customer (as last written by the app)."""

    __tablename__ = "segment_tag_states"

    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SegmentTagWrite(Base):
    """What one write-back run wrote for one customer: the tag added, the one removed, the outcome."""

    __tablename__ = "segment_tag_writes"
    __table_args__ = (Index("ix_segment_tag_writes_shop_written", "shop_id", "written_at"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = shop_fk()
    run_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(BigId)
    customer_platform_id: Mapped[str] = mapped_column(String(64))
    added: Mapped[str | None] = mapped_column(String(64))
    removed: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # written, failed
    error: Mapped[str | None] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
