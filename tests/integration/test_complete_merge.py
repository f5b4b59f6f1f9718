"""The bulk backfill's fast path (`ingest.complete`, PostgreSQL): text rows, the same rules.

Each test loads the same history into two shops of one database, one through the general merge
from typed records, the other through text rows and the complete-orders merge, and compares
what the two shops hold, row by row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader, MergeCounts, text_rows
from cvo_plugin.records import LineRecord, OrderBundle, OrderRecord
from tests.conftest import table_snapshot
from tests.integration.test_loader import make_shop

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def order(
    platform_id: str,
    updated: datetime,
    lines: list[tuple[str, str | None, str | None, int, str, int]],
    **fields: Any,
) -> OrderBundle:
    """An order with lines given as (line id, product, variant, quantity, unit price, refunded)."""
    values: dict[str, Any] = {
        "created_at": T0,
        "updated_at": updated,
        "name": f"#{platform_id}",
        "customer_platform_id": "c1",
        "email": "ada@example.com",
        "currency": "EUR",
        "discounts": Decimal("1.50"),
        "total": Decimal("99.90"),
        "country": "DE",
        "city": "Berlin",
        **fields,
    }
    return OrderBundle(
        OrderRecord(platform_id, **values),
        tuple(
            LineRecord(
                order_platform_id=platform_id,
                product_platform_id=product,
                quantity=quantity,
                unit_price=Decimal(price),
                platform_id=line_id,
                variant_platform_id=variant,
                sku=f"SKU-{variant}" if variant else None,
                title=f"Product {product}",
                vendor="Leaf & Co",
                discount=Decimal("0.25"),
                refunded_quantity=refunded,
            )
            for line_id, product, variant, quantity, price, refunded in lines
        ),
    )


def as_text(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """A record as the text rows of a bulk export: ISO 8601 times, decimal amounts."""
    return tuple(
        value.isoformat()
        if isinstance(value, datetime)
        else str(value)
        if isinstance(value, Decimal)
        else value
        for value in record
    )


def load_records(database: Database, shop_id: int, bundles: list[OrderBundle]) -> MergeCounts:
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_bundles(bundles)
        return loader.merge()


def load_text(database: Database, shop_id: int, bundles: list[OrderBundle]) -> MergeCounts:
    orders = text_rows([as_text(b.order) for b in bundles])
    lines = text_rows([as_text(line) for b in bundles for line in b.lines])
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_text_orders(orders, lines)
        return loader.merge(complete=True)


def holdings(database: Database, shop_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """What a shop holds, with database ids replaced by platform ids."""
    queries = {
        "orders": """SELECT o.platform_id, o.name, c.platform_id, o.email, o.created_at,
                o.processed_at, o.platform_updated_at, o.cancelled_at, o.financial_status,
                o.currency, o.gross, o.discounts, o.refunds, o.net_revenue, o.shipping, o.tax,
                o.total, o.discount_codes, o.source_name, o.referrer, o.landing_page,
                o.utm_source, o.utm_medium, o.utm_campaign, o.device_type, o.country,
                o.province, o.city, o.note_attributes, o.line_count, o.units
            FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
            WHERE o.shop_id = :shop""",
        "lines": """SELECT o.platform_id, l.platform_id, p.platform_id, v.platform_id, l.sku,
                l.title, l.quantity, l.unit_price, l.discount, l.refunded_quantity
            FROM order_lines l JOIN orders o ON o.id = l.order_id
            LEFT JOIN products p ON p.id = l.product_id
            LEFT JOIN variants v ON v.id = l.variant_id
            WHERE l.shop_id = :shop""",
        "customers": """SELECT platform_id, email, country, province, city FROM customers
            WHERE shop_id = :shop""",
        "products": "SELECT platform_id, title, product_type, vendor FROM products WHERE shop_id = :shop",
        "variants": """SELECT v.platform_id, p.platform_id, v.sku, v.price FROM variants v
            JOIN products p ON p.id = v.product_id WHERE v.shop_id = :shop""",
    }
    with database.engine.connect() as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(text(sql), {"shop": shop_id})), key=repr)
            for name, sql in queries.items()
        }


HISTORY = [
    order("o1", T0, [("l1", "p1", "v1", 2, "10.00", 0), ("l2", "p2", "v2", 1, "5.00", 0)]),
    order("o2", T0 + timedelta(hours=5), [("l3", "p1", "v1", 1, "10.00", 0)]),
    order("o3", T0, [("l4", "p2", "v2", 3, "5.00", 1)], shipping=Decimal("4.90")),
]

INCOMING = [
    # o1 changed: a line dropped, another refunded; newer than what is stored.
    order("o1", T0 + timedelta(hours=1), [("l1", "p1", "v1", 2, "10.00", 1)], financial_status="paid"),
    # o2 older than what is stored: skipped, lines kept.
    order("o2", T0 + timedelta(hours=1), [("l9", "p1", "v1", 7, "10.00", 0)], email="old@example.com"),
    # o3 newer but without lines: its lines and totals stay.
    order("o3", T0 + timedelta(hours=2), [], email=None, name=None, customer_platform_id=None),
    # New orders: an unknown customer, product and variant; a cancelled one with a return.
    order(
        "o4",
        T0 + timedelta(hours=3),
        [("l5", "p9", "v9", 1, "42.00", 0), ("l6", None, None, 1, "3.00", 0)],
        customer_platform_id="c9",
        email="new@example.com",
        utm_source="newsletter",
        note_attributes="gift: yes",
    ),
    order(
        "o5",
        T0 + timedelta(hours=4),
        [("l7", "p1", "v1", 2, "10.00", 0), ("l8", "p2", "v2", -1, "5.00", 0)],
        cancelled_at=T0 + timedelta(hours=4),
    ),
]


def test_the_complete_merge_holds_what_the_general_merge_holds(pg: Database) -> None:
    general, fast = make_shop(pg, "general"), make_shop(pg, "fast")
    for shop_id in (general, fast):
        load_records(pg, shop_id, HISTORY)
    assert holdings(pg, general) == holdings(pg, fast)

    expected = load_records(pg, general, INCOMING)
    counts = load_text(pg, fast, INCOMING)

    assert counts == expected
    assert (counts.orders, counts.stale_orders, counts.cancelled, counts.returns) == (4, 1, 1, 2)
    held = holdings(pg, fast)
    assert held == holdings(pg, general)
    lines = {(o, line) for o, line, *_ in held["lines"]}
    assert lines == {
        ("o1", "l1"),
        ("o2", "l3"),
        ("o3", "l4"),
        ("o4", "l5"),
        ("o4", "l6"),
        ("o5", "l7"),
        ("o5", "l8"),
    }
    assert ("c9", "new@example.com") in {(c[0], c[1]) for c in held["customers"]}
    # Once more: nothing changes (idempotent), and every order is now as new as the load.
    before = holdings(pg, fast)
    again = load_text(pg, fast, INCOMING)
    assert holdings(pg, fast) == before
    assert again.orders == 4 and again.stale_orders == 1


def test_a_first_load_into_an_empty_shop(pg: Database) -> None:
    general, fast = make_shop(pg, "general"), make_shop(pg, "fast")
    load_records(pg, general, HISTORY + INCOMING[3:])
    counts = load_text(pg, fast, HISTORY + INCOMING[3:])
    assert counts.orders == 5 and counts.lines == 8
    assert holdings(pg, fast) == holdings(pg, general)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda b: b + [b[3]._replace(lines=())], id="an order given twice"),
        pytest.param(
            lambda b: [b[0]._replace(lines=(b[0].lines[0]._replace(platform_id=None),))] + b[1:],
            id="a line without an id",
        ),
    ],
)
def test_a_load_that_is_not_complete_takes_the_general_merge(pg: Database, broken: Any) -> None:
    general, fast = make_shop(pg, "general"), make_shop(pg, "fast")
    for shop_id in (general, fast):
        load_records(pg, shop_id, HISTORY)
    bundles = broken(list(INCOMING))
    expected = load_records(pg, general, bundles)
    assert load_text(pg, fast, bundles) == expected
    assert holdings(pg, fast) == holdings(pg, general)


def test_a_line_given_twice_fails_either_way(pg: Database) -> None:
    from psycopg.errors import CardinalityViolation

    shop_id = make_shop(pg, "fast")
    twice = [INCOMING[3]._replace(lines=INCOMING[3].lines * 2)]
    for load in (load_records, load_text):
        with pytest.raises(ProgrammingError) as caught:
            load(pg, shop_id, twice)
        assert isinstance(caught.value.orig, CardinalityViolation)
    assert holdings(pg, shop_id)["orders"] == []


def test_text_rows_survive_csv_and_are_typed_by_postgresql(pg: Database) -> None:
    shop_id = make_shop(pg, "fast")
    awkward = 'Tea, "green"\nline two\\ and a tab\t and ünïcödé'
    rows = [
        (
            "o1",
            "2024-05-01T14:00:00+02:00",  # an offset: stored as 12:00 UTC
            awkward,
            None,
            "",  # empty text is NULL
            "2024-05-01T12:00:00",  # no offset: UTC
            "2024-05-01T12:00:00Z",
            None,
            "paid",
            "EUR",
            None,
            "1.50",
            None,
            "0.00",
            "3.333",  # rounded to cents by the column
            "10",
        )
        + (None,) * 12
    ]
    lines = [("o1", "p1", 2, "5.00", "l1", "v1", None, awkward, None, None, None, 0)]
    with pg.session() as session, Loader(session, shop_id) as loader:
        loader.add_text_orders(text_rows(rows), text_rows(lines))
        counts = loader.merge(complete=True)
    assert counts.orders == 1 and counts.lines == 1
    with pg.engine.connect() as conn:
        row = conn.execute(
            text("SELECT name, email, created_at, processed_at, gross, net_revenue, tax, total FROM orders")
        ).one()
        title = conn.execute(text("SELECT title FROM order_lines")).scalar()
    assert row.name == awkward[:64] and title == awkward and row.email is None
    assert row.created_at == T0 and row.processed_at == T0
    assert (row.gross, row.net_revenue, row.tax, row.total) == (
        Decimal("10.00"),
        Decimal("8.50"),
        Decimal("3.33"),
        Decimal("10.00"),
    )


def test_a_bad_amount_fails_the_load_and_changes_nothing(pg: Database) -> None:
    from psycopg import DataError

    shop_id = make_shop(pg, "fast")
    load_records(pg, shop_id, HISTORY)
    before = table_snapshot(pg)
    bad = [as_text(INCOMING[0].order)]
    bad[0] = bad[0][:11] + ("12,50",) + bad[0][12:]
    with pytest.raises(DataError, match="numeric"):
        with pg.session() as session, Loader(session, shop_id) as loader:
            loader.add_text_orders(text_rows(bad), text_rows([]))
            loader.merge(complete=True)
    assert table_snapshot(pg) == before


def test_text_rows_are_postgresql_only(pg: Database, sqlite_template: Path, tmp_path: Path) -> None:
    with pg.session() as session, Loader(session, make_shop(pg, "fast")) as loader:
        assert loader.takes_text_rows
    lite = tmp_path / "lite.db"
    lite.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite:///{lite}")
    try:
        with database.session() as session, Loader(session, make_shop(database, "lite")) as loader:
            assert not loader.takes_text_rows
            with pytest.raises(NotImplementedError):
                loader.add_text_orders(text_rows([]), text_rows([]))
    finally:
        database.dispose()


def test_lines_without_ids_are_keyed_as_the_general_merge_keys_them(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order file's lines carry no id: the loader keys the first run of each order's rows as
    it stages them, and the complete-orders merge keys the rest (an order whose rows come back
    later in the file) as the general merge ranks them."""
    import cvo_plugin.ingest as ingest

    merged: list[MergeCounts | None] = []
    real = ingest.merge_complete
    monkeypatch.setattr(ingest, "merge_complete", lambda *a, **k: merged.append(real(*a, **k)) or merged[-1])
    general, fast = make_shop(pg, "general"), make_shop(pg, "fast")
    rows = [
        ("o1", "p1", "v1"),
        ("o1", "p1", "v1"),
        ("o2", "p2", None),
        ("o1", "p1", "v1"),  # o1 comes back: this line is ranked by the merge
        ("o2", None, None),
        ("o3", "p1", "v1"),
    ]
    for shop_id, complete in ((general, False), (fast, True)):
        with pg.session() as session, Loader(session, shop_id) as loader:
            loader.add_orders(order(o, T0, []).order for o in ("o1", "o2", "o3"))
            for number, (o, product, variant) in enumerate(rows):
                loader.add_line(
                    LineRecord(o, product, 1 + number, Decimal("2.50"), variant_platform_id=variant)
                )
            counts = loader.merge(complete=complete)
        assert counts.orders == 3 and counts.lines == 6
    assert len(merged) == 1 and merged[0] is not None  # the complete-orders path, no fallback
    held = holdings(pg, fast)
    assert held == holdings(pg, general)
    assert {(o, key) for o, key, *_ in held["lines"]} == {
        ("o1", "p1:v1:1"),
        ("o1", "p1:v1:2"),
        ("o1", "p1:v1:3"),
        ("o2", "p2::1"),
        ("o2", "::1"),
        ("o3", "p1:v1:1"),
    }
