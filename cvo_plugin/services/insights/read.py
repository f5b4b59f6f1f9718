"""The read API of customer value, for the admin pages, the widget and the CLI (no Flask here).

Everything reads the shop's current snapshot (or one named by id, always checked to belong to
the shop): its stored summaries (one row each, so a shop of a million customers is as quick as
a small one) and, for customer lists and audiences, its indexed `customer_scores`.
Money comes back as `Decimal` in the shop currency; `jsonable` turns results into JSON values
(money as decimal strings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session, aliased

from cvo_plugin.models import AnalyticsSnapshot, AnalyticsSummary, Customer, CustomerScore

MONEY_KEYS = frozenset(
    {
        "revenue",
        "aov",
        "avg_clv",
        "avg_predicted_clv",
        "formula_clv",
        "avg_monetary",
        "spend",
        "cac",
        "ltv",
        "avg_ltv",
        "price",
        "avg_value_after",
        "revenue_change",
        "avg_historic_clv",
        "total_predicted_clv",
        "price_threshold",
        "monetary",
        "historic_clv",
        "predicted_clv_12m",
    }
)
# Each sort ends with the customer id in the same direction, so the order is total and the
# default (historic CLV) walks `ix_customer_scores_segment` backwards without sorting.
SORTS = {
    "historic_clv": (CustomerScore.historic_clv.desc(), CustomerScore.customer_id.desc()),
    "predicted_clv": (CustomerScore.predicted_clv_12m.desc(), CustomerScore.customer_id.desc()),
    "monetary": (CustomerScore.monetary.desc(), CustomerScore.customer_id.desc()),
    "frequency": (CustomerScore.frequency.desc(), CustomerScore.customer_id.desc()),
    "recency": (CustomerScore.recency_days.asc(), CustomerScore.customer_id.asc()),
    "p_alive": (CustomerScore.p_alive.desc(), CustomerScore.customer_id.desc()),
}
MAX_PER_PAGE = 200
MAX_SEARCH_RESULTS = 1000


class NoSnapshotError(LookupError):
    """The shop has no computed results (yet), or not the snapshot asked for."""

    def __init__(self, message: str = "nothing computed yet: run `cvo compute SHOP` (or wait for the job)"):
        super().__init__(message)


class UnknownSegmentError(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no segment {key!r} in this shop's segment table")
        self.key = key


def decimals(value: Any, key: str | None = None) -> Any:
    """A stored payload with its money strings (by key name) as `Decimal`."""
    if isinstance(value, dict):
        return {k: decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [decimals(v, key) for v in value]
    if isinstance(value, str) and key in MONEY_KEYS:
        return Decimal(value)
    return value


def jsonable(value: Any) -> Any:
    """Results as JSON values: Decimal as a decimal string, dates as ISO strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- snapshots ------------------------------------------------------------------------------------


def current_snapshot(session: Session, shop_id: int) -> AnalyticsSnapshot | None:
    """The shop's current snapshot, or None before the first computation."""
    return session.scalars(
        select(AnalyticsSnapshot).where(
            AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.is_current.is_(True)
        )
    ).first()


def get_snapshot(session: Session, shop_id: int, snapshot_id: int | None = None) -> AnalyticsSnapshot:
    """The current snapshot, or the shop's ready snapshot `snapshot_id`; `NoSnapshotError` otherwise."""
    if snapshot_id is None:
        snapshot = current_snapshot(session, shop_id)
        if snapshot is None:
            raise NoSnapshotError()
        return snapshot
    snapshot = session.scalars(
        select(AnalyticsSnapshot).where(
            AnalyticsSnapshot.id == snapshot_id,
            AnalyticsSnapshot.shop_id == shop_id,
            AnalyticsSnapshot.status == "ready",
        )
    ).first()
    if snapshot is None:
        raise NoSnapshotError(f"this shop has no snapshot {snapshot_id}")
    return snapshot


