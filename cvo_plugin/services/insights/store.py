"""Writing a computation as a new snapshot, switching the shop's current snapshot, pruning old ones.

1. A `building` snapshot row is created (leftovers of a crashed run of the same shop go first).
2. Its customer scores (PostgreSQL `COPY`, SQLite `executemany`) and summaries are written.
3. One short transaction marks it `ready` and current and the previous one not current: readers
   follow the current snapshot, so they see the old results or the new ones, never a mix.
4. Old snapshots are pruned: the newest computation of each as-of day is a candidate; the
   `snapshots_keep` most recent ones stay, plus the last one of each of the
   `monthly_snapshots_keep` most recent months (for month-over-month transitions), plus the
   current one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from cvo_plugin.db import Database
from cvo_plugin.models import AnalyticsSnapshot, AnalyticsSummary, CustomerScore
from cvo_plugin.services.insights.compute import Computation
from cvo_plugin.types import to_money

SCORE_COLUMNS = (
    "snapshot_id",
    "customer_id",
    "shop_id",
    "r",
    "f",
    "m",
    "segment",
    "recency_days",
    "frequency",
    "monetary",
    "first_order_on",
    "last_order_on",
    "historic_clv",
    "predicted_clv_12m",
    "p_alive",
    "expected_orders_90d",
    "expected_orders_365d",
    "channel",
)
BATCH = 50_000

Progress = Callable[[float, str], None]


def _cents(values: np.ndarray) -> list[float | None]:
    """Amounts rounded to cents; NaN becomes NULL."""
    rounded = np.round(values.astype(np.float64), 2)
    return np.where(np.isfinite(rounded), rounded, None).tolist()


def _floats(values: np.ndarray, digits: int = 6) -> list[float | None]:
    rounded = np.round(values.astype(np.float64), digits)
    return np.where(np.isfinite(rounded), rounded, None).tolist()


def _iso_days(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def score_rows(snapshot_id: int, shop_id: int, computation: Computation) -> list[tuple[Any, ...]]:
    """The `customer_scores` rows of a computation, in `SCORE_COLUMNS` order."""
    rows = computation.rows
    n = len(rows)
    keys = np.array(computation.table.keys, dtype=object)
    labels = np.array(computation.channel_labels, dtype=object)
    columns: list[Sequence[Any]] = [
        [snapshot_id] * n,
        rows.customer.tolist(),
        [shop_id] * n,
        rows.r.tolist(),
        rows.f.tolist(),
        rows.m.tolist(),
        keys[rows.segment].tolist() if n else [],
        rows.recency_days.tolist(),
        rows.frequency.tolist(),
        _cents(rows.monetary),
        _iso_days(rows.first_day),
        _iso_days(rows.last_day),
        _cents(rows.historic_clv),
        _cents(rows.predicted_clv),
        _floats(rows.p_alive),
        _floats(rows.expected_90),
        _floats(rows.expected_365),
        labels[rows.channel].tolist() if n else [],
    ]
    return list(zip(*columns, strict=True))


def _write_scores(connection: Connection, rows: list[tuple[Any, ...]], progress: Progress) -> None:
    names = ", ".join(SCORE_COLUMNS)
    driver = connection.connection.driver_connection
    total = max(len(rows), 1)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        if connection.dialect.name == "postgresql":
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(f"COPY customer_scores ({names}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
        else:
            cursor = driver.cursor()  # type: ignore[union-attr]
            try:
                placeholders = ", ".join("?" * len(SCORE_COLUMNS))
                cursor.executemany(f"INSERT INTO customer_scores ({names}) VALUES ({placeholders})", batch)
            finally:
                cursor.close()
        progress(min(start + BATCH, len(rows)) / total, "storing customer scores")


def _drop_snapshots(session: Session, shop_id: int, ids: Sequence[int]) -> None:
    if not ids:
        return
    session.execute(
        delete(CustomerScore).where(CustomerScore.shop_id == shop_id, CustomerScore.snapshot_id.in_(ids))
    )
    session.execute(delete(AnalyticsSummary).where(AnalyticsSummary.snapshot_id.in_(ids)))
    session.execute(
        delete(AnalyticsSnapshot).where(AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.id.in_(ids))
    )


def store_computation(
    database: Database, shop_id: int, computation: Computation, progress: Progress | None = None
) -> int:
    """Write the computation as the shop's new current snapshot; returns its id."""
    report = progress or (lambda fraction, message: None)
    with database.session() as session:
        leftovers = session.scalars(
            select(AnalyticsSnapshot.id).where(
                AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.status == "building"
            )
        ).all()
        _drop_snapshots(session, shop_id, leftovers)
        snapshot = AnalyticsSnapshot(
            shop_id=shop_id,
            as_of=computation.as_of,
            status="building",
            is_current=False,
            created_at=datetime.now(UTC),
            customers=len(computation.rows),
            orders=computation.orders,
            revenue=to_money(computation.revenue),
            previous_id=(computation.summaries.get("transitions") or {}).get("from_snapshot"),
            settings=computation.settings,
            clv_model=computation.clv_model,
        )
        session.add(snapshot)
        session.flush()
        snapshot_id = snapshot.id

    with database.session() as session:
        rows = score_rows(snapshot_id, shop_id, computation)
        _write_scores(session.connection(), rows, lambda f, m: report(0.9 * f, m))
        if session.connection().dialect.name == "postgresql":
            # fresh statistics, so customer pages use the segment index from the first read
            session.connection().exec_driver_sql("ANALYZE customer_scores")
        for kind, payload in computation.summaries.items():
            session.add(AnalyticsSummary(snapshot_id=snapshot_id, kind=kind, payload=payload))

    report(0.92, "publishing")
    with database.session() as session:
        session.execute(
            update(AnalyticsSnapshot)
            .where(AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.is_current.is_(True))
            .values(is_current=False)
        )
        session.execute(
            update(AnalyticsSnapshot)
            .where(AnalyticsSnapshot.id == snapshot_id, AnalyticsSnapshot.shop_id == shop_id)
            .values(is_current=True, status="ready", finished_at=datetime.now(UTC))
        )

    report(0.95, "pruning old snapshots")
    settings = computation.settings
    with database.session() as session:
        prune_snapshots(session, shop_id, settings["snapshots_keep"], settings["monthly_snapshots_keep"])
    report(1.0, "stored")
    return snapshot_id


