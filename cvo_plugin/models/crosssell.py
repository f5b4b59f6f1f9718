"""Cross-sell results and the merchant's controls over them.

Results come in sets: each computation writes a complete `CrosssellSet` (its rules and product
counts), then, in the same transaction, makes it the shop's current set and deletes the old
one. Readers read the current set in one statement, so they see the old or the new set, never
a mix or nothing.

Merchant controls (pins, hides, bundles) are keyed by the shop and the products' platform ids,
not by result rows, so they survive every recomputation (and a product's re-import).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, JsonType, UTCDateTime, intpk

# A hide for every source product ("never recommend this product anywhere").
EVERYWHERE = "*"


def _shop_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))


def _set_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("crosssell_sets.id", ondelete="CASCADE"))


class CrosssellSet(Base):
    """One computation of a shop's cross-sells; at most one per shop is current."""

    __tablename__ = "crosssell_sets"
    __table_args__ = (
        Index(
            "uq_crosssell_sets_current",
            "shop_id",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int] = _shop_fk()
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Orders up to this moment were read (the end of the as-of day, or the computation's start).
    data_until: Mapped[datetime] = mapped_column(UTCDateTime())
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    products: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class CrosssellRecommendation(Base):
    """One stored rule: `product_id` -> `recommended_id` of a kind, at a rank (0 = best).

    Kinds: `fbt` (frequently bought together), `upsell`, `downsell`, `bestseller_type` and
    `bestseller_vendor` (fallbacks). Metrics as in `cvo_plugin.analytics.basket`; for upsells
    and downsells `orders_together` counts customers. An infinite conviction is stored as NULL.
    """

    __tablename__ = "crosssell_recommendations"
    __table_args__ = (Index("ix_crosssell_recommendations_lookup", "set_id", "product_id", "kind", "rank"),)

    id: Mapped[intpk]
    set_id: Mapped[int] = _set_fk()
    shop_id: Mapped[int] = mapped_column(BigId)
    product_id: Mapped[int] = mapped_column(BigId)
    recommended_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(24))
    rank: Mapped[int] = mapped_column(Integer)
    orders_together: Mapped[int] = mapped_column(Integer)
    support: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lift: Mapped[float] = mapped_column(Float)
    conviction: Mapped[float | None] = mapped_column(Float)


class CrosssellProductStat(Base):
    """Per product of a set: the orders that held it (0 for a product nobody bought yet)."""

    __tablename__ = "crosssell_product_stats"

    set_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("crosssell_sets.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId)
    orders: Mapped[int] = mapped_column(Integer)


class CrosssellPin(Base):
    """The merchant puts `pinned_platform_id` at `position` (1-based) of a product's add-ons."""

    __tablename__ = "crosssell_pins"
    __table_args__ = (UniqueConstraint("shop_id", "product_platform_id", "pinned_platform_id"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = _shop_fk()
    product_platform_id: Mapped[str] = mapped_column(String(64))
    pinned_platform_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrosssellHide(Base):
    """The merchant never wants `hidden_platform_id` recommended for a product (`*`: anywhere)."""

    __tablename__ = "crosssell_hides"
    __table_args__ = (UniqueConstraint("shop_id", "product_platform_id", "hidden_platform_id"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = _shop_fk()
    product_platform_id: Mapped[str] = mapped_column(String(64))
    hidden_platform_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrosssellBundle(Base):
    """A hand-made bundle: products the merchant sells together, offered with each other."""

    __tablename__ = "crosssell_bundles"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = _shop_fk()
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrosssellBundleItem(Base):
    """A product of a bundle, at its position (0-based)."""

    __tablename__ = "crosssell_bundle_items"
    __table_args__ = (
        UniqueConstraint("bundle_id", "product_platform_id"),
        Index("ix_crosssell_bundle_items_shop_product", "shop_id", "product_platform_id"),
    )

    id: Mapped[intpk]
    bundle_id: Mapped[int] = mapped_column(BigId, ForeignKey("crosssell_bundles.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = _shop_fk()
    product_platform_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
