"""Market-basket analytics for cross-sells: co-occurrence, pair rules, top-k, upsells, fallbacks.

Everything here is pure numpy/scipy: arrays in, arrays (in frozen dataclasses) out. Products
and orders are dense indices (``0 .. n_products - 1``, ``0 .. n_orders - 1``); the caller maps
them to its own ids.

Definitions
-----------
An *order* holds a product when at least one of its lines is that product (any variant, any
quantity): the orders x products matrix ``X`` is 0/1. With ``N`` orders, ``n_A`` the orders
holding ``A`` and ``n_AB`` the orders holding both ``A`` and ``B`` (``n_AB = (X.T @ X)[A, B]``),
the rule ``A -> B`` ("buyers of A also buy B") has

========================  =========================================  ===============
metric                    formula                                    range
========================  =========================================  ===============
``orders_together``       ``n_AB``                                   ``0 .. N``
``support``               ``n_AB / N``                               ``[0, 1]``
``confidence``            ``n_AB / n_A``                             ``[0, 1]``
``lift``                  ``confidence / (n_B / N)``                 ``[0, inf)``
``conviction``            ``(1 - n_B / N) / (1 - confidence)``       ``[0, inf]``
========================  =========================================  ===============

``lift`` is 1 when ``A`` and ``B`` are bought independently, above 1 when buying ``A`` makes
``B`` more likely. ``conviction`` is ``inf`` when ``confidence`` is 1 (every order with ``A``
also holds ``B``). These are the definitions of CONTRACT.md and of mlxtend's
``association_rules`` for one-item antecedents and consequents.

Time decay (optional): each order gets the weight ``w = 0.5 ** (age_days / half_life_days)``
(1 for an order placed at the as-of moment, 1/2 one half-life earlier). Weighted sums then
replace the counts in ``support``, ``confidence``, ``lift`` and ``conviction``
(``N -> sum(w)``, ``n_A -> sum of w over orders with A``, ``n_AB -> sum of w over orders with
both``); ``orders_together`` stays the plain count, and the minimum-orders threshold applies to
it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import scipy.sparse as sp

KINDS = ("fbt", "upsell", "downsell", "bestseller_type", "bestseller_vendor")
"""Kinds of recommendation, by code (``Rules.kind`` holds the index into this tuple)."""
FBT, UPSELL, DOWNSELL, BESTSELLER_TYPE, BESTSELLER_VENDOR = range(len(KINDS))
RANK_BY = ("confidence", "lift", "orders_together")

# Smallest order weight: keeps every weighted pair sum positive, so the weighted and the plain
# co-occurrence matrices have the same sparsity structure (scipy drops exact zeros).
_MIN_WEIGHT = 1e-300


# --- inputs -----------------------------------------------------------------------------------


def _index_array(values: np.ndarray | Sequence[int], name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, not {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} holds a negative index")
    return array


def _size(given: int | None, index: np.ndarray, name: str) -> int:
    needed = int(index.max()) + 1 if index.size else 0
    if given is None:
        return needed
    if given < needed:
        raise ValueError(f"{name}={given} but an index reaches {needed - 1}")
    return int(given)


def basket_matrix(
    order_index: np.ndarray | Sequence[int],
    product_index: np.ndarray | Sequence[int],
    n_orders: int | None = None,
    n_products: int | None = None,
) -> sp.csr_matrix:
    """The orders x products 0/1 matrix.

    Parameters
    ----------
    order_index, product_index : array of int, shape (n,)
        One entry per purchase (a line, or a variant of a line); repeated (order, product)
        pairs are counted once, so an order holds a product however many units or variants.
    n_orders, n_products : int, optional
        Matrix shape; by default one more than the largest index.

    Returns
    -------
    scipy.sparse.csr_matrix of int32, shape (n_orders, n_products)
        ``X[o, p] = 1`` when order ``o`` holds product ``p``, with sorted indices.
    """
    orders = _index_array(order_index, "order_index")
    products = _index_array(product_index, "product_index")
    if orders.shape != products.shape:
        raise ValueError("order_index and product_index must have the same length")
    shape = (_size(n_orders, orders, "n_orders"), _size(n_products, products, "n_products"))
    matrix = sp.csr_matrix(
        (np.ones(orders.size, dtype=np.int32), (orders, products)), shape=shape, dtype=np.int32
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def decay_weights(age_days: np.ndarray | Sequence[float], half_life_days: float | None) -> np.ndarray:
    """Order weights for time decay: ``w = 0.5 ** (age_days / half_life_days)``.

    Parameters
    ----------
    age_days : array of float, shape (n_orders,)
        Days between each order and the as-of moment, ``>= 0``.
    half_life_days : float or None
        Days after which an order counts half; ``None`` gives every order the weight 1.

    Returns
    -------
    numpy.ndarray of float64, values in ``(0, 1]``
    """
    ages = np.asarray(age_days, dtype=np.float64)
    if ages.ndim != 1:
        raise ValueError("age_days must be one-dimensional")
    if ages.size and (not np.all(np.isfinite(ages)) or ages.min() < 0):
        raise ValueError("age_days must be finite and >= 0 (no order after the as-of moment)")
    if half_life_days is None:
        return np.ones(ages.size)
    if not np.isfinite(half_life_days) or half_life_days <= 0:
        raise ValueError("half_life_days must be a positive number")
    return np.maximum(np.exp2(-ages / float(half_life_days)), _MIN_WEIGHT)


# --- co-occurrence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PairCounts:
    """Co-occurrence of products in orders.

    Attributes
    ----------
    together : scipy.sparse.csr_matrix of int64, shape (n_products, n_products)
        ``X.T @ X``: ``together[A, B] = n_AB``, symmetric; the diagonal holds ``n_A``.
    weighted : scipy.sparse.csr_matrix of float64 or None
        ``X.T @ diag(w) @ X`` with the same structure as ``together`` (``None`` without decay).
    n_orders : int
        ``N``, the number of orders (rows of ``X``, empty ones included).
    total_weight : float
        ``sum(w)`` (``N`` without decay).
    """

    together: sp.csr_matrix
    weighted: sp.csr_matrix | None
    n_orders: int
    total_weight: float

    @property
    def n_products(self) -> int:
        return int(self.together.shape[0])

    @property
    def item_orders(self) -> np.ndarray:
        """``n_A`` per product (orders holding it)."""
        return self.together.diagonal().astype(np.int64)

    @property
    def item_weight(self) -> np.ndarray:
        """``n_A`` per product, weighted when decay is on."""
        source = self.together if self.weighted is None else self.weighted
        return source.diagonal().astype(np.float64)

    def pair_weight(self) -> np.ndarray:
        """The (weighted) ``n_AB`` aligned with ``together.data``."""
        if self.weighted is None:
            return self.together.data.astype(np.float64)
        return self.weighted.data


def pair_counts(
    matrix: sp.spmatrix, weights: np.ndarray | None = None, *, min_item_orders: int = 1
) -> PairCounts:
    """Pair counts ``X.T @ X`` (and ``X.T @ diag(w) @ X`` with order weights), kept sparse.

    Parameters
    ----------
    matrix : scipy sparse matrix, shape (n_orders, n_products)
        The 0/1 matrix of :func:`basket_matrix`.
    weights : array of float, shape (n_orders,), optional
        Order weights in ``(0, 1]`` (:func:`decay_weights`); ``None`` counts every order once.
    min_item_orders : int, >= 1
        Leave out the pairs of products held by fewer orders than this (their pair entries are
        absent, read as 0; the diagonal still holds every product's count). A pair is never
        bought together more often than its rarer product, so with ``min_item_orders`` at most
        the smallest count a rule needs, the rules of :func:`pair_rules` stay exactly the same
        while a long tail of rare products costs nothing (the pruning of frequent-itemset
        miners). Keep 1 where every pair's count is read (fallback metrics).

    Returns
    -------
    PairCounts
        The work is ``O(sum over orders of basket_size ** 2)``; memory is that of the distinct
        co-occurring pairs.
    """
    n_orders, n_products = (int(n) for n in matrix.shape)
    # int32 counts are exact below 2**31 orders and make the product about twice as fast.
    x = sp.csr_matrix(matrix, dtype=np.int32 if n_orders < 2**31 else np.int64)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n_orders,):
            raise ValueError(f"weights must have one value per order ({n_orders})")
        if w.size and (not np.all(np.isfinite(w)) or w.min() <= 0):
            raise ValueError("weights must be positive and finite")
        w = np.maximum(w, _MIN_WEIGHT)
    rare = np.zeros(n_products, dtype=bool)
    if min_item_orders > 1:
        rare = np.bincount(x.indices, minlength=n_products) < min_item_orders
    pruned = x
    if rare.any():
        pruned = x.copy()
        pruned.data[rare[pruned.indices]] = 0
        pruned.eliminate_zeros()
    xt = pruned.T.tocsr()
    together = (xt @ pruned).tocsr().astype(np.int64)
    if rare.any():
        together = (
            together + sp.diags(np.bincount(x.indices, minlength=n_products) * rare, dtype=np.int64)
        ).tocsr()
        together.eliminate_zeros()
    together.sort_indices()
    if w is None:
        return PairCounts(together, None, n_orders, float(n_orders))
    weighted = (xt.astype(np.float64) @ sp.diags(w, dtype=np.float64) @ pruned.astype(np.float64)).tocsr()
    if rare.any():
        rows = np.repeat(np.arange(n_orders), np.diff(x.indptr))
        item_weight = np.bincount(x.indices, weights=w[rows], minlength=n_products)
        weighted = (weighted + sp.diags(item_weight * rare, dtype=np.float64)).tocsr()
        weighted.eliminate_zeros()
    weighted.sort_indices()
    if weighted.nnz != together.nnz or not np.array_equal(weighted.indices, together.indices):
        raise AssertionError("weighted and plain co-occurrence differ in structure")
    return PairCounts(together, weighted, n_orders, float(w.sum()))


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """Rules ``antecedent -> consequent`` with their metrics, one entry per rule (arrays).

    ``kind`` codes index :data:`KINDS`; ``rank`` is the 0-based position among the rules of the
    same antecedent and kind after :func:`top_rules` (0 before ranking). For upsells and
    downsells the counts are customers, not orders (see :func:`trade_rules`).
    """

    antecedent: np.ndarray
    consequent: np.ndarray
    orders_together: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    conviction: np.ndarray
    kind: np.ndarray
    rank: np.ndarray

    def __len__(self) -> int:
        return int(self.antecedent.size)

    def take(self, index: np.ndarray) -> Rules:
        """The rules at `index` (a boolean mask or positions)."""
        return Rules(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: Sequence[Rules]) -> Rules:
        """All rules of `parts`, in order."""
        if not parts:
            return empty_rules()
        return Rules(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Rules)})


def empty_rules() -> Rules:
    """No rules."""
    ints = np.zeros(0, dtype=np.int64)
    floats = np.zeros(0, dtype=np.float64)
    return Rules(ints, ints, ints, floats, floats, floats, floats, ints.astype(np.int8), ints)


def _rules(
    antecedent: np.ndarray,
    consequent: np.ndarray,
    together: np.ndarray,
    weight_ab: np.ndarray,
    weight_a: np.ndarray,
    weight_b: np.ndarray,
    total: float,
    kind: int,
) -> Rules:
    """Rules from (weighted) counts: the formulas of the module docstring."""
    with np.errstate(divide="ignore", invalid="ignore"):
        support = weight_ab / total if total > 0 else np.zeros(weight_ab.size)
        confidence = np.clip(np.where(weight_a > 0, weight_ab / weight_a, 0.0), 0.0, 1.0)
        support_b = weight_b / total if total > 0 else np.zeros(weight_b.size)
        lift = np.where(support_b > 0, confidence / support_b, 0.0)
        conviction = np.full(confidence.size, np.inf)
        below = confidence < 1.0
        conviction[below] = (1.0 - support_b[below]) / (1.0 - confidence[below])
    n = antecedent.size
    return Rules(
        antecedent.astype(np.int64, copy=False),
        consequent.astype(np.int64, copy=False),
        together.astype(np.int64, copy=False),
        support,
        confidence,
        lift,
        conviction,
        np.full(n, kind, dtype=np.int8),
        np.zeros(n, dtype=np.int64),
    )


def _check_mask(mask: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if mask is None:
        return None
    array = np.asarray(mask, dtype=bool)
    if array.shape != (n,):
        raise ValueError(f"{name} must be a boolean array with one value per product ({n})")
    return array


def _check_thresholds(min_orders_together: int, *fractions: tuple[str, float]) -> None:
    if int(min_orders_together) < 1:
        raise ValueError("min_orders_together must be at least 1")
    for name, value in fractions:
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0")


def pair_rules(
    counts: PairCounts,
    *,
    min_orders_together: int = 1,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    consequents: np.ndarray | None = None,
) -> Rules:
    """Every rule ``A -> B`` (``A != B``) that passes the thresholds.

    Parameters
    ----------
    counts : PairCounts
    min_orders_together : int, >= 1
        Keep rules with ``orders_together >= min_orders_together`` (plain count, also with decay).
    min_support, min_confidence, min_lift : float, >= 0
        Keep rules with ``support >= min_support``, ``confidence >= min_confidence`` and
        ``lift >= min_lift``.
    consequents : array of bool, shape (n_products,), optional
        Products that may be recommended (for example: available ones); all by default.

    Returns
    -------
    Rules
        Kind ``fbt``, ordered by antecedent, then consequent.
    """
    _check_thresholds(
        min_orders_together,
        ("min_support", min_support),
        ("min_confidence", min_confidence),
        ("min_lift", min_lift),
    )
    allowed = _check_mask(consequents, counts.n_products, "consequents")
    together = counts.together
    weight = together.data if counts.weighted is None else counts.weighted.data
    # Cheap filters on the counts first (most pairs of a long tail fail them), then the
    # positions of what is left; the exact thresholds are applied to the metrics below.
    keep = together.data >= min_orders_together
    if min_support > 0:
        keep &= weight >= min_support * counts.total_weight * (1 - 1e-9)
    index = np.flatnonzero(keep)
    rows = np.searchsorted(together.indptr, index, side="right").astype(np.int64) - 1
    cols = together.indices[index].astype(np.int64)
    off_diagonal = rows != cols
    if allowed is not None:
        off_diagonal &= allowed[cols]
    index, a, b = index[off_diagonal], rows[off_diagonal], cols[off_diagonal]
    item = counts.item_weight
    rules = _rules(
        a,
        b,
        together.data[index],
        weight[index].astype(np.float64),
        item[a],
        item[b],
        counts.total_weight,
        FBT,
    )
    passed = (rules.support >= min_support) & (rules.confidence >= min_confidence) & (rules.lift >= min_lift)
    return rules.take(passed)


def pair_metrics(counts: PairCounts, antecedent: np.ndarray, consequent: np.ndarray, kind: int) -> Rules:
    """The metrics of arbitrary pairs (zero counts allowed), e.g. for fallback rows."""
    a = _index_array(antecedent, "antecedent")
    b = _index_array(consequent, "consequent")
    if a.size == 0:
        return empty_rules()
    together = np.asarray(counts.together[a, b]).ravel()
    weight = (
        together.astype(np.float64)
        if counts.weighted is None
        else np.asarray(counts.weighted[a, b]).ravel().astype(np.float64)
    )
    item = counts.item_weight
    return _rules(a, b, together, weight, item[a], item[b], counts.total_weight, kind)


def _sort_keys(rules: Rules, rank_by: str) -> tuple[np.ndarray, ...]:
    """lexsort keys (last = primary): antecedent, then the ranking metric descending, ties by
    confidence, lift, orders together (all descending), then consequent ascending."""
    if rank_by not in RANK_BY:
        raise ValueError(f"rank_by must be one of {', '.join(RANK_BY)}")
    primary = {
        "confidence": -rules.confidence,
        "lift": -rules.lift,
        "orders_together": -rules.orders_together.astype(np.float64),
    }[rank_by]
    return (
        rules.consequent,
        -rules.orders_together,
        -rules.lift,
        -rules.confidence,
        primary,
        rules.kind,
        rules.antecedent,
    )


def top_rules(rules: Rules, k: int | None, rank_by: str = "confidence") -> Rules:
    """The best `k` rules per (antecedent, kind), ranked, sorted by antecedent, kind and rank.

    Parameters
    ----------
    rules : Rules
    k : int or None
        Rules kept per antecedent and kind (``None``: all, still ranked).
    rank_by : {"confidence", "lift", "orders_together"}
        The ordering metric (descending). Ties go to the higher confidence, then lift, then
        orders together, then the lower consequent index, so the result is deterministic.

    Returns
    -------
    Rules
        With ``rank`` = 0-based position within its antecedent and kind. One vectorised sort
        over all rules (no loop per product).
    """
    if k is not None and k < 0:
        raise ValueError("k must be >= 0")
    if len(rules) == 0:
        return rules
    order = np.lexsort(_sort_keys(rules, rank_by))
    ranked = rules.take(order)
    group = ranked.antecedent * len(KINDS) + ranked.kind
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, group.size])
    rank = np.arange(group.size, dtype=np.int64) - np.repeat(starts, sizes)
    ranked = replace(ranked, rank=rank)
    return ranked if k is None else ranked.take(rank < k)


# --- upsells and downsells --------------------------------------------------------------------


def switch_counts(
    matrix: sp.spmatrix,
    order_customer: np.ndarray,
    order_time: np.ndarray,
    group: np.ndarray,
    *,
    chunk_pairs: int = 4_000_000,
) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """How customers move between products of the same group (product type) over time.

    Parameters
    ----------
    matrix : scipy sparse matrix, shape (n_orders, n_products)
        The 0/1 orders x products matrix (:func:`basket_matrix`).
    order_customer : array of int, shape (n_orders,)
        The buyer of each order; ``-1`` for guests (left out: no history).
    order_time : array of float, shape (n_orders,)
        When each order was placed (any monotone unit, e.g. days).
    group : array of int, shape (n_products,)
        The product's group (type), ``-1`` for none (left out of the switches).
    chunk_pairs : int
        Pairs generated at a time; bounds memory for customers with very many products.

    Returns
    -------
    switch : scipy.sparse.csr_matrix of int64, shape (n_products, n_products)
        ``switch[A, B]`` = customers whose first purchase of ``B`` came strictly after their
        first purchase of ``A``, both in the same group (so never in the same order).
    buyers : numpy.ndarray of int64, shape (n_products,)
        Customers who bought each product.
    n_customers : int
        Customers with at least one purchase.

    Notes
    -----
    Sorts the orders (not the purchases) by customer and time once, then each purchase by
    (customer, product) and by (customer, group) with stable sorts that keep that time order:
    ``O(n log n)``, plus one step per pair of products of one group bought by one customer.
    """
    x = sp.csr_matrix(matrix)
    n_orders, n_products = x.shape
    customers = np.asarray(order_customer, dtype=np.int64)
    times = np.asarray(order_time, dtype=np.float64)
    groups = np.asarray(group, dtype=np.int64)
    if customers.shape != (n_orders,) or times.shape != (n_orders,):
        raise ValueError("order_customer and order_time need one value per order")
    if groups.shape != (n_products,):
        raise ValueError("group needs one value per product")

    # Orders of known customers by (customer, time): their purchases then come in that order.
    by_customer = np.lexsort((times, customers))
    by_customer = by_customer[customers[by_customer] >= 0]
    ordered = x[by_customer]
    sizes = np.diff(ordered.indptr)
    c = np.repeat(customers[by_customer], sizes)
    t = np.repeat(times[by_customer], sizes)
    p = ordered.indices.astype(np.int64)

    # First purchase per (customer, product): the first in a stable sort by that pair.
    key = c * n_products + p
    order = np.argsort(key, kind="stable")
    leading = np.ones(key.size, dtype=bool)
    leading[1:] = key[order][1:] != key[order][:-1]
    first = np.zeros(key.size, dtype=bool)
    first[order[leading]] = True
    c, p, t = c[first], p[first], t[first]
    buyers = np.bincount(p, minlength=n_products).astype(np.int64)
    n_customers = int(np.unique(c).size)

    # Blocks of one customer and one group, in time order.
    g = groups[p]
    grouped = g >= 0
    c, p, t, g = c[grouped], p[grouped], t[grouped], g[grouped]
    order = np.argsort(c * (int(groups.max(initial=0)) + 1) + g, kind="stable")
    c, p, t, g = c[order], p[order], t[order], g[order]
    n = c.size
    switch = sp.csr_matrix((n_products, n_products), dtype=np.int64)
    if n == 0:
        return switch, buyers, n_customers
    new_block = np.r_[True, (c[1:] != c[:-1]) | (g[1:] != g[:-1])]
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], n]
    block_end = np.repeat(ends, ends - starts)
    partners = block_end - np.arange(n) - 1  # later positions in the same block
    cumulative = np.cumsum(partners)
    position = 0
    while position < n:
        base = cumulative[position - 1] if position else 0
        stop = int(np.searchsorted(cumulative, base + chunk_pairs, side="right"))
        stop = max(stop, position + 1)
        idx = np.arange(position, stop)
        counts = partners[idx]
        total = int(counts.sum())
        if total:
            i = np.repeat(idx, counts)
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + 1
            j = i + offsets
            later = t[j] > t[i]
            a, b = p[i[later]], p[j[later]]
            switch = switch + sp.csr_matrix(
                (np.ones(a.size, dtype=np.int64), (a, b)), shape=(n_products, n_products)
            )
        position = stop
    switch.sum_duplicates()
    return switch.tocsr(), buyers, n_customers


def trade_rules(
    switch: sp.csr_matrix,
    buyers: np.ndarray,
    n_customers: int,
    price: np.ndarray,
    *,
    direction: str,
    min_customers: int = 1,
    consequents: np.ndarray | None = None,
) -> Rules:
    """Upsell or downsell rules within a product group, from :func:`switch_counts`.

    Rules
    -----
    upsell ``A -> B``: ``B`` costs more than ``A`` (same group), and
        ``count = switch[A, B]``: customers who bought ``A`` and later went on to buy ``B``.
    downsell ``A -> B``: ``B`` costs less than ``A`` (same group), and
        ``count = switch[A, B] + switch[B, A]``: customers who bought both, in different orders
        (one after the other, either way round): evidence that ``B`` serves ``A``'s buyers as
        the cheaper alternative, while products bought together in one order are complements,
        not substitutes.

    With ``C`` customers and ``c_A`` the customers who bought ``A``, each rule has
    ``orders_together = count`` (customers, ``0 .. c_A``), ``support = count / C`` (``[0, 1]``),
    ``confidence = count / c_A`` (the trade-up or substitution rate, ``[0, 1]``),
    ``lift = confidence / (c_B / C)`` (``[0, inf)``) and
    ``conviction = (1 - c_B / C) / (1 - confidence)`` (``[0, inf]``).

    Parameters
    ----------
    price : array of float, shape (n_products,)
        The product's reference price (``nan`` when unknown: never an upsell or downsell).
    direction : {"up", "down"}
    min_customers : int, >= 1
        Keep rules with ``count >= min_customers``.
    consequents : array of bool, optional
        Products that may be recommended.
    """
    if direction not in ("up", "down"):
        raise ValueError("direction must be 'up' or 'down'")
    _check_thresholds(min_customers)
    n_products = switch.shape[0]
    prices = np.asarray(price, dtype=np.float64)
    if prices.shape != (n_products,) or np.asarray(buyers).shape != (n_products,):
        raise ValueError("price and buyers need one value per product")
    allowed = _check_mask(consequents, n_products, "consequents")
    matrix = switch if direction == "up" else (switch + switch.T).tocsr()
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    rows = np.repeat(np.arange(n_products, dtype=np.int64), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int64)
    count = matrix.data.astype(np.int64)
    with np.errstate(invalid="ignore"):
        priced = prices[cols] > prices[rows] if direction == "up" else prices[cols] < prices[rows]
    keep = priced & (count >= min_customers) & (rows != cols)
    if allowed is not None:
        keep &= allowed[cols]
    a, b, n = rows[keep], cols[keep], count[keep]
    weight = np.asarray(buyers, dtype=np.float64)
    kind = UPSELL if direction == "up" else DOWNSELL
    return _rules(a, b, n, n.astype(np.float64), weight[a], weight[b], float(n_customers), kind)


# --- fallbacks --------------------------------------------------------------------------------


def bestseller_fill(
    have: Rules,
    group: np.ndarray,
    popularity: np.ndarray,
    k: int,
    *,
    consequents: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill every product's list up to `k` with the bestsellers of its group.

    For each product ``A`` with fewer than ``k`` rules in `have` (a new or rarely bought
    product), the best-selling products of ``A``'s group (highest `popularity`, ties by lower
    index) that are not ``A`` and not already recommended for ``A`` take the free places, in
    that order. Products outside any group (``-1``) get none. Vectorised over all products.

    Returns
    -------
    antecedent, consequent, rank : arrays of int64
        ``rank`` continues after the product's existing rules (``len(existing) + i``).
    """
    groups = np.asarray(group, dtype=np.int64)
    n = groups.size
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.shape != (n,):
        raise ValueError("popularity needs one value per product")
    allowed = _check_mask(consequents, n, "consequents")
    empty = np.zeros(0, dtype=np.int64)
    if k <= 0 or n == 0:
        return empty, empty, empty
    held = np.bincount(have.antecedent, minlength=n)[:n]
    deficit = k - held
    sources = np.flatnonzero((deficit > 0) & (groups >= 0))
    eligible = (groups >= 0) & (pop > 0)
    if allowed is not None:
        eligible &= allowed
    candidates = np.flatnonzero(eligible)
    if sources.size == 0 or candidates.size == 0:
        return empty, empty, empty
    # The top k + 1 of each group suffice: at most held + 1 of them are excluded per source.
    width = k + 1
    order = candidates[np.lexsort((candidates, -pop[candidates], groups[candidates]))]
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    position = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    top = position < width
    table = np.full((int(groups.max()) + 1, width), -1, dtype=np.int64)
    table[g[top], position[top]] = order[top]

    cand = table[groups[sources]]
    valid = (cand >= 0) & (cand != sources[:, None])
    if len(have):
        existing = np.unique(have.antecedent * n + have.consequent)
        keys = sources[:, None] * n + np.where(cand >= 0, cand, 0)
        found = np.searchsorted(existing, keys)
        found = np.minimum(found, existing.size - 1)
        valid &= existing[found] != keys
    taken = np.cumsum(valid, axis=1)
    pick = valid & (taken <= deficit[sources][:, None])
    antecedent = np.broadcast_to(sources[:, None], cand.shape)[pick]
    rank = (held[sources][:, None] + taken - 1)[pick]
    return antecedent.astype(np.int64), cand[pick], rank.astype(np.int64)


# --- everything for one shop ------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """Thresholds and sizes of a computation (the shop's cross-sell settings).

    Attributes
    ----------
    max_recommendations : int, >= 1
        Rules kept per product and kind (frequently bought together with fallbacks, upsells,
        downsells).
    min_orders_together : int, >= 1
        Fewest orders holding both products for a "frequently bought together" rule.
    min_confidence : float in [0, 1]
        Smallest confidence of a rule.
    min_lift : float, >= 0
        Smallest lift of a rule (1 = independence).
    half_life_days : float or None
        Time decay (module docstring); ``None`` weighs every order the same.
    rank_by : {"confidence", "lift", "orders_together"}
        How each product's rules are ordered.
    min_customers : int, >= 1
        Fewest customers behind an upsell or downsell rule.
    """

    max_recommendations: int = 10
    min_orders_together: int = 3
    min_confidence: float = 0.02
    min_lift: float = 1.2
    half_life_days: float | None = None
    rank_by: str = "confidence"
    min_customers: int = 2

    def validate(self) -> Params:
        """`self`, or `ValueError` naming the first bad value."""
        if not 1 <= int(self.max_recommendations) <= 100:
            raise ValueError("max_recommendations must be between 1 and 100")
        _check_thresholds(self.min_orders_together, ("min_lift", self.min_lift))
        _check_thresholds(self.min_customers)
        if not 0 <= self.min_confidence <= 1:
            raise ValueError("min_confidence must be between 0 and 1")
        if self.half_life_days is not None and not (
            np.isfinite(self.half_life_days) and self.half_life_days > 0
        ):
            raise ValueError("half_life_days must be a positive number of days (or none)")
        if self.rank_by not in RANK_BY:
            raise ValueError(f"rank_by must be one of {', '.join(RANK_BY)}")
        return self


@dataclass(frozen=True)
class Purchases:
    """What was bought: one entry per (order, product) purchase, plus per-order facts.

    Attributes
    ----------
    order_index, product_index : arrays of int, shape (n,)
        Cancelled orders, returns and fully refunded lines already left out; variants
        rolled up to their product.
    order_customer : array of int, shape (n_orders,)
        The customer index of each order, ``-1`` for guests.
    order_age_days : array of float, shape (n_orders,)
        Days from each order to the as-of moment (``>= 0``).
    """

    order_index: np.ndarray
    product_index: np.ndarray
    order_customer: np.ndarray
    order_age_days: np.ndarray


@dataclass(frozen=True)
class Catalogue:
    """What can be sold, one entry per product index.

    Attributes
    ----------
    product_type, vendor : arrays of int
        Group ids (``-1`` when unknown).
    price : array of float
        Reference price (``nan`` when unknown).
    recommendable : array of bool
        Available for sale now (active, published, not deleted, in stock when known).
    """

    product_type: np.ndarray
    vendor: np.ndarray
    price: np.ndarray
    recommendable: np.ndarray

    @property
    def n_products(self) -> int:
        return int(np.asarray(self.product_type).size)


@dataclass(frozen=True)
class Recommendations:
    """A shop's computed recommendations.

    Attributes
    ----------
    rules : Rules
        Ranked rules of every kind, sorted by antecedent, kind and rank. Frequently bought
        together (``fbt``) come first in each product's list; where a product has fewer than
        ``max_recommendations`` of them, ``bestseller_type`` and then ``bestseller_vendor``
        rules fill the list up (their metrics are those of the pair, often zero counts).
    product_orders : array of int64
        Orders holding each product.
    n_orders, n_customers : int
        Orders and customers (with a purchase) behind the computation.
    """

    rules: Rules
    product_orders: np.ndarray
    n_orders: int
    n_customers: int


def compute_recommendations(
    purchases: Purchases, catalogue: Catalogue, params: Params | None = None
) -> Recommendations:
    """Every recommendation of a shop: frequently bought together, upsells, downsells, fallbacks.

    Parameters
    ----------
    purchases : Purchases
    catalogue : Catalogue
        Only ``recommendable`` products are ever recommended; every product may receive
        recommendations.
    params : Params, optional

    Returns
    -------
    Recommendations
    """
    params = (params or Params()).validate()
    n_products = catalogue.n_products
    types = np.asarray(catalogue.product_type, dtype=np.int64)
    vendors = np.asarray(catalogue.vendor, dtype=np.int64)
    prices = np.asarray(catalogue.price, dtype=np.float64)
    allowed = _check_mask(catalogue.recommendable, n_products, "recommendable")
    if not (vendors.size == prices.size == n_products):
        raise ValueError("every catalogue array needs one value per product")
    customers = np.asarray(purchases.order_customer, dtype=np.int64)
    ages = np.asarray(purchases.order_age_days, dtype=np.float64)
    if customers.shape != ages.shape:
        raise ValueError("order_customer and order_age_days need one value per order")
    n_orders = customers.size
    k = int(params.max_recommendations)

    matrix = basket_matrix(purchases.order_index, purchases.product_index, n_orders, n_products)
    weights = decay_weights(ages, params.half_life_days) if params.half_life_days else None
    counts = pair_counts(matrix, weights)
    fbt = top_rules(
        pair_rules(
            counts,
            min_orders_together=params.min_orders_together,
            min_confidence=params.min_confidence,
            min_lift=params.min_lift,
            consequents=allowed,
        ),
        k,
        params.rank_by,
    )

    popularity = counts.item_weight
    parts = [fbt]
    have = fbt
    for group, kind in ((types, BESTSELLER_TYPE), (vendors, BESTSELLER_VENDOR)):
        a, b, rank = bestseller_fill(have, group, popularity, k, consequents=allowed)
        filled = replace(pair_metrics(counts, a, b, kind), rank=rank)
        parts.append(filled)
        have = Rules.concat([have, filled])

    # Upsells and downsells follow customers from order to order.
    switch, buyers, n_customers = switch_counts(matrix, customers, -ages, types)
    for direction in ("up", "down"):
        trades = trade_rules(
            switch,
            buyers,
            n_customers,
            prices,
            direction=direction,
            min_customers=params.min_customers,
            consequents=allowed,
        )
        parts.append(top_rules(trades, k, params.rank_by))

    rules = Rules.concat(parts)
    order = np.lexsort((rules.rank, rules.kind, rules.antecedent))
    return Recommendations(rules.take(order), counts.item_orders, n_orders, n_customers)


# --- carts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartRanking:
    """Cart add-ons: one entry per recommended product, best first.

    ``confidence`` is the combined (noisy-or) confidence; ``best`` indexes the input rule that
    contributes most (its source, lift, support and orders together describe the add-on).
    """

    consequent: np.ndarray
    confidence: np.ndarray
    best: np.ndarray


def combine_cart(
    antecedent: np.ndarray | Sequence[int],
    consequent: np.ndarray | Sequence[int],
    confidence: np.ndarray | Sequence[float],
    lift: np.ndarray | Sequence[float],
    orders_together: np.ndarray | Sequence[int],
    cart: np.ndarray | Sequence[int],
) -> CartRanking:
    """Combine the rules of several cart products into one ranking of add-ons.

    Rule: a product ``B`` recommended by cart products ``A_1 .. A_m`` scores the noisy-or of
    their confidences, ``1 - prod_i (1 - confidence(A_i -> B))`` (in ``[0, 1]``): the chance
    that at least one cart product "pulls in" ``B`` if each did so independently. A product
    recommended by several cart items therefore ranks above one recommended by a single item
    with the same confidence. Ties go to the higher best lift, then more orders together, then
    the lower id. Products already in the cart are never returned.

    Parameters
    ----------
    antecedent, consequent, confidence, lift, orders_together : arrays, shape (n,)
        The stored rules of the cart's products (any ids).
    cart : array of int
        The products in the cart.
    """
    a = np.asarray(antecedent, dtype=np.int64)
    b = np.asarray(consequent, dtype=np.int64)
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    lifts = np.asarray(lift, dtype=np.float64)
    together = np.asarray(orders_together, dtype=np.int64)
    if not (a.size == b.size == conf.size == lifts.size == together.size):
        raise ValueError("rule arrays must have the same length")
    in_cart = np.isin(a, np.asarray(cart, dtype=np.int64))
    keep = np.flatnonzero(in_cart & ~np.isin(b, np.asarray(cart, dtype=np.int64)))
    if keep.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CartRanking(empty, np.zeros(0), empty)
    # Strongest rule first within each consequent, so the group's first entry is its best.
    order = keep[np.lexsort((-together[keep], -lifts[keep], -conf[keep], b[keep]))]
    targets = b[order]
    starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
    combined = 1.0 - np.multiply.reduceat(1.0 - conf[order], starts)
    best = order[starts]
    ranking = np.lexsort((targets[starts], -together[best], -lifts[best], -combined))
    return CartRanking(targets[starts][ranking], combined[ranking], best[ranking])