def list_snapshots(session: Session, shop_id: int) -> list[dict[str, Any]]:
    """The shop's kept snapshots, newest first."""
    rows = session.scalars(
        select(AnalyticsSnapshot)
        .where(AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.status == "ready")
        .order_by(AnalyticsSnapshot.as_of.desc(), AnalyticsSnapshot.id.desc())
    ).all()
    return [
        {
            "id": s.id,
            "as_of": s.as_of,
            "computed_at": s.finished_at,
            "customers": s.customers,
            "orders": s.orders,
            "revenue": s.revenue,
            "is_current": s.is_current,
        }
        for s in rows
    ]


SUMMARY_KINDS = {
    "segments": "customers, shares, revenue, AOV, orders per customer, days between orders, CLV per segment",
    "rfm_grid": "recency x frequency cells: customers and average monetary value",
    "clv_by_segment": "historic and predicted 12-month CLV, expected orders and P(alive) per segment",
    "channels": "acquisition channels: customers, CLV, spend, CAC, LTV:CAC flagged below 1 and below 3",
    "offers": "tripwire candidates, core offers and first-purchase products, ranked",
}


def _summary(session: Session, shop_id: int, kind: str, snapshot_id: int | None = None) -> tuple[Any, Any]:
    snapshot = get_snapshot(session, shop_id, snapshot_id)
    payload = session.scalars(
        select(AnalyticsSummary.payload).where(
            AnalyticsSummary.snapshot_id == snapshot.id, AnalyticsSummary.kind == kind
        )
    ).first()
    return snapshot, decimals(payload)


def _header(snapshot: AnalyticsSnapshot) -> dict[str, Any]:
    return {"snapshot_id": snapshot.id, "as_of": snapshot.as_of, "computed_at": snapshot.finished_at}


# --- summaries ------------------------------------------------------------------------------------


def summary(session: Session, shop_id: int, kind: str, snapshot_id: int | None = None) -> dict[str, Any]:
    """A stored summary of the current (or a given) snapshot; `kind` is one of `SUMMARY_KINDS`."""
    if kind not in SUMMARY_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SUMMARY_KINDS)}")
    snapshot, payload = _summary(session, shop_id, kind, snapshot_id)
    return _header(snapshot) | payload


def segment_summary(session: Session, shop_id: int, snapshot_id: int | None = None) -> dict[str, Any]:
    """The segment summary (`cvo report`): the `segments` summary."""
    return summary(session, shop_id, "segments", snapshot_id)


def segment_profile(
    session: Session, shop_id: int, segment: str, snapshot_id: int | None = None
) -> dict[str, Any]:
    """The ideal-customer profile of one segment (by key)."""
    snapshot, payload = _summary(session, shop_id, "profiles", snapshot_id)
    profile = payload["segments"].get(segment)
    if profile is None:
        raise UnknownSegmentError(segment)
    return _header(snapshot) | {"timezone": payload["timezone"], "key": segment} | profile


def clv_model(session: Session, shop_id: int, snapshot_id: int | None = None) -> dict[str, Any]:
    """The fitted BG/NBD and Gamma-Gamma parameters and the settings the snapshot used."""
    snapshot = get_snapshot(session, shop_id, snapshot_id)
    settings = snapshot.settings
    return _header(snapshot) | {
        **snapshot.clv_model,
        "gross_margin": settings.get("gross_margin_used"),
        "gross_margin_source": settings.get("gross_margin_source"),
    }


def segment_table(session: Session, shop_id: int, snapshot_id: int | None = None) -> dict[str, Any]:
    """The segment rule table the snapshot was computed with (keys, names, rules)."""
    snapshot = get_snapshot(session, shop_id, snapshot_id)
    return snapshot.settings["segment_table"]


# --- transitions ----------------------------------------------------------------------------------


