"""Merging computed recommendations with the merchant's controls (pure: no database).

The order of a list, from the merchant's intent down to the data:

1. products of the merchant's bundles that hold the product (or a cart product), in bundle
   order (kind `bundle`);
2. the computed recommendations, in their stored order;
3. then pinned products are moved (or inserted) at their 1-based position (kind `pinned`;
   pins at the same position keep the order they were given in).

Whatever the source, a product appears once, and never when it is the product itself or in
the cart, hidden by the merchant, or not available for sale.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Candidate:
    """A product proposed for a list, with the metrics of the rule behind it (if computed)."""

    product_id: int
    kind: str
    orders_together: int | None = None
    support: float | None = None
    confidence: float | None = None
    lift: float | None = None
    conviction: float | None = None
    because_of: int | None = None
    bundle: str | None = None


@dataclass(frozen=True)
class Controls:
    """The merchant's controls that apply to one list (product ids are database ids)."""

    hidden: frozenset[int] = frozenset()
    pins: tuple[tuple[int, int], ...] = ()  # (product, 1-based position)
    bundled: tuple[tuple[int, str], ...] = ()  # (product, bundle name), in bundle order


def compose(
    computed: Sequence[Candidate],
    controls: Controls,
    *,
    exclude: Collection[int],
    available: Collection[int],
    limit: int,
) -> list[Candidate]:
    """The final list (see the module docstring), at most `limit` long."""

    def usable(product_id: int) -> bool:
        return product_id not in exclude and product_id not in controls.hidden and product_id in available

    known: dict[int, Candidate] = {}
    for candidate in computed:
        known.setdefault(candidate.product_id, candidate)

    items: list[Candidate] = []
    seen: set[int] = set()
    for product_id, name in controls.bundled:
        if usable(product_id) and product_id not in seen:
            base = known.get(product_id, Candidate(product_id, "bundle"))
            items.append(replace(base, kind="bundle", bundle=name))
            seen.add(product_id)
    for candidate in computed:
        if usable(candidate.product_id) and candidate.product_id not in seen:
            items.append(candidate)
            seen.add(candidate.product_id)

    pins: dict[int, int] = {}
    for product_id, position in sorted(controls.pins, key=lambda pin: pin[1]):
        if usable(product_id):
            pins.setdefault(product_id, max(int(position), 1))
    if pins:
        by_id = {item.product_id: item for item in items}
        items = [item for item in items if item.product_id not in pins]
        last = -1
        for product_id, position in pins.items():
            base = by_id.get(product_id) or known.get(product_id) or Candidate(product_id, "pinned")
            index = min(max(position - 1, last + 1), len(items))
            items.insert(index, replace(base, kind="pinned"))
            last = index
    return items[: max(limit, 0)]
