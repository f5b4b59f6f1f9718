"""Benchmark: the Shopify backfill of 200,000 orders through bulk exports, into PostgreSQL.

Generates a stand-in shop (tests/shopify_standin: 200,000 orders with about 2.3 lines each,
50,000 customers, 400 products), serves it on loopback, lets the stand-in write its bulk export
files once (Shopify's side of the work, timed apart), then runs the app's backfill
(`ShopifySync.run(full=True)`: start the exports, poll them, stream each JSONL file into the
database) into a fresh PostgreSQL database, and prints where the time went.

The import rate is orders / (time from the moment the orders export is complete to the commit
of its last batch): download, JSON parsing, mapping, staging and the set-based merge. Target:
at least 20,000 orders a second.

    python bench/shopify_backfill.py [--orders 200000] [--pg postgresql://postgres@127.0.0.1/cvo_bench_shopify]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.shopify import bulk  # noqa: E402
from connectors.shopify.bulk import BulkOperation  # noqa: E402
from connectors.shopify.client import GraphQLClient  # noqa: E402
from connectors.shopify.oauth import grant_from_response  # noqa: E402
from cvo_plugin.crypto import TokenBox  # noqa: E402
from cvo_plugin.db import Database  # noqa: E402
from cvo_plugin.migrate import upgrade  # noqa: E402
from cvo_plugin.models import Shop  # noqa: E402
from cvo_plugin.services.shopify_sync import ShopifySync, SyncSummary  # noqa: E402
from cvo_plugin.services.shopify_tokens import store_grant  # noqa: E402
from tests.shopify_standin import ShopifyStandIn, Store  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from import_orders import fresh_postgres  # noqa: E402

BATCH = int(os.environ.get("BATCH", "0"))  # 0: the app's own batch size
API_KEY = "bench-key"
API_SECRET = "bench-secret-0123456789abcdef0123"


class TimedSync(ShopifySync):
    """The app's sync, noting when each export's import starts and ends."""

    imports: dict[str, tuple[float, float]]

    def _import(self, resource: str, operation: BulkOperation, summary: SyncSummary) -> None:
        started = time.perf_counter()
        super()._import(resource, operation, summary)
        self.imports[resource] = (started, time.perf_counter())


def prepare_exports(shopify: ShopifyStandIn) -> float:
    """Let the stand-in write every export once (what Shopify does before the app reads it)."""
    client = GraphQLClient(shopify.store.domain, shopify.issue_token(), admin_origin=shopify.origin)
    started = time.perf_counter()
    for name in bulk.RESOURCES:
        operation = bulk.start(client, name)
        bulk.wait(client, operation.id, timeout_s=3600, poll_s=0.2)
    return time.perf_counter() - started


def run(orders: int, pg: str, key: str) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store.generate(orders, seed=1)
    generated = time.perf_counter() - started
    lines = sum(len(o["line_items"]) for o in store.orders.values())
    with ShopifyStandIn(store, API_KEY, API_SECRET, restore_rate=1e6, bucket_max=1e6) as shopify:
        shopify.api.reuse_exports = True
        export_s = prepare_exports(shopify)
        url = fresh_postgres(pg)
        upgrade(url)
        database = Database(url)
        with database.session() as session:
            shop = Shop(platform="shopify", domain=store.domain, name="bench", settings={}, is_active=True)
            answer = {"scope": "read_orders,read_all_orders,read_customers,read_products"}
            store_grant(shop, grant_from_response(answer, shopify.issue_token(expiring=False)), TokenBox(key))
            session.add(shop)
            session.flush()
            shop_id = shop.id
        client = GraphQLClient(store.domain, shopify.issue_token(), admin_origin=shopify.origin)
        sync = TimedSync(database, client, shop_id, batch_roots={"orders": BATCH} if BATCH else None)
        sync.imports = {}
        started = time.perf_counter()
        summary = sync.run(full=True)
        total = time.perf_counter() - started
        database.dispose()
    assert summary.stored["orders"] == orders, summary
    first, last = sync.imports["orders"]
    return {
        "orders": orders,
        "lines": lines,
        "customers": len(store.customers),
        "products": len(store.products),
        "generate_s": generated,
        "export_s": export_s,
        "backfill_s": total,
        "orders_import_s": last - first,
        "customers_import_s": sync.imports["customers"][1] - sync.imports["customers"][0],
        "products_import_s": sync.imports["products"][1] - sync.imports["products"][0],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench_shopify")
    args = parser.parse_args()
    from cryptography.fernet import Fernet

    result = run(args.orders, args.pg, Fernet.generate_key().decode())
    rate = result["orders"] / result["orders_import_s"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"stand-in: generated the shop in {result['generate_s']:.1f} s, wrote its exports in "
        f"{result['export_s']:.1f} s (Shopify's side, not counted)"
    )
    print(
        "| orders | lines | customers | import orders (s) | orders/s | customers (s) | products (s) "
        "| whole backfill (s) | peak memory (MB) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    r = result
    print(
        f"| {r['orders']:,} | {r['lines']:,} | {r['customers']:,} | {r['orders_import_s']:.1f} | {rate:,.0f} "
        f"| {r['customers_import_s']:.1f} | {r['products_import_s']:.1f} | {r['backfill_s']:.1f} "
        f"| {r['peak_mb']:.0f} |"
    )


if __name__ == "__main__":
    main()
