"""Benchmark: the admin's pages of a shop with 1,000,000 customers, rendered at the server.

Fills a fresh PostgreSQL database with one shop (`bench/segments_job.py`'s generator: customers,
orders with one line each, COPY), makes it an installed Shopify shop, runs the customer-value job
once (its stored summaries are what the dashboard reads; `--runs 2` adds a second computation 30
days later, for segment moves), then requests each admin page through the WSGI app with a fresh
session token per request (verification, shop lookup, reads, template) and prints the median and
95th percentile. Target: the dashboard under 300 ms.

    python bench/admin_dashboard.py [--customers 1000000] [--orders 5000000] [--runs 1]
        [--pg postgresql://postgres@127.0.0.1:5432/cvo_bench_admin] [--reuse] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.import_orders import fresh_postgres  # noqa: E402
from bench.segments_job import AS_OF, fill, job  # noqa: E402
from cvo_plugin import create_app  # noqa: E402
from cvo_plugin.config import normalize_database_url  # noqa: E402
from cvo_plugin.db import Database  # noqa: E402
from cvo_plugin.migrate import upgrade  # noqa: E402
from cvo_plugin.models import Shop  # noqa: E402
from cvo_plugin.services.insights import read  # noqa: E402
from tests.admin_fixtures import API_KEY, API_SECRET, session_token  # noqa: E402

DOMAIN = "bench-admin.myshopify.com"
TARGET_MS = 300


def prepare(args: argparse.Namespace) -> tuple[str, int]:
    """The database URL and the bench shop's id (filled and computed unless `--reuse`)."""
    if args.reuse:
        url = normalize_database_url(args.pg)
        with Database(url).sessionmaker() as session:
            return url, session.scalars(select(Shop.id).where(Shop.domain == DOMAIN)).one()
    url = fresh_postgres(args.pg)
    upgrade(url)
    database = Database(url)
    started = time.perf_counter()
    shop_id = fill(database, args.customers, args.orders)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.platform, shop.domain, shop.name = "shopify", DOMAIN, "Bench Shop"
    database.dispose()
    elapsed = time.perf_counter() - started
    print(f"filled {args.customers:,} customers and {args.orders:,} orders in {elapsed:.0f} s")
    for run in range(args.runs):
        as_of = AS_OF - timedelta(days=30 * (args.runs - 1 - run))
        times = job(url, shop_id, as_of)
        print(f"computed as of {as_of} in {times['total']:.0f} s")
    return url, shop_id


def measure(url: str, shop_id: int, repeat: int) -> list[tuple[str, list[float]]]:
    """Milliseconds of each page's request, `repeat` times after one warm-up."""
    with Database(url).sessionmaker() as session:
        segments = read.segment_summary(session, shop_id)["segments"]
        big = max(segments, key=lambda s: s["customers"])
    pages = [
        ("dashboard (/admin/)", "/admin/"),
        ("dashboard JSON (/admin/api/summary)", "/admin/api/summary"),
        (
            f"segment page, {big['name']} ({big['customers']:,} customers), page 1",
            f"/admin/segments/{big['key']}",
        ),
        ("same, page 100", f"/admin/segments/{big['key']}?page=100"),
        ("channels", "/admin/channels"),
        ("offers", "/admin/offers"),
        ("cross-sells (product list)", "/admin/crosssells"),
        ("sync and jobs", "/admin/jobs"),
        ("settings", "/admin/settings"),
    ]
    with TemporaryDirectory() as instance:
        app = create_app(
            {
                "CVO_ENV": "testing",
                "DATABASE_URL": url,
                "REDIS_URL": "",
                "CVO_INSTANCE_DIR": instance,
                "SECRET_KEY": "bench",
                "SHOPIFY_API_KEY": API_KEY,
                "SHOPIFY_API_SECRET": API_SECRET,
            }
        )
        client = app.test_client()
        results = []
        for name, path in pages:
            timings = []
            for attempt in range(repeat + 1):
                headers = {"Authorization": f"Bearer {session_token(DOMAIN)}"}
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                body = response.get_data()
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200 or not body:
                    raise SystemExit(f"{path} answered {response.status_code}: {body[:300]!r}")
                if attempt:  # the first request warms the connection pool and template cache
                    timings.append(elapsed)
            results.append((name, timings))
        app.extensions["cvo"]["db"].dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=1, choices=(1, 2))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench_admin")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the shop a previous run left in the database."
    )
    args = parser.parse_args()
    url, shop_id = prepare(args)
    results = measure(url, shop_id, args.repeat)
    with Database(url).sessionmaker() as session:
        snapshot = read.current_snapshot(session, shop_id)
        customers = snapshot.customers if snapshot else 0
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; shop of {customers:,} scored customers")  # fmt: skip
    print()
    print("| page (server side: token check, reads, template) | median (ms) | p95 (ms) |")
    print("| --- | ---: | ---: |")
    for name, timings in results:
        p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 2 else timings[0]
        print(f"| {name} | {statistics.median(timings):.1f} | {p95:.1f} |")
    dashboard = statistics.median(results[0][1])
    verdict = "meets" if dashboard < TARGET_MS else "MISSES"
    print(f"\ndashboard median {dashboard:.1f} ms: {verdict} the {TARGET_MS} ms target")


if __name__ == "__main__":
    main()
