"""File imports: hand-checked totals, idempotence, atomic refusal of malformed files."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cvo_plugin.db import Database
from cvo_plugin.imports.reader import ImportFormatError
from cvo_plugin.models import Customer, ImportRun, Order, OrderLine, Product, Shop, Variant
from cvo_plugin.services.imports import import_orders, import_products
from cvo_plugin.services.shops import get_or_create_shop
from tests.conftest import DATA, table_snapshot

SMALL = DATA / "lines" / "small.csv"
SHOPIFY_ORDERS = DATA / "shopify_export" / "orders_export_sample.csv"
SHOPIFY_PRODUCTS = DATA / "shopify_export" / "products_export_sample.csv"


def run_import(database: Database, path: Path, fmt: str, shop: str = "shop.example"):
    with database.session() as session:
        return import_orders(session, get_or_create_shop(session, shop), path, fmt)


def test_lines_csv_totals_by_hand(database: Database) -> None:
    summary = run_import(database, SMALL, "lines-csv")
    c = summary.counts
    assert (summary.rows, c.orders, c.lines, c.returns, c.cancelled) == (7, 5, 7, 2, 1)
    with database.session() as session:
        orders = {o.platform_id: o for o in session.scalars(select(Order))}
        expected = {  # gross, refunds, net
            "1001": ("25.50", "0.00", "25.50"),
            "1002": ("10.00", "10.00", "0.00"),
            "1003": ("12.00", "4.00", "8.00"),
            "1004": ("11.00", "0.00", "0.00"),
            "1005": ("10.00", "0.00", "10.00"),
        }
        for key, (gross, refunds, net) in expected.items():
            o = orders[key]
            assert (o.gross, o.refunds, o.net_revenue) == (Decimal(gross), Decimal(refunds), Decimal(net)), (
                key
            )
        assert orders["1004"].cancelled_at == orders["1004"].created_at
        assert orders["1005"].customer_id is None
        assert orders["1003"].created_at.hour == 8  # +01:00 stored as UTC
        assert orders["1001"].utm_source is None and orders["1001"].source_name == "google"
        assert (orders["1001"].country, orders["1001"].city) == ("DE", "Berlin")
        assert session.scalar(select(func.count()).select_from(Customer)) == 3
        assert session.scalar(select(func.count()).select_from(Product)) == 3
        assert session.scalar(select(func.count()).select_from(Variant)) == 1
        shop = session.scalars(select(Shop)).one()
        assert (shop.platform, shop.currency) == ("csv", "EUR")


def test_importing_the_same_file_twice_changes_nothing(database: Database) -> None:
    run_import(database, SMALL, "lines-csv")
    before = table_snapshot(database)
    run_import(database, SMALL, "lines-csv")
    after = table_snapshot(database)
    # The import log notes the second run's time; every data table is unchanged.
    for table in before:
        if table != "import_runs":
            assert after[table] == before[table], table
    assert len(after["import_runs"]) == 1


def _lines_by_order(database: Database, shop: str) -> dict[str, list[tuple[str, int]]]:
    with database.session() as session:
        rows = session.execute(
            select(Order.platform_id, OrderLine.platform_id, OrderLine.quantity)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Shop, Shop.id == Order.shop_id)
            .where(Shop.domain == shop)
            .order_by(Order.platform_id, OrderLine.platform_id)
        ).all()
    found: dict[str, list[tuple[str, int]]] = {}
    for order, line, quantity in rows:
        found.setdefault(order, []).append((line, quantity))
    return found


def test_rows_of_one_order_apart_in_the_file_make_one_order(database: Database, tmp_path: Path) -> None:
    header = "order_id,customer_id,created_at,product_id,variant_id,quantity,unit_price\n"
    a1, a2, a3, a4 = (
        f"A,c1,2024-01-05T10:00:00Z,{product},,{quantity},10.00\n"
        for product, quantity in (("p1", 1), ("p1", 2), ("p2", 1), ("p1", 3))
    )
    b1, b2 = (f"B,c2,2024-01-06T10:00:00Z,p1,,{quantity},10.00\n" for quantity in (4, 5))
    apart, together = tmp_path / "apart.csv", tmp_path / "together.csv"
    apart.write_text(header + a1 + a2 + b1 + a3 + b2 + a4)
    together.write_text(header + a1 + a2 + a3 + a4 + b1 + b2)

    summary = run_import(database, apart, "lines-csv", shop="apart.example")
    assert (summary.counts.orders, summary.counts.lines) == (2, 6)
    run_import(database, together, "lines-csv", shop="together.example")
    lines = _lines_by_order(database, "apart.example")
    # A line without a platform id is keyed by its rank among the order's lines of that product
    # and variant, in file order, wherever the order's rows are.
    assert lines == {
        "A": [("p1::1", 1), ("p1::2", 2), ("p1::3", 3), ("p2::1", 1)],
        "B": [("p1::1", 4), ("p1::2", 5)],
    }
    assert _lines_by_order(database, "together.example") == lines
    with database.session() as session:
        order = session.scalars(select(Order).where(Order.platform_id == "A").limit(1)).one()
        assert (order.line_count, order.units, order.gross) == (4, 7, Decimal("70.00"))

    before = table_snapshot(database)
    run_import(database, apart, "lines-csv", shop="apart.example")
    after = table_snapshot(database)
    for table in before:
        if table != "import_runs":
            assert after[table] == before[table], table


BAD_FILES = {
    "bad date": (
        "1001,c1,2024-13-45T10:00:00Z,p1,2,10.00\n",
        3,
        "created_at '2024-13-45T10:00:00Z' is not a date",
    ),
    "non-numeric price": ("1001,c1,2024-01-05T10:00:00Z,p1,2,ten\n", 3, "unit_price 'ten' is not a number"),
    "missing value": ("1001,c1,2024-01-05T10:00:00Z,,2,10.00\n", 3, "product_id is empty"),
    "zero quantity": ("1001,c1,2024-01-05T10:00:00Z,p1,0,10.00\n", 3, "quantity is 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_rows_are_refused_and_change_nothing(database: Database, tmp_path: Path, case: str) -> None:
    run_import(database, SMALL, "lines-csv")
    before = table_snapshot(database)
    row, line, reason = BAD_FILES[case]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "order_id,customer_id,created_at,product_id,quantity,unit_price\n"
        "2001,c9,2024-03-01T10:00:00Z,p9,1,3.00\n" + row
    )
    with pytest.raises(ImportFormatError) as info:
        run_import(database, bad, "lines-csv")
    assert info.value.file == "bad.csv" and info.value.line == line
    assert reason in str(info.value)
    assert table_snapshot(database) == before


def test_missing_column_and_wrong_encoding_are_refused(database: Database, tmp_path: Path) -> None:
    run_import(database, SMALL, "lines-csv")
    before = table_snapshot(database)
    missing = tmp_path / "missing.csv"
    missing.write_text("order_id,customer_id,created_at,product_id,quantity\n1,c,2024-01-01,p,1\n")
    with pytest.raises(
        ImportFormatError, match=r"missing.csv, line 1: missing required column\(s\): unit_price"
    ):
        run_import(database, missing, "lines-csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        "order_id,customer_id,created_at,product_id,quantity,unit_price,product_title\n"
        "1,c,2024-01-01,p,1,2.00,Caf\u00e9\n".encode("latin-1")
    )
    with pytest.raises(ImportFormatError, match=r"latin1.csv, line 2: not valid UTF-8"):
        run_import(database, latin1, "lines-csv")
    assert table_snapshot(database) == before


def test_shopify_export_orders_then_products(database: Database, tmp_path: Path) -> None:
    summary = run_import(database, SHOPIFY_ORDERS, "shopify-csv")
    assert summary.counts.orders == 400
    with database.session() as session:
        shop = session.scalars(select(Shop)).one()
        provisional = session.scalar(
            select(func.count()).select_from(Product).where(Product.platform_id.like("sku:%"))
        )
        assert provisional > 0
        order = session.scalars(select(Order).where(Order.platform_id == "#AP-516043")).one()
        # Subtotal 75.00 = 12 + 59 + 4; refunded 27.00; paid, not cancelled.
        assert (order.gross, order.refunds, order.net_revenue) == (
            Decimal("75.00"),
            Decimal("27.00"),
            Decimal("48.00"),
        )
        assert (order.total, order.tax, order.currency) == (Decimal("81.19"), Decimal("6.19"), "USD")
        assert order.financial_status == "partially_refunded" and order.line_count == 3
        assert order.email == "customer-038745bc89@example.com"
        tips = session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.title == "Tip"))
        assert tips == 0
        klaviyo = session.scalar(select(func.count()).select_from(Order).where(Order.utm_source == "Klaviyo"))
        assert klaviyo > 0
    with database.session() as session:
        shop = session.scalars(select(Shop)).one()
        products = import_products(session, shop, SHOPIFY_PRODUCTS)
        assert products.counts.products == 175
    with database.session() as session:
        linked = session.execute(
            select(func.count())
            .select_from(OrderLine)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Product.platform_id.not_like("sku:%"), Product.platform_id.not_like("title:%"))
        ).scalar()
        total = session.scalar(select(func.count()).select_from(OrderLine))
        assert linked is not None and total is not None and linked / total > 0.8
        fish = session.scalars(select(OrderLine).where(OrderLine.sku == "FISH-BLUE-REGU")).first()
        assert fish is not None and fish.variant_id is not None
        product = session.get(Product, fish.product_id)
        assert product is not None and not product.platform_id.startswith("sku:")
        mug = session.scalars(select(Product).where(Product.platform_id == "xp8434-11-oz-white-mug")).one()
        assert (mug.product_type, mug.status, mug.published) == ("Drinkware", "active", False)
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 2
    # Re-importing both files changes no data.
    before = table_snapshot(database)
    copy = tmp_path / "orders_again.csv"
    shutil.copyfile(SHOPIFY_ORDERS, copy)
    run_import(database, copy, "shopify-csv")
    after = table_snapshot(database)
    for table in before:
        if table != "import_runs":
            assert after[table] == before[table], table
