"""Bookkeeping of data movement: sync cursors, webhook deliveries, job runs and file imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cvo_plugin.db import Base
from cvo_plugin.types import BigId, JsonType, UTCDateTime, intpk

JOB_ACTIVE_STATUSES = ("queued", "running")
JOB_FINAL_STATUSES = ("finished", "failed", "cancelled")


class SyncState(Base):
    """Where a shop's sync of one resource (orders, customers, products) stands."""

    __tablename__ = "sync_states"
    __table_args__ = (UniqueConstraint("shop_id", "resource"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    resource: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="idle")  # idle, running, ok, error
    mode: Mapped[str | None] = mapped_column(String(16))  # backfill, incremental
    records_synced: Mapped[int] = mapped_column(Integer, default=0)
    records_total: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )


class WebhookDelivery(Base):
    """A webhook delivery seen once; a second delivery with the same id is not applied again."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_id"),
        Index("ix_webhook_deliveries_shop_received", "shop_id", "received_at"),
    )

    id: Mapped[intpk]
    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str | None] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """One run of a background job (id = the RQ job id), with its progress and outcome.

    At most one run per (shop, kind) is active at a time: a partial unique index enforces it,
    so a second request for the same work joins the first instead of starting another.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        Index(
            "uq_job_runs_active",
            "shop_id",
            "kind",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_job_runs_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    func: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportRun(Base):
    """One imported file: what it held and what it changed."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_shop", "shop_id", "finished_at"),)

    id: Mapped[intpk]
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    products: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
