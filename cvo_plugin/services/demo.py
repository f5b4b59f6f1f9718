"""Building the demo store: generate its files, import them like real data, compute everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cvo_plugin.db import Database
from cvo_plugin.demo.generator import DemoFiles, generate
from cvo_plugin.imports.reader import ByteProgress
from cvo_plugin.services.imports import ImportSummary, import_orders, import_products
from cvo_plugin.services.insights.spend import import_spend
from cvo_plugin.services.shops import get_or_create_shop

DEMO_SHOP = "demo-coffee.example"


@dataclass(frozen=True)
class DemoStore:
    shop_id: int
    files: DemoFiles
    products: ImportSummary
    orders: ImportSummary


def build_demo_store(
    database: Database,
    directory: Path,
    customers: int = 4000,
    seed: int = 7,
    end: date | None = None,
    progress: ByteProgress | None = None,
    image_base: str = "",
) -> DemoStore:
    """Generate the demo files under `directory` and import them into the demo shop."""
    files = generate(directory, customers=customers, seed=seed, end=end, image_base=image_base)
    with database.session() as session:
        shop = get_or_create_shop(session, DEMO_SHOP, platform="demo", currency="USD")
        shop.name = "Demo Coffee Co."
        products = import_products(session, shop, files.products_csv, progress=progress)
        shop_id = shop.id
    with database.session() as session:
        shop = get_or_create_shop(session, DEMO_SHOP)
        orders = import_orders(session, shop, files.lines_csv, "lines-csv", progress)
        import_spend(session, shop, files.spend_csv)
    return DemoStore(shop_id, files, products, orders)
