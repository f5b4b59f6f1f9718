"""The cross-sell analytics on tiny, hand-computed baskets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cvo_plugin.analytics import basket as b

# Five orders over four products (hand-checkable):
#   order 0: {0, 1}   order 1: {0, 1, 2}   order 2: {0, 2}   order 3: {1}   order 4: {0, 1, 3}
ORDERS = [0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 4]
PRODUCTS = [0, 1, 0, 1, 2, 0, 2, 1, 0, 1, 3]


def rule(rules: b.Rules, a: int, c: int) -> dict[str, float]:
    (index,) = np.flatnonzero((rules.antecedent == a) & (rules.consequent == c))
    return {
        name: float(getattr(rules, name)[index])
        for name in ("orders_together", "support", "confidence", "lift", "conviction")
    }


def test_matrix_counts_an_order_once_however_many_units() -> None:
    matrix = b.basket_matrix([0, 0, 0, 1], [2, 2, 1, 2], n_orders=3, n_products=4)
    assert matrix.shape == (3, 4)
    assert matrix.toarray().tolist() == [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]


def test_pair_counts_by_hand() -> None:
    counts = b.pair_counts(b.basket_matrix(ORDERS, PRODUCTS))
    assert counts.n_orders == 5 and counts.total_weight == 5.0
    assert counts.item_orders.tolist() == [4, 4, 2, 1]
    assert counts.together.toarray().tolist() == [[4, 3, 2, 1], [3, 4, 1, 1], [2, 1, 2, 0], [1, 1, 0, 1]]


def test_rule_metrics_by_hand() -> None:
    rules = b.pair_rules(b.pair_counts(b.basket_matrix(ORDERS, PRODUCTS)))
    assert rule(rules, 0, 1) == pytest.approx(
        {"orders_together": 3, "support": 0.6, "confidence": 0.75, "lift": 0.9375, "conviction": 0.8}
    )
    assert rule(rules, 0, 2) == pytest.approx(
        {"orders_together": 2, "support": 0.4, "confidence": 0.5, "lift": 1.25, "conviction": 1.2}
    )
    every_time = rule(rules, 2, 0)
    assert every_time["confidence"] == 1.0 and every_time["lift"] == pytest.approx(1.25)
    assert math.isinf(every_time["conviction"])
    # No self-rules, and no rule for a pair never bought together (2 and 3).
    assert not np.any(rules.antecedent == rules.consequent)
    assert not np.any((rules.antecedent == 2) & (rules.consequent == 3))
    assert len(rules) == 10


def test_thresholds_and_allowed_consequents() -> None:
    counts = b.pair_counts(b.basket_matrix(ORDERS, PRODUCTS))
    strong = b.pair_rules(counts, min_orders_together=2, min_lift=1.0)
    assert sorted(zip(strong.antecedent.tolist(), strong.consequent.tolist(), strict=True)) == [
        (0, 2),
        (2, 0),
    ]
    assert len(b.pair_rules(counts, min_confidence=0.76)) == 3  # 2->0, 3->0, 3->1 (1.0)
    allowed = np.array([True, False, True, True])
    assert not np.any(b.pair_rules(counts, consequents=allowed).consequent == 1)
    with pytest.raises(ValueError, match="min_orders_together"):
        b.pair_rules(counts, min_orders_together=0)
    with pytest.raises(ValueError, match="min_lift"):
        b.pair_rules(counts, min_lift=-1)


def test_decay_weights_equal_repeating_orders() -> None:
    weights = b.decay_weights([0.0, 30.0, 60.0], 30.0)
    assert weights.tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert b.decay_weights([5.0, 6.0], None).tolist() == [1.0, 1.0]
    # Weight 2 for order 4 gives the metrics of a data set where order 4 appears twice.
    weights = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    weighted = b.pair_rules(b.pair_counts(b.basket_matrix(ORDERS, PRODUCTS), weights))
    doubled = b.pair_rules(b.pair_counts(b.basket_matrix(ORDERS + [5, 5, 5], PRODUCTS + [0, 1, 3])))
    for a, c in [(0, 1), (0, 3), (3, 1), (1, 2)]:
        w, d = rule(weighted, a, c), rule(doubled, a, c)
        assert w["support"] == pytest.approx(d["support"])
        assert w["confidence"] == pytest.approx(d["confidence"])
        assert w["lift"] == pytest.approx(d["lift"])
    # orders_together stays the plain count.
    assert rule(weighted, 0, 3)["orders_together"] == 1
    for bad in ([-1.0], [math.nan]):
        with pytest.raises(ValueError, match="age_days"):
            b.decay_weights(bad, 10)
    with pytest.raises(ValueError, match="half_life_days"):
        b.decay_weights([1.0], 0)


def test_top_rules_rank_per_product_with_deterministic_ties() -> None:
    rules = b.pair_rules(b.pair_counts(b.basket_matrix(ORDERS, PRODUCTS)))
    top = b.top_rules(rules, 2)
    by_product: dict[int, list[tuple[int, int]]] = {}
    for a, c, r in zip(top.antecedent.tolist(), top.consequent.tolist(), top.rank.tolist(), strict=True):
        by_product.setdefault(a, []).append((r, c))
    # 0: 1 (0.75), then 2 and 3 tie on confidence 0.5 vs 0.25 -> 2.
    assert by_product[0] == [(0, 1), (1, 2)]
    # 3: 0 and 1 tie on confidence 1 and lift 1.25 and orders 1: lower index first.
    assert by_product[3] == [(0, 0), (1, 1)]
    by_lift = b.top_rules(rules, 1, rank_by="lift")
    assert rule(by_lift, 0, 2)["lift"] == 1.25
    with pytest.raises(ValueError, match="rank_by"):
        b.top_rules(rules, 1, rank_by="price")


def switches(customer, product, time, group, **kwargs):  # type: ignore[no-untyped-def]
    """switch_counts with one order per purchase (equal times: as good as one order)."""
    n = len(product)
    matrix = b.basket_matrix(np.arange(n), product, n, len(group))
    return b.switch_counts(
        matrix, np.asarray(customer), np.asarray(time, dtype=float), np.asarray(group), **kwargs
    )


def test_switch_counts_follow_customers_over_time() -> None:
    # Customer 0 buys A(0) on day 1, B(1) on day 5, C(2) (other type) on day 6;
    # customer 1 buys B then A; customer 2 buys A and B in one order; guests are ignored.
    customer = np.array([0, 0, 0, 1, 1, 2, 2, -1, -1])
    product = np.array([0, 1, 2, 1, 0, 0, 1, 0, 1])
    time = np.array([1.0, 5.0, 6.0, 2.0, 3.0, 4.0, 4.0, 1.0, 2.0])
    group = np.array([7, 7, 8])
    switch, buyers, n_customers = switches(customer, product, time, group)
    assert switch.toarray().tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    assert buyers.tolist() == [3, 3, 1] and n_customers == 3
    tiny, _, _ = switches(customer, product, time, group, chunk_pairs=1)
    assert (tiny != switch).nnz == 0


def test_first_purchase_decides_the_direction() -> None:
    # Bought A, then B, then A again: A -> B only.
    switch, _, _ = switches(
        np.array([0, 0, 0]), np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), np.array([0, 0])
    )
    assert switch.toarray().tolist() == [[0, 1], [0, 0]]


def test_upsell_and_downsell_rules() -> None:
    # Three customers: two buy cheap A then dear B; one buys B then A.
    customer = np.array([0, 0, 1, 1, 2, 2])
    product = np.array([0, 1, 0, 1, 1, 0])
    time = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 2.0])
    switch, buyers, n = switches(customer, product, time, np.array([0, 0, 0]))
    price = np.array([10.0, 20.0, np.nan])
    up = b.trade_rules(switch, buyers, n, price, direction="up")
    assert up.antecedent.tolist() == [0] and up.consequent.tolist() == [1]
    assert up.orders_together.tolist() == [2] and up.confidence.tolist() == [pytest.approx(2 / 3)]
    assert up.kind.tolist() == [b.UPSELL]
    down = b.trade_rules(switch, buyers, n, price, direction="down")
    assert (down.antecedent.tolist(), down.consequent.tolist()) == ([1], [0])
    assert down.orders_together.tolist() == [3] and down.confidence.tolist() == [1.0]
    assert len(b.trade_rules(switch, buyers, n, price, direction="up", min_customers=3)) == 0
    with pytest.raises(ValueError, match="direction"):
        b.trade_rules(switch, buyers, n, price, direction="sideways")


def test_bestseller_fill_tops_up_short_lists() -> None:
    group = np.array([0, 0, 0, 0, 1, -1])
    popularity = np.array([5.0, 9.0, 7.0, 0.0, 3.0, 8.0])
    have = b.Rules.concat(
        [
            b.pair_metrics(
                b.pair_counts(b.basket_matrix([0, 0], [0, 2], n_products=6)),
                np.array([0]),
                np.array([2]),
                b.FBT,
            )
        ]
    )
    a, c, rank = b.bestseller_fill(have, group, popularity, 2)
    filled = sorted(zip(a.tolist(), c.tolist(), rank.tolist(), strict=True))
    # 0 has one rule (-> 2): one more, the type's bestseller 1. 1, 2, 3 get the two best
    # others of group 0 (3 never sold: never a bestseller); 4 has no other product in its
    # group; 5 has no group.
    assert filled == [(0, 1, 1), (1, 0, 1), (1, 2, 0), (2, 0, 1), (2, 1, 0), (3, 1, 0), (3, 2, 1)]
    blocked = np.array([True, False, True, True, True, True])
    a, c, _ = b.bestseller_fill(have, group, popularity, 2, consequents=blocked)
    assert 1 not in c.tolist()


def test_recommend_everything_for_a_small_shop() -> None:
    # Product 0 (type 0, 10.0) and 1 (type 1) are bought together; 2 (type 0, 30.0) is the
    # upsell of 0; 3 (type 0) is never sold; 4 is not recommendable.
    orders = [0, 0, 1, 1, 2, 2, 3, 4, 4, 5]
    products = [0, 1, 0, 1, 0, 1, 2, 0, 4, 2]
    purchases = b.Purchases(
        order_index=np.array(orders),
        product_index=np.array(products),
        order_customer=np.array([0, 1, 2, 0, 1, -1]),
        order_age_days=np.array([50.0, 40.0, 30.0, 20.0, 10.0, 0.0]),
    )
    catalogue = b.Catalogue(
        product_type=np.array([0, 1, 0, 0, 0]),
        vendor=np.array([0, 0, 0, 0, 0]),
        price=np.array([10.0, 5.0, 30.0, 40.0, 50.0]),
        recommendable=np.array([True, True, True, True, False]),
    )
    params = b.Params(
        max_recommendations=3, min_orders_together=2, min_confidence=0.1, min_lift=1.0, min_customers=1
    )
    result = b.compute_recommendations(purchases, catalogue, params)
    rules = result.rules
    assert result.n_orders == 6 and result.n_customers == 3
    assert result.product_orders.tolist() == [4, 3, 2, 0, 1]
    triples = set(zip(rules.antecedent.tolist(), rules.consequent.tolist(), rules.kind.tolist(), strict=True))
    assert (0, 1, b.FBT) in triples and (1, 0, b.FBT) in triples
    assert (0, 2, b.UPSELL) in triples and (2, 0, b.DOWNSELL) in triples
    assert (0, 2, b.BESTSELLER_TYPE) in triples  # 0's list: 1 (fbt), then its type's bestseller
    assert not np.any(rules.consequent == 4) and not np.any(rules.antecedent == rules.consequent)
    # Sorted by product, kind, rank.
    keys = list(zip(rules.antecedent.tolist(), rules.kind.tolist(), rules.rank.tolist(), strict=True))
    assert keys == sorted(keys)
    decayed = b.compute_recommendations(
        purchases, catalogue, b.Params(**{**params.__dict__, "half_life_days": 10.0})
    )
    assert len(decayed.rules) > 0


def test_combine_cart_by_noisy_or() -> None:
    # Cart {0, 1}: 0 -> 5 (0.5), 1 -> 5 (0.4), 0 -> 6 (0.8), 1 -> 0 (0.9, in the cart), 2 -> 7.
    ranking = b.combine_cart(
        antecedent=[0, 1, 0, 1, 2],
        consequent=[5, 5, 6, 0, 7],
        confidence=[0.5, 0.4, 0.8, 0.9, 0.99],
        lift=[2.0, 3.0, 1.5, 9.0, 9.0],
        orders_together=[10, 8, 20, 30, 40],
        cart=[0, 1],
    )
    assert ranking.consequent.tolist() == [6, 5]
    assert ranking.confidence.tolist() == pytest.approx([0.8, 1 - 0.5 * 0.6])
    assert ranking.best.tolist() == [2, 0]
    empty = b.combine_cart([], [], [], [], [], [1])
    assert empty.consequent.size == 0


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="same length"):
        b.basket_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="negative"):
        b.basket_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="integers"):
        b.basket_matrix([0.5], [1])
    with pytest.raises(ValueError, match="n_products"):
        b.basket_matrix([0], [3], n_products=2)
    with pytest.raises(ValueError, match="weights"):
        b.pair_counts(b.basket_matrix([0], [0]), np.array([1.0, 1.0]))
    for bad in (
        {"max_recommendations": 0},
        {"min_confidence": 1.5},
        {"min_orders_together": 0},
        {"half_life_days": -3.0},
        {"rank_by": "random"},
    ):
        with pytest.raises(ValueError):
            b.Params(**bad).validate()  # type: ignore[arg-type]
