"""Benchmark: every cross-sell of a large shop, from arrays (`analytics.basket.compute_recommendations`).

Generates 1,000,000 orders with 3,000,000 lines over 20,000 products (long-tailed popularity,
400 product types, 800 vendors, 300,000 customers over two years, 2,000 planted product
affinities), saves them, then computes in a child process everything the job computes:
frequently bought together with thresholds and top-k, bestseller fallbacks, upsells and
downsells. Prints wall time and the child's peak memory (max RSS, inputs included), with and
without time decay, and checks that the planted affinities come out on top.
Target: under 10 s and 2 GB.

    python bench/crosssell.py [--orders 1000000] [--lines 3000000] [--products 20000]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cvo_plugin.analytics import basket  # noqa: E402

PLANTED = 2_000


def generate(orders: int, lines: int, products: int, seed: int = 7) -> dict[str, np.ndarray]:
    """The arrays of a shop (see the module docstring); `lines` purchases exactly."""
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(lines / orders - 1.0, orders) + 1
    while sizes.sum() != lines:  # trim or pad a few baskets to hit the line count exactly
        gap = lines - int(sizes.sum())
        pick = rng.integers(0, orders, abs(gap))
        np.add.at(sizes, pick, 1 if gap > 0 else -1)
        sizes = np.maximum(sizes, 1)
    order_index = np.repeat(np.arange(orders, dtype=np.int64), sizes)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    popularity /= popularity.sum()
    product_index = rng.choice(products, size=lines, p=popularity).astype(np.int64)
    # Planted affinities: when an anchor is in a basket, its partner takes the next line 40%
    # of the time (the next line of the same order).
    anchors = rng.choice(products // 2, PLANTED, replace=False)
    partners = rng.integers(products // 2, products, PLANTED)
    partner_of = np.full(products, -1, dtype=np.int64)
    partner_of[anchors] = partners
    same_order_next = np.r_[order_index[1:] == order_index[:-1], False]
    hit = (partner_of[product_index] >= 0) & same_order_next & (rng.random(lines) < 0.4)
    where = np.flatnonzero(hit)
    product_index[where + 1] = partner_of[product_index[where]]
    customers = (rng.zipf(1.4, orders) + rng.integers(0, 300_000, orders)) % 300_000
    customers[rng.random(orders) < 0.1] = -1  # guests
    return {
        "order_index": order_index,
        "product_index": product_index,
        "order_customer": customers.astype(np.int64),
        "order_age_days": rng.uniform(0, 730, orders),
        "product_type": rng.integers(0, 400, products),
        "vendor": rng.integers(0, 800, products),
        "price": np.round(rng.lognormal(3.0, 0.8, products), 2),
        "recommendable": rng.random(products) < 0.95,
        "anchors": anchors,
        "partners": partners,
    }


def child(path: Path, half_life: float | None) -> None:
    """Load the arrays, compute, and print one JSON line of figures."""
    data = dict(np.load(path))
    purchases = basket.Purchases(
        data["order_index"], data["product_index"], data["order_customer"], data["order_age_days"]
    )
    catalogue = basket.Catalogue(data["product_type"], data["vendor"], data["price"], data["recommendable"])
    params = basket.Params(half_life_days=half_life)
    started = time.perf_counter()
    result = basket.compute_recommendations(purchases, catalogue, params)
    seconds = time.perf_counter() - started
    rules = result.rules
    fbt = rules.kind == basket.FBT
    first = fbt & (rules.rank == 0)
    top = dict(zip(rules.antecedent[first].tolist(), rules.consequent[first].tolist(), strict=True))
    usable = data["recommendable"][data["partners"]]
    pairs = zip(data["anchors"].tolist(), data["partners"].tolist(), usable.tolist(), strict=True)
    found = sum(top.get(a) == p for a, p, ok in pairs if ok)
    kinds = np.bincount(rules.kind, minlength=len(basket.KINDS))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rules": len(rules),
                "kinds": dict(zip(basket.KINDS, kinds.tolist(), strict=True)),
                "planted_found": found,
                "planted_usable": int(usable.sum()),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--half-life", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.half_life)
        return

    started = time.perf_counter()
    data = generate(args.orders, args.lines, args.products)
    print(
        f"generated {args.orders:,} orders, {args.lines:,} lines, {args.products:,} products "
        f"in {time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop.npz"
        np.savez(path, **data)
        del data
        rows = []
        for label, half_life in (("no decay", None), ("half-life 90 days", 90.0)):
            command = [sys.executable, __file__, "--child", str(path)]
            if half_life:
                command += ["--half-life", str(half_life)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"the computation failed:\n{done.stderr}")
            output = done.stdout
            rows.append((label, json.loads(output.strip().splitlines()[-1])))

    print(f"\nmachine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print("target: under 10 s and 2,000 MB peak memory\n")
    columns = "case,orders,lines,products,rules,fbt,upsell,downsell,fallback,seconds,peak MB".split(",")
    print("| " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * (len(columns) - 1))
    for label, r in rows:
        k = r["kinds"]
        cells = [
            label,
            f"{args.orders:,}",
            f"{args.lines:,}",
            f"{args.products:,}",
            f"{r['rules']:,}",
            f"{k['fbt']:,}",
            f"{k['upsell']:,}",
            f"{k['downsell']:,}",
            f"{k['bestseller_type'] + k['bestseller_vendor']:,}",
            f"{r['seconds']:.2f}",
            f"{r['peak_mb']:,.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    for label, r in rows:
        print(
            f"{label}: planted pairs found as the anchor's first recommendation: "
            f"{r['planted_found']:,} of {r['planted_usable']:,}"
        )


if __name__ == "__main__":
    main()
