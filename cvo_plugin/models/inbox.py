"""Webhook bodies waiting to be applied: kept only until their delivery has been processed."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, intpk


class WebhookPayload(Base):
    """The raw body of a `WebhookDelivery` that a job has not applied yet.

    The route stores it (after checking its signature) and answers at once; the job applies it
    and deletes it, so personal data in webhook bodies is not kept longer than needed.
    """

    __tablename__ = "webhook_payloads"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), unique=True
    )
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
