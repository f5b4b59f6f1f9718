"""Benchmark: pair rules on the FIMI retail baskets, this project against mlxtend.

Reads `../shared/data/retail_fimi/retail.dat` (88,162 baskets, 16,470 products; resolved from
the repository root's parent), then, at each minimum support, computes every one-to-one rule
``A -> B`` twice:

- mlxtend (a dev dependency): `fpgrowth` (max_len=2) on the sparse one-hot DataFrame that its
  `TransactionEncoder(sparse=True)` makes, then `association_rules`, pairs kept;
- this project: `basket_matrix` + `pair_counts` (products below the support left out of the
  pairs, as frequent-itemset miners do) + `pair_rules`, from the (basket, item) arrays.

Building the inputs (the DataFrame; the arrays) is left out of both times. The script checks
that both give the same rules with the same support, confidence and lift (to 1e-9) and prints
both times and the ratio. Goal: at least 5x faster at equal output.

    python bench/fimi_vs_mlxtend.py [--support 0.002 0.001 0.0005] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cvo_plugin.analytics import basket  # noqa: E402

RETAIL = Path("shared") / "data" / "retail_fimi" / "retail.dat"


def default_data() -> Path:
    """`../shared/data/...` from the repository root (from a worktree: the nearest ancestor's)."""
    for folder in ROOT.parents:
        if (folder / RETAIL).exists():
            return folder / RETAIL
    return ROOT.parent / RETAIL


def read_baskets(path: Path) -> list[list[str]]:
    with path.open(encoding="ascii") as stream:
        return [line.split() for line in stream if line.strip()]


def best_of(repeat: int, work):  # type: ignore[no-untyped-def]
    """(fastest seconds, result) of `repeat` runs."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def mlxtend_pairs(
    frame: pd.DataFrame, min_support: float, n: int
) -> dict[tuple[int, int], tuple[float, ...]]:
    itemsets = fpgrowth(frame, min_support=min_support, max_len=2)
    rules = association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=0.0)
    pairs = rules[(rules.antecedents.map(len) == 1) & (rules.consequents.map(len) == 1)]
    return {
        (next(iter(a)), next(iter(c))): (s, conf, lift)
        for a, c, s, conf, lift in zip(
            pairs.antecedents, pairs.consequents, pairs.support, pairs.confidence, pairs.lift, strict=True
        )
    }


def our_pairs(orders: np.ndarray, products: np.ndarray, min_support: float) -> basket.Rules:
    return basket.pair_rules(
        basket.pair_counts(basket.basket_matrix(orders, products)), min_support=min_support
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--support", type=float, nargs="+", default=[0.002, 0.001, 0.0005])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="retail.dat (default: ../shared/data/...)")
    args = parser.parse_args()
    data = args.data or default_data()
    if not data.exists():
        sys.exit(f"{data} is missing")

    baskets = read_baskets(data)
    encoder = TransactionEncoder()
    onehot = encoder.fit(baskets).transform(baskets, sparse=True)
    frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=range(len(encoder.columns_)))
    column = {item: i for i, item in enumerate(encoder.columns_)}
    orders = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    products = np.array([column[item] for b in baskets for item in b])
    n = len(baskets)
    print(f"{data}: {n:,} baskets, {len(column):,} products, {products.size:,} items")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")

    rows = []
    for support in args.support:
        theirs_s, theirs = best_of(args.repeat, lambda s=support: mlxtend_pairs(frame, s, n))
        ours_s, rules = best_of(args.repeat, lambda s=support: our_pairs(orders, products, s))
        ours = {
            (a, c): (s, conf, lift)
            for a, c, s, conf, lift in zip(
                rules.antecedent.tolist(), rules.consequent.tolist(), rules.support.tolist(),
                rules.confidence.tolist(), rules.lift.tolist(), strict=True,
            )
        }  # fmt: skip
        same = set(ours) == set(theirs) and all(
            np.allclose(ours[key], theirs[key], rtol=0, atol=1e-9) for key in theirs
        )
        rows.append((support, len(theirs), same, theirs_s, ours_s))

    print(f"\nbest of {args.repeat} runs; goal: at least 5x faster at equal output\n")
    print("| min support | pair rules | equal output | mlxtend (s) | this project (s) | ratio |")
    print("| ---: | ---: | :---: | ---: | ---: | ---: |")
    for support, count, same, theirs_s, ours_s in rows:
        print(f"| {support:g} | {count:,} | {'yes' if same else 'NO'} | {theirs_s:.3f} | {ours_s:.3f} "
              f"| {theirs_s / ours_s:.0f}x |")  # fmt: skip
    if not all(row[2] for row in rows):
        sys.exit("the outputs differ")


if __name__ == "__main__":
    main()
