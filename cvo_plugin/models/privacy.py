"""Privacy requests from the platform (GDPR/CCPA): what was asked, when it was done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, JsonType, UTCDateTime, intpk


class PrivacyRequest(Base):
    """A customer data request or redaction for one shop.

    `kind` is `data_request` or `customer_redact`. For a data request, `export` holds the
    customer's data as the app stores it (the merchant hands it to the customer); a later
    redaction of the same customer erases it. Redactions keep only the customer's platform id
    and the order ids, as the record that the erasure was done.
    """

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_shop_received", "shop_id", "received_at"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    customer_platform_id: Mapped[str | None] = mapped_column(String(64))
    order_ids: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="received")  # received, completed
    export: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
