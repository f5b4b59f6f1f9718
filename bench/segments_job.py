"""Benchmark: the nightly customer-value job and the admin's reads for a shop of 1,000,000 customers.

Fills a fresh PostgreSQL database (COPY) with one shop: customers, orders (5 per customer on
average, 65 % one-order customers) with one order line each, then runs the steps of
`jobs.analytics.compute_segments` (load, compute, store) twice (the second run also computes
transitions and prunes), and times the read API the admin pages call on the result. The job runs
in a child process whose peak memory is reported; the first run is as of 30 days before the
second. Target: each admin read under 300 ms.

    python bench/segments_job.py [--customers 1000000] [--orders 5000000]
        [--pg postgresql://postgres@127.0.0.1:5432/cvo_bench_segments] [--reuse]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.import_orders import fresh_postgres  # noqa: E402
from bench.rfm import generate  # noqa: E402
from cvo_plugin.config import normalize_database_url  # noqa: E402
from cvo_plugin.db import Database  # noqa: E402
from cvo_plugin.migrate import upgrade  # noqa: E402
from cvo_plugin.models import Shop  # noqa: E402
from cvo_plugin.services.insights import read  # noqa: E402
from cvo_plugin.services.insights.compute import compute  # noqa: E402
from cvo_plugin.services.insights.load import load_shop_data  # noqa: E402
from cvo_plugin.services.insights.report import report  # noqa: E402
from cvo_plugin.services.insights.settings import get_analytics_settings  # noqa: E402
from cvo_plugin.services.insights.store import store_computation  # noqa: E402

AS_OF = date(2025, 6, 30)
SOURCES = np.array(["google", "facebook", "email", "direct", "organic", "instagram"])
COUNTRIES = np.array(["US", "GB", "CA", "DE", "FR", "AU"])


def fill(database: Database, customers: int, orders: int) -> int:
    """One shop with `customers` customers and `orders` orders (one line each); returns its id."""
    with database.session() as session:
        shop = Shop(platform="csv", domain="bench.example", currency="USD", settings={})
        session.add(shop)
        session.flush()
        shop_id = shop.id
    customer, day, revenue = generate(customers, orders)
    ids = np.unique(customer)
    rng = np.random.default_rng(2)
    seconds = day * 86400 + rng.integers(0, 86400, len(day))
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    product = rng.zipf(1.3, len(day)) % 2000 + 1
    with database.engine.begin() as conn:
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy("COPY customers (id, shop_id, platform_id, email, country) FROM STDIN") as copy:
                for i, cid in enumerate(ids.tolist()):
                    copy.write_row((cid, shop_id, f"C{cid}", f"c{cid}@bench.example", COUNTRIES[i % 6]))
            with cursor.copy("COPY products (id, shop_id, platform_id, title) FROM STDIN") as copy:
                for p in range(1, 2001):
                    copy.write_row((p, shop_id, f"P{p}", f"Product {p}"))
            columns = (
                "id, shop_id, platform_id, customer_id, created_at, gross, discounts, refunds, net_revenue, "
                "source_name, line_count, units"
            )
            with cursor.copy(f"COPY orders ({columns}) FROM STDIN") as copy:
                for i, (cid, stamp, amount) in enumerate(
                    zip(customer.tolist(), stamps.tolist(), revenue.tolist(), strict=True)
                ):
                    copy.write_row(
                        (
                            i + 1,
                            shop_id,
                            f"O{i}",
                            cid,
                            stamp + "Z",
                            amount,
                            0,
                            0,
                            amount,
                            SOURCES[i % 6],
                            1,
                            1,
                        )
                    )
            lines = "id, shop_id, order_id, platform_id, product_id, quantity, unit_price, discount"
            with cursor.copy(f"COPY order_lines ({lines}, refunded_quantity) FROM STDIN") as copy:
                for i, (p, amount) in enumerate(zip(product.tolist(), revenue.tolist(), strict=True)):
                    copy.write_row((i + 1, shop_id, i + 1, f"P{p}::1", p, 1, amount, 0, 0))
        for table in ("customers", "products", "orders", "order_lines"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            conn.exec_driver_sql(f"ANALYZE {table}")
    return shop_id


def job(url: str, shop_id: int, as_of: date) -> dict[str, float]:
    """The steps of compute_segments, timed, in a child process (so its peak memory is its own)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(_job, url, shop_id, as_of).result()


