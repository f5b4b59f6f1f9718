"""Benchmark: `cvo import-orders` on a generated 1,000,000-line `lines-csv` file.

Generates the file (about 333,000 orders, 100,000 customers, 20,000 products over two years,
with returns and cancellations), then imports it with the real CLI in a child process into a
fresh SQLite file and a fresh PostgreSQL database, and prints wall time and the child's peak
memory (max RSS). Target: under 30 s and 500 MB on each.

    python bench/import_orders.py [--lines 1000000] [--pg postgresql://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

HEADER = [
    "order_id", "customer_id", "created_at", "product_id", "variant_id", "quantity", "unit_price",
    "refunded_quantity", "cancelled", "source", "country", "city",
]  # fmt: skip


def generate(path: Path, lines: int, seed: int = 1) -> None:
    """Write a `lines-csv` file of `lines` rows (3 lines per order on average)."""
    rng = np.random.default_rng(seed)
    orders = lines // 3
    sizes = rng.poisson(2.0, orders) + 1
    sizes[-1] += lines - sizes.sum() if sizes.sum() < lines else 0
    order_of_line = np.repeat(np.arange(orders), sizes)[:lines]
    customer_of_order = rng.zipf(1.3, orders) % 100_000
    start = 1_640_995_200  # 2022-01-01
    order_time = np.sort(rng.integers(start, start + 2 * 365 * 86400, orders))
    product = rng.zipf(1.2, lines) % 20_000
    price = np.round(3 + (product % 97) * 1.37, 2)
    quantity = np.where(rng.random(lines) < 0.02, -1, 1 + (rng.random(lines) < 0.2))
    refunded = (rng.random(lines) < 0.01).astype(int) * (quantity > 0)
    cancelled_order = rng.random(orders) < 0.02
    sources = np.array(["google", "facebook", "email", "direct", "organic"])
    source_of_order = sources[rng.integers(0, len(sources), orders)]
    times = np.datetime_as_string(order_time.astype("datetime64[s]"), unit="s")
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for i in range(lines):
            o = order_of_line[i]
            p = product[i]
            writer.writerow((
                f"O{o}", f"C{customer_of_order[o]}", times[o] + "Z", f"P{p}", f"P{p}-1",
                int(quantity[i]), f"{price[i]:.2f}", int(refunded[i]),
                "true" if cancelled_order[o] else "false", source_of_order[o], "US", "Austin",
            ))  # fmt: skip


# `cvo` that reports its own peak resident memory (kB) on stderr when it exits.
PEAK_REPORTING_CVO = (
    "import atexit, resource, sys; "
    "atexit.register(lambda: print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "file=sys.stderr)); "
    "from cvo_plugin.cli import main; main()"
)


def run_import(database_url: str, path: Path, workdir: Path) -> tuple[float, float]:
    """Import `path` with the CLI in a child process; (seconds, peak MB of the child)."""
    env = dict(os.environ, DATABASE_URL=database_url, CVO_ENV="development", CVO_INSTANCE_DIR=str(workdir))
    env.pop("REDIS_URL", None)
    cvo = [sys.executable, "-c", PEAK_REPORTING_CVO]
    subprocess.run([*cvo, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=workdir)
    started = time.perf_counter()
    result = subprocess.run(
        [*cvo, "import-orders", "bench-shop", str(path), "--format", "lines-csv"],
        env=env,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import failed on {database_url}:\n{result.stderr[-2000:]}")
    peak_kb = int(result.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    print("   ", result.stdout.strip())
    return elapsed, peak_kb / 1024


def fresh_postgres(url: str) -> str:
    """Recreate the benchmark database named in `url` (on the same server) and return its URL."""
    from cvo_plugin.config import normalize_database_url

    url = normalize_database_url(url)
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "orders.csv"
        started = time.perf_counter()
        generate(path, args.lines)
        print(f"generated {args.lines:,} lines ({path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        rows = []
        targets = [("SQLite", f"sqlite:///{workdir / 'bench.db'}")]
        if not args.skip_pg:
            targets.append(("PostgreSQL", fresh_postgres(args.pg)))
        for name, url in targets:
            print(f"importing into {name} ...")
            first = run_import(url, path, workdir)
            again = run_import(url, path, workdir)
            rows.append((name, *first, again[0]))
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| database | lines | first import (s) | peak memory (MB) | same file again (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, seconds, peak, again in rows:
        print(f"| {name} | {args.lines:,} | {seconds:.1f} | {peak:.0f} | {again:.1f} |")


if __name__ == "__main__":
    main()