def transitions(
    session: Session,
    shop_id: int,
    segment: str | None = None,
    from_snapshot: int | None = None,
    to_snapshot: int | None = None,
) -> dict[str, Any]:
    """Moves between segments: by default between the current snapshot and the one before it.

    Each cell has `from` and `to` segment keys (None: not a customer at the earlier snapshot /
    missing from the later one), customers, the revenue they carry and what they bought in
    between. With `segment`, the cells are split into `into` and `out_of` that segment.
    """
    if from_snapshot is None and to_snapshot is None:
        snapshot, payload = _summary(session, shop_id, "transitions")
        if payload is None:
            raise NoSnapshotError("no earlier snapshot to compare with: transitions need two computations")
        result = payload | {"to_snapshot": snapshot.id}
    else:
        later = get_snapshot(session, shop_id, to_snapshot)
        if from_snapshot is None:
            raise NoSnapshotError("give the earlier snapshot to compare with")
        earlier = get_snapshot(session, shop_id, from_snapshot)
        result = {
            "from_snapshot": earlier.id,
            "from_as_of": earlier.as_of,
            "to_snapshot": later.id,
            "to_as_of": later.as_of,
            "segments": _table_segments(earlier)
            + [s for s in _table_segments(later) if s not in _table_segments(earlier)],
            "cells": _cells(session, shop_id, earlier.id, later.id),
        }
    if segment is not None:
        keys = {s["key"] for s in result["segments"]}
        if segment not in keys:
            raise UnknownSegmentError(segment)
        cells = result.pop("cells")
        result["segment"] = segment
        result["into"] = [c for c in cells if c["to"] == segment and c["from"] != segment]
        result["out_of"] = [c for c in cells if c["from"] == segment and c["to"] != segment]
        result["stayed"] = next((c for c in cells if c["from"] == c["to"] == segment), None)
    return result


def _table_segments(snapshot: AnalyticsSnapshot) -> list[dict[str, str]]:
    return [{"key": s["key"], "name": s["name"]} for s in snapshot.settings["segment_table"]["segments"]]


def _cells(session: Session, shop_id: int, earlier: int, later: int) -> list[dict[str, Any]]:
    before = aliased(CustomerScore)
    after = aliased(CustomerScore)
    money = cast(after.monetary, Float)
    moved = session.execute(
        select(
            before.segment,
            after.segment,
            func.count(),
            func.sum(money),
            func.sum(money - func.coalesce(cast(before.monetary, Float), 0.0)),
        )
        .select_from(after)
        .outerjoin(
            before,
            (before.snapshot_id == earlier)
            & (before.shop_id == shop_id)
            & (before.customer_id == after.customer_id),
        )
        .where(after.snapshot_id == later, after.shop_id == shop_id)
        .group_by(before.segment, after.segment)
    ).all()
    gone = session.execute(
        select(before.segment, func.count(), func.sum(cast(before.monetary, Float)))
        .select_from(before)
        .outerjoin(
            after,
            (after.snapshot_id == later)
            & (after.shop_id == shop_id)
            & (after.customer_id == before.customer_id),
        )
        .where(before.snapshot_id == earlier, before.shop_id == shop_id, after.customer_id.is_(None))
        .group_by(before.segment)
    ).all()
    cells = [
        {"from": a, "to": b, "customers": n, "revenue": _cents(rev), "revenue_change": _cents(change)}
        for a, b, n, rev, change in moved
    ]
    cells += [
        {"from": a, "to": None, "customers": n, "revenue": _cents(rev), "revenue_change": Decimal("0.00")}
        for a, n, rev in gone
    ]
    return sorted(cells, key=lambda c: (c["from"] or "", c["to"] or ""))


def _cents(value: float | None) -> Decimal:
    return Decimal(str(round(float(value or 0.0), 2))).quantize(Decimal("0.01"))


# --- customers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _customer_row(score: CustomerScore, customer: Customer, names: dict[str, str]) -> dict[str, Any]:
    name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
    return {
        "id": customer.id,
        "customer_id": customer.platform_id,
        "email": customer.email,
        "name": name,
        "segment": score.segment,
        "segment_name": names.get(score.segment, score.segment),
        "r": score.r,
        "f": score.f,
        "m": score.m,
        "recency_days": score.recency_days,
        "frequency": score.frequency,
        "monetary": score.monetary,
        "first_order_on": score.first_order_on,
        "last_order_on": score.last_order_on,
        "historic_clv": score.historic_clv,
        "predicted_clv_12m": score.predicted_clv_12m,
        "p_alive": score.p_alive,
        "expected_orders_90d": score.expected_orders_90d,
        "expected_orders_365d": score.expected_orders_365d,
        "channel": score.channel,
        "accepts_marketing": customer.accepts_marketing,
    }