def _job(url: str, shop_id: int, as_of: date) -> dict[str, float]:
    database = Database(url)
    times = {}
    start = time.perf_counter()
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        data = load_shop_data(session, shop, as_of)
        settings = get_analytics_settings(shop)
    times["load (SQL -> arrays)"] = time.perf_counter() - start
    step = time.perf_counter()
    computation = compute(data, settings)
    times["compute (analytics, CLV fit, summaries)"] = time.perf_counter() - step
    step = time.perf_counter()
    store_computation(database, shop_id, computation)
    times["store (scores COPY, summaries, switch, prune)"] = time.perf_counter() - step
    times["total"] = time.perf_counter() - start
    times["peak memory (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return times


def timed(call: Callable[[], Any], repeat: int = 7) -> float:
    values = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        values.append(time.perf_counter() - start)
    return statistics.median(values) * 1000


def reads(database: Database, shop_id: int) -> dict[str, float]:
    """Median milliseconds of the admin's reads (each in its own session, like a request)."""

    def in_session(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with database.sessionmaker() as session:
                return fn(session)

        return call

    with database.sessionmaker() as session:
        summary = read.segment_summary(session, shop_id)
        big = max(summary["segments"], key=lambda s: s["customers"])["key"]
        shop = session.get(Shop, shop_id)
    return {
        "segment summary": timed(in_session(lambda s: read.segment_summary(s, shop_id))),
        "RFM grid": timed(in_session(lambda s: read.summary(s, shop_id, "rfm_grid"))),
        "CLV by segment": timed(in_session(lambda s: read.summary(s, shop_id, "clv_by_segment"))),
        "channels": timed(in_session(lambda s: read.summary(s, shop_id, "channels"))),
        "offers": timed(in_session(lambda s: read.summary(s, shop_id, "offers"))),
        "segment profile": timed(in_session(lambda s: read.segment_profile(s, shop_id, big))),
        "transitions": timed(in_session(lambda s: read.transitions(s, shop_id, segment=big))),
        f"customers of {big}, page 1 (50)": timed(
            in_session(lambda s: read.segment_customers(s, shop_id, big))
        ),
        f"customers of {big}, page 100": timed(
            in_session(lambda s: read.segment_customers(s, shop_id, big, page=100))
        ),
        "customers, search by e-mail": timed(
            in_session(lambda s: read.segment_customers(s, shop_id, search="c7001@")), repeat=3
        ),
        "audience export, first 1,000 rows": timed(
            in_session(lambda s: list(islice(read.audience_rows(s, shop_id, big), 1000)))
        ),
        "cvo report --json (no customers)": timed(in_session(lambda s: report(s, shop))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench_segments")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the shop a previous run left in the database."
    )
    args = parser.parse_args()
    if args.reuse:
        url = normalize_database_url(args.pg)
        database = Database(url)
        with database.sessionmaker() as session:
            shop_id = session.scalars(select(Shop.id).where(Shop.domain == "bench.example")).one()
    else:
        url = fresh_postgres(args.pg)
        upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        shop_id = fill(database, args.customers, args.orders)
        print(
            f"filled {args.customers:,} customers, {args.orders:,} orders and lines in "
            f"{time.perf_counter() - started:.0f} s ({datetime.now(UTC):%Y-%m-%d})"
        )
    database.dispose()  # the job's child process opens its own connections
    first = job(url, shop_id, AS_OF - timedelta(days=30))
    second = job(url, shop_id, AS_OF)
    timings = reads(database, shop_id)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| job step | first run (s) | second run (s) |")
    print("| --- | ---: | ---: |")
    for name in first:
        digits = 0 if "MB" in name else 1
        print(f"| {name} | {first[name]:.{digits}f} | {second[name]:.{digits}f} |")
    print()
    print("| admin read | median (ms) |")
    print("| --- | ---: |")
    for name, ms in timings.items():
        print(f"| {name} | {ms:.0f} |")
    slow = [name for name, ms in timings.items() if ms >= 300]
    print(f"\nreads over 300 ms: {', '.join(slow) if slow else 'none'}")


if __name__ == "__main__":
    main()
