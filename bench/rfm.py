"""Benchmark: RFM scores, segments and historic CLV for 1,000,000 customers / 5,000,000 orders.

Generates the order arrays (customer id, day, net revenue; a skewed number of orders per
customer, 65 % one-order customers like a real shop) and times each step of the pure
analytics the nightly job runs, from arrays to the segment summary. Target: under 5 s in all.

    python bench/rfm.py [--customers 1000000] [--orders 5000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cvo_plugin.analytics.clv import historic_clv  # noqa: E402
from cvo_plugin.analytics.customers import customer_history  # noqa: E402
from cvo_plugin.analytics.rfm import rfm_grid, rfm_scores  # noqa: E402
from cvo_plugin.analytics.segments import build_table  # noqa: E402
from cvo_plugin.analytics.summaries import group_summary  # noqa: E402

AS_OF = date(2025, 6, 30)


def generate(customers: int, orders: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order arrays: 65 % of customers order once, the rest share the remaining orders (skewed)."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(customers).astype(np.int64) * 7 + 1000  # sparse database-like ids
    extra = orders - customers
    repeaters = ids[: int(customers * 0.35)]
    weights = rng.pareto(1.5, len(repeaters)) + 1
    more = repeaters[rng.choice(len(repeaters), extra, p=weights / weights.sum())]
    customer = rng.permutation(np.concatenate([ids, more]))
    end = (AS_OF - date(1970, 1, 1)).days
    day = end - rng.integers(0, 3 * 365, orders)
    revenue = np.round(rng.gamma(2.0, 30.0, orders), 2)
    return customer, day, revenue


def run(customer: np.ndarray, day: np.ndarray, revenue: np.ndarray) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    history = customer_history(customer, day, revenue, AS_OF)
    times["group orders by customer"] = time.perf_counter() - start

    step = time.perf_counter()
    scores = rfm_scores(history.recency_days, history.orders, np.round(history.revenue, 2), 5)
    times["R, F, M scores"] = time.perf_counter() - step

    step = time.perf_counter()
    table = build_table("classic")
    segment = table.assign(scores.r, scores.f, scores.m)
    times["segments"] = time.perf_counter() - step

    step = time.perf_counter()
    clv = historic_clv(history.revenue, 0.45)
    times["historic CLV"] = time.perf_counter() - step

    step = time.perf_counter()
    nan = np.full(len(history), np.nan)
    group_summary(
        segment,
        len(table.segments),
        orders=history.orders,
        revenue=history.revenue,
        first_day=history.first_day,
        last_day=history.last_day,
        tenure_days=history.tenure_days,
        historic_clv=clv,
        predicted_clv=nan,
        p_alive=nan,
        margin=0.45,
        lifespan_years=3.0,
    )
    rfm_grid(scores.r, scores.f, history.revenue, 5)
    times["segment summary + RFM grid"] = time.perf_counter() - step
    times["total"] = time.perf_counter() - start
    times["customers"] = len(history)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    customer, day, revenue = generate(args.customers, args.orders)
    runs = [run(customer, day, revenue) for _ in range(args.repeat)]
    print(f"RFM + segments + historic CLV: {args.customers:,} customers, {args.orders:,} orders")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
        f"{platform.machine()}"
    )
    print()
    print(f"| step | best of {args.repeat} (s) | median (s) |")
    print("| --- | ---: | ---: |")
    for name in runs[0]:
        if name == "customers":
            continue
        values = sorted(r[name] for r in runs)
        print(f"| {name} | {values[0]:.2f} | {values[len(values) // 2]:.2f} |")
    target = "met" if min(r["total"] for r in runs) < 5.0 else "MISSED"
    print(f"\nscored customers: {int(runs[0]['customers']):,}; target < 5 s: {target}")


if __name__ == "__main__":
    main()
