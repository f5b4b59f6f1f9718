"""Customer-value results: dated snapshots, per-customer scores, stored summaries, marketing spend.

A computation writes a new snapshot (status `building`), its customer scores and summaries, and
then, in one short transaction, marks it `ready` and current. Readers only follow the current
snapshot, so they never see half a computation. Old snapshots are pruned per shop.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, JsonType, Money, UTCDateTime, intpk


class AnalyticsSnapshot(Base):
    """One computation of a shop's customer value as of a day, with the model and settings used."""

    __tablename__ = "analytics_snapshots"
    __table_args__ = (
        Index("ix_analytics_snapshots_shop_as_of", "shop_id", "as_of"),
        # At most one current snapshot per shop.
        Index(
            "uq_analytics_snapshots_current",
            "shop_id",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
        {"sqlite_autoincrement": True},  # ids are never reused (transitions and links name them)
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="building")  # building, ready
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customers: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    # The snapshot the stored transitions compare against (kept without a foreign key: it may
    # be pruned before this one).
    previous_id: Mapped[int | None] = mapped_column(BigId)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    clv_model: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class CustomerScore(Base):
    """A customer's scores, segment and values in one snapshot.

    Millions of rows are written per computation, so, like order lines, they carry no foreign
    keys; they are deleted with their snapshot (`services.insights.store`) or shop
    (`services.shops.delete_shop`).
    """

    __tablename__ = "customer_scores"
    __table_args__ = (
        # a segment's customers by CLV, and audiences, page through this index (scanned backwards)
        Index("ix_customer_scores_segment", "snapshot_id", "segment", "historic_clv", "customer_id"),
        Index("ix_customer_scores_shop", "shop_id"),
    )

    snapshot_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId)
    r: Mapped[int] = mapped_column(SmallInteger)
    f: Mapped[int] = mapped_column(SmallInteger)
    m: Mapped[int] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(String(32))
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[Decimal] = mapped_column(Money())
    first_order_on: Mapped[date] = mapped_column(Date)
    last_order_on: Mapped[date] = mapped_column(Date)
    historic_clv: Mapped[Decimal] = mapped_column(Money())
    predicted_clv_12m: Mapped[Decimal | None] = mapped_column(Money())
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_orders_90d: Mapped[float | None] = mapped_column(Float)
    expected_orders_365d: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[str] = mapped_column(String(64))


class AnalyticsSummary(Base):
    """A precomputed summary of a snapshot (segments, RFM grid, profiles, channels, offers, ...).

    The payload is JSON with money as decimal strings; the admin reads one row per page.
    """

    __tablename__ = "analytics_summaries"
    __table_args__ = (UniqueConstraint("snapshot_id", "kind"),)

    id: Mapped[intpk]
    snapshot_id: Mapped[int] = mapped_column(BigId, ForeignKey("analytics_snapshots.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Any] = mapped_column(JsonType)


class MarketingSpend(Base):
    """What a shop spent on one channel in one month (`month` is the first day of the month)."""

    __tablename__ = "marketing_spend"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "month"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
