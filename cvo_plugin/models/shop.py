"""Shops (tenants): platform, domain, currency, credentials encrypted at rest, settings."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, LargeBinary, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import JsonType, UTCDateTime, intpk

PLATFORMS = ("shopify", "woocommerce", "csv", "demo")


def new_public_key() -> str:
    """The shop's public widget key: random, unguessable, safe in a URL."""
    return "pk_" + secrets.token_urlsafe(18)


class Shop(Base):
    """One installed store; every other row belongs to exactly one shop."""

    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform", "domain"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    public_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_public_key)
    # Credentials, Fernet-encrypted (see cvo_plugin.crypto); never stored or logged in clear.
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    api_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    webhook_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    scopes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )

    def setting(self, name: str, default: Any = None) -> Any:
        """One shop setting, or `default` when the shop has not set it."""
        return (self.settings or {}).get(name, default)

    def __repr__(self) -> str:  # never show credentials
        return f"<Shop {self.id} {self.platform}:{self.domain}>"
