"""A small coffee shop for the cross-sell tests, stored through the one write path (`Loader`).

What it holds, and what the cross-sells must make of it:

- 20 orders with the dripper and paper filters (10 with the kettle too): dripper -> filters;
- the first 8 of those also hold products that cannot be sold (archived, draft, unpublished,
  sold out): they must never be recommended;
- 6 cancelled orders of tea with a mug: tea -> mug must not appear;
- 9 orders of beans with a mug that was fully refunded or returned: beans -> mug must not appear;
- customers who buy the house blend and later the dearer Geisha (an upsell), one the other
  way round; the blend is bought as two variants (they roll up to one product);
- a new scale nobody bought yet: it gets the bestsellers of its type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.ingest import Loader
from cvo_plugin.records import LineRecord, OrderRecord, ProductRecord, VariantRecord
from cvo_plugin.services.shops import get_or_create_shop
from cvo_plugin.tasks import COMPUTE_CROSSSELL, QUEUE_ANALYTICS, JobHandle, TaskQueue

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

# platform id: (title, type, vendor, status, published, [(variant id, price, available)])
CATALOGUE: dict[str, tuple[str, str, str, str, bool, list[tuple[str, str, bool | None]]]] = {
    "dripper": (
        "Pour-Over Dripper",
        "Brewing Gear",
        "BrewLab",
        "active",
        True,
        [("dripper-1", "29.00", True)],
    ),
    "filters": ("Paper Filters", "Filters", "BrewLab", "active", True, [("filters-1", "7.00", None)]),
    "kettle": ("Gooseneck Kettle", "Brewing Gear", "BrewLab", "active", True, [("kettle-1", "79.00", True)]),
    "grinder": ("Burr Grinder", "Brewing Gear", "BrewLab", "active", True, [("grinder-1", "149.00", True)]),
    "beans": (
        "House Blend",
        "Coffee",
        "Roastery",
        "active",
        True,
        [("beans-250", "14.00", True), ("beans-1kg", "46.00", False)],
    ),
    "geisha": ("Geisha Reserve", "Coffee", "Roastery", "active", True, [("geisha-1", "38.00", True)]),
    "tea": ("Earl Grey", "Tea", "Leaf & Cup", "active", True, [("tea-1", "9.50", True)]),
    "mug": ("Stoneware Mug", "Mugs", "Clay Studio", "active", True, [("mug-1", "22.00", True)]),
    "archived": ("Old Dripper", "Brewing Gear", "BrewLab", "archived", True, [("archived-1", "20.00", True)]),
    "draft": ("Draft Scale", "Brewing Gear", "BrewLab", "draft", True, [("draft-1", "55.00", True)]),
    "unlisted": (
        "Unpublished Jar",
        "Brewing Gear",
        "BrewLab",
        "active",
        False,
        [("unlisted-1", "34.00", True)],
    ),
    "soldout": (
        "Sold-out Tamper",
        "Brewing Gear",
        "BrewLab",
        "active",
        True,
        [("soldout-1", "25.00", False)],
    ),
    "new-scale": ("New Scale", "Brewing Gear", "BrewLab", "active", True, [("new-scale-1", "60.00", True)]),
}
UNAVAILABLE = ("archived", "draft", "unlisted", "soldout")
VARIANT = {pid: variants[0][0] for pid, (*_, variants) in CATALOGUE.items()}
PRICE = {pid: Decimal(variants[0][1]) for pid, (*_, variants) in CATALOGUE.items()}


def catalogue_records() -> tuple[list[ProductRecord], list[VariantRecord]]:
    products, variants = [], []
    for pid, (title, ptype, vendor, status, published, items) in CATALOGUE.items():
        products.append(
            ProductRecord(
                pid,
                title=title,
                handle=pid,
                product_type=ptype,
                vendor=vendor,
                status=status,
                published=published,
                image_url=f"https://cdn.example/{pid}.png",
                url=f"/products/{pid}",
            )
        )
        for vid, price, available in items:
            variants.append(
                VariantRecord(
                    vid,
                    pid,
                    title=vid,
                    sku=vid.upper(),
                    price=Decimal(price),
                    compare_at_price=Decimal(price) * 2 if pid == "filters" else None,
                    available=available,
                )
            )
    return products, variants


Line = tuple[str, int, int] | tuple[str, int, int, str]  # (product, quantity, refunded[, variant])


def orders() -> list[tuple[OrderRecord, list[LineRecord]]]:
    """Every order of the shop (see the module docstring)."""
    result: list[tuple[OrderRecord, list[LineRecord]]] = []

    def order(customer: str | None, day: int, lines: list[Line], cancelled: bool = False) -> None:
        oid = f"o{len(result) + 1:03d}"
        when = T0 + timedelta(days=day)
        record = OrderRecord(
            oid,
            created_at=when,
            customer_platform_id=customer,
            currency="USD",
            cancelled_at=when if cancelled else None,
        )
        records = [
            LineRecord(
                oid,
                line[0],
                line[1],
                PRICE[line[0]],
                platform_id=f"{oid}-{i}",
                variant_platform_id=line[3] if len(line) > 3 else VARIANT[line[0]],
                refunded_quantity=line[2],
            )
            for i, line in enumerate(lines)
        ]
        result.append((record, records))

    for i in range(20):
        lines: list[Line] = [("dripper", 3 if i == 0 else 1, 0), ("filters", 2, 0)]
        if i < 10:
            lines.append(("kettle", 1, 0))
        if i < 8:
            lines += [(p, 1, 0) for p in UNAVAILABLE]
        order(f"c{i}", i, lines)
    order(None, 3, [("dripper", 1, 0)])  # a guest buys the dripper alone
    order("c40", 4, [("grinder", 1, 0)])
    order("c41", 5, [("grinder", 1, 0), ("kettle", 1, 0)])
    for i in range(6):
        order(f"c{50 + i}", 30 + i, [("tea", 1, 0), ("mug", 1, 0)], cancelled=True)
    for i in range(2):
        order(f"c{60 + i}", 40 + i, [("tea", 1, 0)])
        order(f"c{62 + i}", 40 + i, [("mug", 1, 0)])
    for i in range(9):  # beans with a mug that went back: refunded, or returned on a line
        mug: list[Line] = [("mug", 1, 1)] if i < 6 else [("mug", 1, 0), ("mug", -1, 0)]
        order(f"c{70 + i}", 50 + i, [("beans", 1, 0), *mug])
    # House blend (two variants), later the Geisha: an upsell; c85 goes the other way.
    for i in range(5):
        customer = f"c{80 + i}"
        variant = "beans-250" if i % 2 else "beans-1kg"
        order(customer, 60 + i, [("beans", 1, 0, variant), ("beans", 1, 0, "beans-250")])
        order(customer, 90 + i, [("geisha", 1, 0)])
    order("c85", 60, [("geisha", 1, 0)])
    order("c85", 95, [("beans", 1, 0)])
    return result


def build_shop(database: Database, domain: str = "alpha.example") -> int:
    """Create the shop and load its catalogue and orders; returns its id."""
    products, variants = catalogue_records()
    with database.session() as session:
        shop = get_or_create_shop(session, domain)
        with Loader(session, shop.id) as loader:
            loader.add_products(products)
            loader.add_variants(variants)
            loader.merge()
            for record, lines in orders():
                loader.add_order(record, lines)
            loader.merge()
        return shop.id


def compute(database: Database, shop_id: int, as_of: str | None = None) -> JobHandle:
    """Run the cross-sell job in this process, the way `cvo compute` does without Redis."""
    settings = Settings(env="testing", database_url=database.url, secret_key="s", token_encryption_key="k")
    kwargs = {"as_of": as_of} if as_of else {}
    return TaskQueue(settings, database).enqueue(
        COMPUTE_CROSSSELL, shop_id, kind="crosssell", queue=QUEUE_ANALYTICS, kwargs=kwargs
    )
