"""The one write path: upserts, staleness, line replacement, money rules, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cvo_plugin import ingest
from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader
from cvo_plugin.models import Customer, Order, OrderLine, Product, Shop, Variant
from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderBundle,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)
from tests.conftest import table_snapshot

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_shop(database: Database, domain: str = "shop-a") -> int:
    with database.session() as session:
        shop = Shop(platform="shopify", domain=domain, settings={})
        session.add(shop)
        session.flush()
        return shop.id


def bundle(
    order_id: str = "o1",
    updated: datetime = T0,
    lines: int = 2,
    cancelled: bool = False,
    quantity: int = 1,
    email: str = "a@example.com",
) -> OrderBundle:
    order = OrderRecord(
        platform_id=order_id,
        created_at=T0,
        updated_at=updated,
        customer_platform_id="c1",
        email=email,
        currency="USD",
        discounts=Decimal("1.00"),
        cancelled_at=updated if cancelled else None,
        utm_source="google",
    )
    return OrderBundle(
        order,
        tuple(
            LineRecord(
                order_platform_id=order_id,
                platform_id=f"{order_id}-l{i}",
                product_platform_id=f"p{i}",
                variant_platform_id=f"v{i}",
                quantity=quantity,
                unit_price=Decimal("10.00"),
            )
            for i in range(lines)
        ),
        CustomerRecord(platform_id="c1", email=email, first_name="Ada", updated_at=updated),
    )


def load(database: Database, shop_id: int, *bundles: OrderBundle):
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_bundles(bundles)
        return loader.merge()


def test_upsert_is_idempotent(database: Database) -> None:
    shop_id = make_shop(database)
    counts = load(database, shop_id, bundle())
    assert (counts.orders, counts.lines, counts.customers) == (1, 2, 1)
    before = table_snapshot(database)
    load(database, shop_id, bundle())
    assert table_snapshot(database) == before
    with database.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.gross == Decimal("20.00")
        assert order.discounts == Decimal("1.00")
        assert order.net_revenue == Decimal("19.00")
        assert order.line_count == 2 and order.units == 2
        assert order.customer_id == session.scalars(select(Customer.id)).one()
        assert session.scalar(select(func.count()).select_from(Product)) == 2
        assert session.scalar(select(func.count()).select_from(Variant)) == 2


@pytest.mark.parametrize("crowded", [False, True])
def test_lines_without_ids_are_ranked_across_the_whole_load(
    database: Database, monkeypatch: pytest.MonkeyPatch, crowded: bool
) -> None:
    if crowded:  # the loader's hash table takes every order for one seen before: the merge ranks all
        monkeypatch.setattr(ingest._LineKeys, "_has_ended", lambda self, order: True)
    shop_id = make_shop(database)

    def line(order: str, quantity: int, line_id: str | None = None) -> LineRecord:
        return LineRecord(
            order_platform_id=order,
            product_platform_id="p1",
            quantity=quantity,
            unit_price=Decimal("1.00"),
            platform_id=line_id,
        )

    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_orders([OrderRecord("o1", created_at=T0), OrderRecord("o2", created_at=T0)])
        # o1 comes back after o2; o2's lines arrive one by one and as a batch; a line with an
        # id counts towards the ranks of those without.
        for record in (line("o1", 1), line("o1", 2, "x"), line("o1", 3), line("o2", 4)):
            loader.add_line(record)
        loader.add_lines([line("o2", 5)])
        for record in (line("o2", 6), line("o1", 7), line("o2", 8)):
            loader.add_line(record)
        counts = loader.merge()
    assert (counts.orders, counts.lines) == (2, 8)
    with database.session() as session:
        rows = session.execute(
            select(Order.platform_id, OrderLine.platform_id, OrderLine.quantity)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .order_by(OrderLine.quantity)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("o1", "p1::1", 1),
        ("o1", "x", 2),
        ("o1", "p1::3", 3),
        ("o2", "p1::1", 4),
        ("o2", "p1::2", 5),
        ("o2", "p1::3", 6),
        ("o1", "p1::4", 7),
        ("o2", "p1::4", 8),
    ]


def test_stale_updates_do_not_overwrite(database: Database) -> None:
    shop_id = make_shop(database)
    load(database, shop_id, bundle(updated=T0 + timedelta(hours=2), lines=3))
    counts = load(
        database, shop_id, bundle(updated=T0 + timedelta(hours=1), lines=1, email="old@example.com")
    )
    assert counts.stale_orders == 1 and counts.orders == 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 3
        assert session.scalars(select(Order.email)).one() == "a@example.com"
        assert session.scalars(select(Customer.email)).one() == "a@example.com"


def test_newer_order_replaces_its_lines_and_cancellation_zeroes_net(database: Database) -> None:
    shop_id = make_shop(database)
    load(database, shop_id, bundle(lines=3))
    load(database, shop_id, bundle(updated=T0 + timedelta(days=1), lines=1, cancelled=True))
    with database.session() as session:
        lines = session.scalars(select(OrderLine.platform_id)).all()
        assert lines == ["o1-l0"]
        order = session.scalars(select(Order)).one()
        assert order.cancelled_at is not None
        assert order.gross == Decimal("10.00") and order.net_revenue == Decimal("0.00")


def test_order_without_lines_keeps_lines_and_totals(database: Database) -> None:
    shop_id = make_shop(database)
    load(database, shop_id, bundle(lines=2))
    header_only = OrderRecord(
        platform_id="o1",
        created_at=T0,
        updated_at=T0 + timedelta(hours=1),
        financial_status="refunded",
        refunds=Decimal("5.00"),
    )
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_orders([header_only])
        loader.merge()
    with database.session() as session:
        order = session.scalars(select(Order)).one()
        assert order.financial_status == "refunded"
        # discounts (1.00) were kept from the stored order: 20 - 1 - 5
        assert (order.gross, order.refunds, order.net_revenue) == (
            Decimal("20.00"),
            Decimal("5.00"),
            Decimal("14.00"),
        )
        assert order.customer_id is not None and order.email == "a@example.com"
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 2


def test_returns_and_refunds_reduce_net_never_below_zero(database: Database) -> None:
    shop_id = make_shop(database)
    order = OrderRecord(platform_id="o9", created_at=T0)
    lines = [
        LineRecord("o9", "p1", 2, Decimal("10.00")),
        LineRecord("o9", "p1", -1, Decimal("10.00")),
        LineRecord("o9", "p2", 1, Decimal("5.00"), refunded_quantity=1),
    ]
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_order(order, lines)
        counts = loader.merge()
    assert counts.returns == 2
    with database.session() as session:
        stored = session.scalars(select(Order)).one()
        assert (stored.gross, stored.refunds, stored.net_revenue) == (
            Decimal("25.00"),
            Decimal("15.00"),
            Decimal("10.00"),
        )
        keys = sorted(session.scalars(select(OrderLine.platform_id)).all())
        assert keys == ["p1::1", "p1::2", "p2::1"]
    big_refund = OrderRecord(platform_id="o9", created_at=T0, refunds=Decimal("99.00"))
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_order(big_refund, lines)
        loader.merge()
    with database.session() as session:
        assert session.scalars(select(Order.net_revenue)).one() == Decimal("0.00")


def test_shops_never_see_each_others_rows(database: Database) -> None:
    a, b = make_shop(database, "a"), make_shop(database, "b")
    load(database, a, bundle(lines=2))
    load(database, b, bundle(lines=1, email="b@example.com"))
    with database.session() as session:
        for shop_id, n_lines, email in ((a, 2, "a@example.com"), (b, 1, "b@example.com")):
            order = session.scalars(select(Order).where(Order.shop_id == shop_id)).one()
            assert order.line_count == n_lines and order.email == email
            customer = session.get(Customer, order.customer_id)
            assert customer is not None and customer.shop_id == shop_id
            for line in session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)):
                assert line.shop_id == shop_id
                assert session.get(Product, line.product_id).shop_id == shop_id  # type: ignore[union-attr]


def test_catalogue_records_and_redacted_customers(database: Database) -> None:
    shop_id = make_shop(database)
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_products([ProductRecord("p1", title="Beans", product_type="Coffee", status="active")])
        loader.add_variants(
            [VariantRecord("v1", "p1", sku="B1", price=Decimal("9.99"), cost=Decimal("4.00"))]
        )
        loader.add_customers([CustomerRecord("c1", email="x@example.com", updated_at=T0)])
        loader.merge()
    with database.session() as session:
        customer = session.scalars(select(Customer)).one()
        customer.email = None
        customer.redacted_at = T0
    with database.session() as session, Loader(session, shop_id) as loader:
        loader.add_customers(
            [CustomerRecord("c1", email="again@example.com", updated_at=T0 + timedelta(days=1))]
        )
        loader.merge()
    with database.session() as session:
        assert session.scalars(select(Customer.email)).one() is None
        variant = session.scalars(select(Variant)).one()
        assert (variant.price, variant.cost) == (Decimal("9.99"), Decimal("4.00"))
        assert session.scalars(select(Product.product_type)).one() == "Coffee"


def test_deleting_orders_and_shops_leaves_no_orphans(database: Database) -> None:
    from cvo_plugin.services.shops import delete_orders, delete_shop

    a, b = make_shop(database, "a"), make_shop(database, "b")
    load(database, a, bundle("o1"), bundle("o2"))
    load(database, b, bundle("o1"))
    with database.session() as session:
        assert delete_orders(session, a, ["o1"]) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.shop_id == a)) == 2
        assert session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.shop_id == b)) == 2
        delete_shop(session, a)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.shop_id == a)) == 0
        assert session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == a)) == 0
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.shop_id == a)) == 0
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 2