def snapshots_to_keep(snapshots: Sequence[tuple[int, Any, bool]], keep: int, monthly_keep: int) -> set[int]:
    """Ids to keep among (id, as_of, is_current), newest first (the rule in the module docstring)."""
    newest_per_day: list[tuple[int, Any]] = []
    seen_days = set()
    for snapshot_id, as_of, _current in snapshots:
        if as_of not in seen_days:
            seen_days.add(as_of)
            newest_per_day.append((snapshot_id, as_of))
    kept = {snapshot_id for snapshot_id, _ in newest_per_day[:keep]}
    month_ends: dict[tuple[int, int], int] = {}
    for snapshot_id, as_of in newest_per_day:
        month_ends.setdefault((as_of.year, as_of.month), snapshot_id)
    kept |= set(list(month_ends.values())[:monthly_keep])
    kept |= {snapshot_id for snapshot_id, _as_of, current in snapshots if current}
    return kept


def prune_snapshots(session: Session, shop_id: int, keep: int, monthly_keep: int) -> list[int]:
    """Delete the shop's ready snapshots the keep rule drops; returns their ids."""
    snapshots = session.execute(
        select(AnalyticsSnapshot.id, AnalyticsSnapshot.as_of, AnalyticsSnapshot.is_current)
        .where(AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.status == "ready")
        .order_by(AnalyticsSnapshot.as_of.desc(), AnalyticsSnapshot.id.desc())
    ).all()
    kept = snapshots_to_keep([tuple(s) for s in snapshots], keep, monthly_keep)
    dropped = [s.id for s in snapshots if s.id not in kept]
    _drop_snapshots(session, shop_id, dropped)
    return dropped
