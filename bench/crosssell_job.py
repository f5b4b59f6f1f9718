"""Benchmark: the cross-sell job end to end, from the database and back.

Imports the 1,000,000-line `lines-csv` file of `bench/import_orders.py` (about 333,000 orders,
100,000 customers, 20,000 products) with `cvo import-orders` into a fresh SQLite file and a
fresh PostgreSQL database, then, in a child process per database, runs the cross-sell job
twice (reading the orders, computing, storing the set atomically; the second run replaces the
first set) and reads one product's list and a three-product cart's add-ons through the
service. Prints the job's wall time split into its parts (as the job reports them), the
reads' times, and the child's peak memory (max RSS).

    python bench/crosssell_job.py [--lines 1000000] [--pg postgresql://postgres@127.0.0.1/cvo_bench_crosssell]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_orders import fresh_postgres, generate, run_import  # noqa: E402


def child(database_url: str) -> None:
    """Run the job twice (in this process, as `cvo compute` does without Redis) and two reads;
    print one JSON line of figures."""
    from cvo_plugin.config import Settings
    from cvo_plugin.db import Database
    from cvo_plugin.services.crosssell import recommend
    from cvo_plugin.services.shops import get_shop
    from cvo_plugin.tasks import COMPUTE_CROSSSELL, QUEUE_ANALYTICS, TaskQueue

    database = Database(database_url)
    settings = Settings(
        env="development", database_url=database_url, secret_key="s", token_encryption_key="k"
    )
    with database.sessionmaker() as session:
        shop_id = get_shop(session, "bench-shop").id
    queue = TaskQueue(settings, database)
    runs = [
        queue.enqueue(COMPUTE_CROSSSELL, shop_id, kind="crosssell", queue=QUEUE_ANALYTICS).result
        for _ in range(2)
    ]
    figures = {"first": runs[0], "again": runs[1]}
    with database.sessionmaker() as session:
        for name, products in (("product", ["P1"]), ("cart", ["P1", "P2", "P3"])):
            started = time.perf_counter()
            recommend(session, shop_id, products, limit=4)
            figures[f"{name}_ms"] = (time.perf_counter() - started) * 1000
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench_crosssell")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "orders.csv"
        generate(path, args.lines)
        targets = [("SQLite", f"sqlite:///{workdir / 'bench.db'}")]
        if not args.skip_pg:
            targets.append(("PostgreSQL", fresh_postgres(args.pg)))
        for name, url in targets:
            print(f"{name}: importing {args.lines:,} lines ...", flush=True)
            run_import(url, path, workdir)
            done = subprocess.run([sys.executable, __file__, "--child", url], capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"the job failed on {name}:\n{done.stderr[-2000:]}")
            rows.append((name, json.loads(done.stdout.strip().splitlines()[-1])))

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    columns = "database,lines,purchases,rules,read (s),compute (s),store (s),job (s),again (s),peak MB"
    print("| " + " | ".join(columns.split(",")) + " | product list (ms) | cart (ms) |")
    print("| --- |" + " ---: |" * 11)
    for name, f in rows:
        first, again = f["first"], f["again"]
        cells = [name, f"{args.lines:,}", f"{first['purchases']:,}", f"{first['rules']:,}"]
        cells += [f"{first['seconds'][part]:.1f}" for part in ("read", "compute", "store", "total")]
        cells += [f"{again['seconds']['total']:.1f}", f"{f['peak_mb']:.0f}", f"{f['product_ms']:.0f}"]
        print("| " + " | ".join(cells) + f" | {f['cart_ms']:.0f} |")


if __name__ == "__main__":
    main()