def segment_names(snapshot: AnalyticsSnapshot) -> dict[str, str]:
    return {s["key"]: s["name"] for s in snapshot.settings["segment_table"]["segments"]}


def segment_customers(
    session: Session,
    shop_id: int,
    segment: str | None = None,
    *,
    page: int = 1,
    per_page: int = 50,
    search: str | None = None,
    sort: str = "historic_clv",
    snapshot_id: int | None = None,
) -> CustomerPage:
    """One page of a segment's customers (all customers without `segment`), with scores and CLV.

    `search` matches e-mail, first or last name (case-insensitive substring; at most
    `MAX_SEARCH_RESULTS` matches); `sort` is one of `SORTS` (largest first; recency: most
    recent first).
    """
    snapshot = get_snapshot(session, shop_id, snapshot_id)
    names = segment_names(snapshot)
    if segment is not None and segment not in names:
        raise UnknownSegmentError(segment)
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    page = max(int(page), 1)
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    conditions = [CustomerScore.snapshot_id == snapshot.id, CustomerScore.shop_id == shop_id]
    if segment is not None:
        conditions.append(CustomerScore.segment == segment)
    term = (search or "").strip()
    if term:
        conditions.append(
            Customer.email.icontains(term, autoescape=True)
            | Customer.first_name.icontains(term, autoescape=True)
            | Customer.last_name.icontains(term, autoescape=True)
        )
    joined = select(CustomerScore, Customer).join(
        Customer, (Customer.id == CustomerScore.customer_id) & (Customer.shop_id == shop_id)
    )
    ordered = joined.where(*conditions).order_by(*SORTS[sort])
    if term:  # one scan: the matches (at most MAX_SEARCH_RESULTS), paged here
        matches = session.execute(ordered.limit(MAX_SEARCH_RESULTS)).all()
        total = len(matches)
        rows = matches[(page - 1) * per_page : page * per_page]
    else:
        if segment is not None:  # the stored summary has the count: no scan of the segment
            summary_rows = _summary(session, shop_id, "segments", snapshot.id)[1]["segments"]
            total = next((s["customers"] for s in summary_rows if s["key"] == segment), 0)
        else:
            total = snapshot.customers
        rows = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
    return CustomerPage([_customer_row(s, c, names) for s, c in rows], int(total), page, per_page)


def audience_rows(
    session: Session, shop_id: int, segment: str | None = None, snapshot_id: int | None = None
) -> Iterator[dict[str, Any]]:
    """Export rows (e-mail, name, segment, CLV, last order) of a segment, streamed.

    Customers without an e-mail address and redacted customers are left out; `accepts_marketing`
    is given so the export can respect consent.
    """
    snapshot = get_snapshot(session, shop_id, snapshot_id)
    names = segment_names(snapshot)
    if segment is not None and segment not in names:
        raise UnknownSegmentError(segment)
    statement = (
        select(
            Customer.email,
            Customer.first_name,
            Customer.last_name,
            CustomerScore.segment,
            CustomerScore.historic_clv,
            CustomerScore.predicted_clv_12m,
            CustomerScore.last_order_on,
            CustomerScore.frequency,
            Customer.accepts_marketing,
        )
        .join(Customer, (Customer.id == CustomerScore.customer_id) & (Customer.shop_id == shop_id))
        .where(
            CustomerScore.snapshot_id == snapshot.id,
            CustomerScore.shop_id == shop_id,
            Customer.email.is_not(None),
            Customer.redacted_at.is_(None),
        )
        .order_by(CustomerScore.segment.desc(), *SORTS["historic_clv"])
    )
    if segment is not None:
        statement = statement.where(CustomerScore.segment == segment)
    for email, first, last, key, historic, predicted, last_order, orders, accepts in session.execute(
        statement.execution_options(yield_per=5000)
    ):
        yield {
            "email": email,
            "first_name": first,
            "last_name": last,
            "segment": names.get(key, key),
            "historic_clv": historic,
            "predicted_clv_12m": predicted,
            "last_order_on": last_order,
            "orders": orders,
            "accepts_marketing": accepts,
        }
