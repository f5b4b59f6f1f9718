"""One-time admin sign-in links (`cvo admin-link SHOP`) for shops outside Shopify's admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, UTCDateTime, intpk


class AdminLink(Base):
    """A sign-in link: only the SHA-256 of its secret is stored; it works once, before it expires."""

    __tablename__ = "admin_links"
    __table_args__ = (Index("ix_admin_links_shop_created", "shop_id", "created_at"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
