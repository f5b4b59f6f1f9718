"""Segment tags back to the store: after a computation, each customer whose segment changed
gets the tag `cvo-<segment>` (and loses the other segment tags) on Shopify, or the meta
`cvo_segment` on WooCommerce.

- **Who**: the customers scored in the shop's current snapshot whose segment differs from the
  tag last written (`SegmentTagState`); customers without a numeric platform id (WooCommerce
  guests keyed by e-mail) and redacted customers are left out.
- **How**: in batches (Shopify 25 customers a request, paced by the client's cost bucket;
  WooCommerce 100 a request); each batch is recorded with its outcome in `SegmentTagWrite`
  and its successes in `SegmentTagState` in one transaction, so a run that stops resumes with
  what is left, and a second run with nothing changed writes nothing.
- **When**: as a job after each segment computation, when the shop's `segment_tags` setting is
  on (`services.widget_settings`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import AnalyticsSnapshot, Customer, CustomerScore, SegmentTagState, SegmentTagWrite

TAG_PREFIX = "cvo-"
PLATFORMS = ("shopify", "woocommerce")


def segment_tag(segment: str) -> str:
    """The store tag of a segment key."""
    return TAG_PREFIX + segment


@dataclass(frozen=True)
class PlannedChange:
    """One customer to write: their new tag, and the tag the store held (from the app)."""

    customer_id: int
    platform_id: str
    segment: str
    tag: str
    previous: str | None


@dataclass(frozen=True)
class TagPlan:
    changes: list[PlannedChange]
    all_tags: frozenset[str]  # every segment tag the shop uses (to remove on a change)


def plan_changes(session: Session, shop_id: int) -> TagPlan:
    """The customers of the current snapshot whose segment tag must be written."""
    snapshot_id = session.scalar(
        select(AnalyticsSnapshot.id).where(
            AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.is_current.is_(True)
        )
    )
    if snapshot_id is None:
        return TagPlan([], frozenset())
    rows = session.execute(
        select(CustomerScore.customer_id, Customer.platform_id, CustomerScore.segment, SegmentTagState.tag)
        .join(Customer, (Customer.id == CustomerScore.customer_id) & (Customer.shop_id == shop_id))
        .outerjoin(
            SegmentTagState,
            (SegmentTagState.shop_id == shop_id) & (SegmentTagState.customer_id == CustomerScore.customer_id),
        )
        .where(
            CustomerScore.snapshot_id == snapshot_id,
            CustomerScore.shop_id == shop_id,
            Customer.redacted_at.is_(None),
        )
        .order_by(CustomerScore.customer_id)
    ).all()
    segments = {segment for _, _, segment, _ in rows}
    written = set(
        session.scalars(select(SegmentTagState.tag).where(SegmentTagState.shop_id == shop_id).distinct())
    )
    changes = [
        PlannedChange(customer_id, platform_id, segment, segment_tag(segment), previous)
        for customer_id, platform_id, segment, previous in rows
        if previous != segment_tag(segment) and platform_id.isdigit()
    ]
    return TagPlan(changes, frozenset({segment_tag(s) for s in segments} | written))


def record_batch(
    session: Session,
    shop_id: int,
    run_id: str,
    changes: Sequence[PlannedChange],
    errors: Sequence[str | None],
    now: datetime | None = None,
) -> int:
    """Log a written batch and remember what the store now holds; the number written."""
    now = now or datetime.now(UTC)
    written = 0
    for change, error in zip(changes, errors, strict=True):
        session.add(
            SegmentTagWrite(
                shop_id=shop_id,
                run_id=run_id,
                customer_id=change.customer_id,
                customer_platform_id=change.platform_id,
                added=change.tag,
                removed=change.previous,
                status="failed" if error else "written",
                error=error[:1000] if error else None,
                written_at=now,
            )
        )
        if error:
            continue
        written += 1
        state = session.get(SegmentTagState, (shop_id, change.customer_id))
        if state is None:
            session.add(
                SegmentTagState(
                    shop_id=shop_id, customer_id=change.customer_id, tag=change.tag, written_at=now
                )
            )
        else:
            state.tag, state.written_at = change.tag, now
    session.flush()
    return written


Writer = Callable[[Sequence[PlannedChange]], list[str | None]]


def write_log(session: Session, shop_id: int, limit: int = 100) -> list[SegmentTagWrite]:
    """The latest tag writes of a shop, newest first."""
    return list(
        session.scalars(
            select(SegmentTagWrite)
            .where(SegmentTagWrite.shop_id == shop_id)
            .order_by(SegmentTagWrite.written_at.desc(), SegmentTagWrite.id.desc())
            .limit(limit)
        )
    )
