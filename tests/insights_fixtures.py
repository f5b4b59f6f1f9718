"""Small hand-made shops for the customer-value tests."""

from __future__ import annotations

import csv
from pathlib import Path

from cvo_plugin.db import Database
from cvo_plugin.services.imports import import_orders
from cvo_plugin.services.shops import get_or_create_shop

HEADER = [
    "order_id",
    "customer_id",
    "created_at",
    "product_id",
    "quantity",
    "unit_price",
    "cancelled",
    "source",
    "country",
    "city",
    "email",
]

# (order, customer, day, product, quantity, unit price, cancelled, source)
ORDERS = [
    ("1001", "c1", "2024-01-10", "beans", 2, "25.00", "false", "google"),
    ("1002", "c1", "2024-03-01", "mug", 1, "30.00", "false", "email"),
    ("1003", "c1", "2024-06-20", "beans", 1, "40.00", "false", "email"),
    ("1004", "c2", "2024-02-01", "grinder", 1, "100.00", "false", "facebook"),
    ("1005", "c3", "2024-05-05", "tea", 2, "10.00", "false", "organic"),
    ("1006", "c3", "2024-06-25", "tea", 1, "20.00", "false", "direct"),
    ("1007", "c4", "2024-06-28", "filters", 3, "5.00", "false", "google"),
    ("1008", "c5", "2024-07-15", "grinder", 1, "60.00", "false", "facebook"),  # after 2024-06-30
    ("1009", "c6", "2024-04-01", "beans", 1, "10.00", "true", "google"),  # cancelled
    ("1010", "c1", "2024-07-02", "beans", 1, "25.00", "false", "email"),  # after 2024-06-30
    ("1011", "", "2024-05-01", "mug", 1, "30.00", "false", "web"),  # a guest
]
PLACES = {"c1": ("US", "Austin"), "c2": ("GB", "London"), "c3": ("US", "Seattle")}


def write_lines(path: Path, price_factor: int = 1) -> Path:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for order, customer, day, product, quantity, price, cancelled, source in ORDERS:
            country, city = PLACES.get(customer, ("", ""))
            email = f"{customer}@example.com" if customer else ""
            amount = f"{float(price) * price_factor:.2f}"
            writer.writerow(
                [
                    order,
                    customer,
                    f"{day}T12:00:00Z",
                    product,
                    quantity,
                    amount,
                    cancelled,
                    source,
                    country,
                    city,
                    email,
                ]
            )
    return path


def make_shop(database: Database, directory: Path, name: str = "hand.example", price_factor: int = 1) -> int:
    path = write_lines(directory / f"{name}.csv", price_factor)
    with database.session() as session:
        shop = get_or_create_shop(session, name)
        import_orders(session, shop, path, "lines-csv")
        return shop.id


def current_segments(database: Database, shop_id: int) -> dict[str, str]:
    """Customer platform id -> segment in the shop's current snapshot."""
    from sqlalchemy import select

    from cvo_plugin.models import AnalyticsSnapshot, Customer, CustomerScore

    with database.sessionmaker() as session:
        rows = session.execute(
            select(Customer.platform_id, CustomerScore.segment)
            .join(Customer, Customer.id == CustomerScore.customer_id)
            .join(AnalyticsSnapshot, AnalyticsSnapshot.id == CustomerScore.snapshot_id)
            .where(AnalyticsSnapshot.shop_id == shop_id, AnalyticsSnapshot.is_current.is_(True))
        ).all()
    return {str(pid): str(segment) for pid, segment in rows}
