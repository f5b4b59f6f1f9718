"""Plain, loop-by-loop reference implementations the vectorised analytics are checked against."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def reference_scores(values: Sequence[float], scale: int, higher_is_better: bool = True) -> list[int]:
    """The RFM scoring rule, one block of equal values at a time (see `analytics.rfm`).

    Blocks go into bin b in order of goodness; before adding a block, bin b is closed when it
    already holds a block and either adding would move its end further from the target
    ``placed + (n - placed) / (scale - b + 1)`` or only one block per later bin is left.
    """
    n = len(values)
    counts = sorted(Counter(values).items(), key=lambda item: item[0] if higher_is_better else -item[0])
    if len(counts) <= scale:
        rank = {value: i + 1 for i, (value, _count) in enumerate(counts)}
        return [rank[v] for v in values]
    score_of: dict[float, int] = {}
    b, placed, count = 1, 0, 0
    for j, (value, c) in enumerate(counts):
        if count > 0 and b < scale:
            target = placed + (n - placed) / (scale - b + 1)
            must_close = len(counts) - j <= scale - b
            if must_close or abs(placed + count + c - target) > abs(placed + count - target):
                placed += count
                b += 1
                count = 0
        score_of[value] = b
        count += c
    return [score_of[v] for v in values]
