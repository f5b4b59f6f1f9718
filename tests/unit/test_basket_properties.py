"""Property tests (hypothesis) of the cross-sell analytics and of how lists are composed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cvo_plugin.analytics import basket as b
from cvo_plugin.services.crosssell.compose import Candidate, Controls, compose

# For these tests only (a loaded profile would change every other module's tests too).
examples = settings(max_examples=60, deadline=None)


@st.composite
def baskets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(order index, product index, n_orders, n_products), repeats allowed (several units)."""
    n_products = draw(st.integers(1, 12))
    n_orders = draw(st.integers(1, 30))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, n_orders - 1), st.integers(0, n_products - 1)), min_size=1, max_size=120
        )
    )
    orders, products = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    return orders, products, n_orders, n_products


@examples
@given(baskets(), st.booleans())
def test_counts_are_symmetric_and_match_the_dense_product(data, decay: bool) -> None:  # type: ignore[no-untyped-def]
    orders, products, n_orders, n_products = data
    matrix = b.basket_matrix(orders, products, n_orders, n_products)
    dense = np.zeros((n_orders, n_products), dtype=np.int64)
    dense[orders, products] = 1
    weights = np.linspace(1.0, 0.1, n_orders) if decay else None
    counts = b.pair_counts(matrix, weights)
    together = counts.together.toarray()
    assert (together == together.T).all()
    assert (together == dense.T @ dense).all()
    assert counts.item_orders.tolist() == dense.sum(axis=0).tolist()
    if decay:
        assert np.allclose(counts.weighted.toarray(), dense.T @ np.diag(weights) @ dense)


@examples
@given(baskets(), st.booleans(), st.integers(1, 3))
def test_rule_metrics_are_in_range_and_consistent(data, decay: bool, min_together: int) -> None:  # type: ignore[no-untyped-def]
    orders, products, n_orders, n_products = data
    weights = b.decay_weights(np.arange(n_orders, dtype=float) * 7, 30.0) if decay else None
    counts = b.pair_counts(b.basket_matrix(orders, products, n_orders, n_products), weights)
    rules = b.pair_rules(counts, min_orders_together=min_together)
    item_support = counts.item_weight / counts.total_weight
    assert not np.any(rules.antecedent == rules.consequent)
    assert np.all(rules.orders_together >= min_together)
    assert np.all((rules.support >= 0) & (rules.support <= 1))
    assert np.all((rules.confidence >= 0) & (rules.confidence <= 1))
    assert np.all(rules.conviction >= 0)
    # lift = support(A and B) / (support(A) support(B)), and confidence = support(AB) / support(A).
    expected_lift = rules.support / (item_support[rules.antecedent] * item_support[rules.consequent])
    assert np.allclose(rules.lift, expected_lift, rtol=1e-9)
    assert np.allclose(rules.confidence, rules.support / item_support[rules.antecedent], rtol=1e-9)
    # Every pair bought together often enough is there, in both directions.
    together = counts.together.toarray()
    np.fill_diagonal(together, 0)
    assert len(rules) == int((together >= min_together).sum())


@examples
@given(baskets(), st.booleans(), st.integers(1, 4))
def test_pruning_rare_products_changes_no_rule(data, decay: bool, min_together: int) -> None:  # type: ignore[no-untyped-def]
    orders, products, n_orders, n_products = data
    matrix = b.basket_matrix(orders, products, n_orders, n_products)
    weights = np.linspace(1.0, 0.2, n_orders) if decay else None
    full = b.pair_rules(b.pair_counts(matrix, weights), min_orders_together=min_together)
    pruned_counts = b.pair_counts(matrix, weights, min_item_orders=min_together)
    pruned = b.pair_rules(pruned_counts, min_orders_together=min_together)
    assert pruned_counts.item_orders.tolist() == b.pair_counts(matrix).item_orders.tolist()
    for name in ("antecedent", "consequent", "orders_together", "support", "confidence", "lift"):
        assert np.allclose(getattr(full, name), getattr(pruned, name), rtol=1e-12)


@examples
@given(baskets(), st.integers(0, 4), st.sampled_from(b.RANK_BY))
def test_top_rules_keep_the_best_k_in_order(data, k: int, rank_by: str) -> None:  # type: ignore[no-untyped-def]
    orders, products, n_orders, n_products = data
    rules = b.pair_rules(b.pair_counts(b.basket_matrix(orders, products, n_orders, n_products)))
    top = b.top_rules(rules, k, rank_by)
    metric = {"confidence": top.confidence, "lift": top.lift, "orders_together": top.orders_together}[rank_by]
    for product in np.unique(rules.antecedent):
        mine = top.antecedent == product
        assert top.rank[mine].tolist() == list(range(min(k, int((rules.antecedent == product).sum()))))
        assert np.all(np.diff(metric[mine]) <= 0)


@st.composite
def shops(draw: st.DrawFn) -> tuple[b.Purchases, b.Catalogue, b.Params]:
    orders, products, n_orders, n_products = draw(baskets())
    customers = np.array(draw(st.lists(st.integers(-1, 6), min_size=n_orders, max_size=n_orders)))
    ages = np.array(draw(st.lists(st.floats(0, 400), min_size=n_orders, max_size=n_orders)))
    catalogue = b.Catalogue(
        product_type=np.array(draw(st.lists(st.integers(-1, 2), min_size=n_products, max_size=n_products))),
        vendor=np.array(draw(st.lists(st.integers(-1, 1), min_size=n_products, max_size=n_products))),
        price=np.array(
            draw(
                st.lists(st.sampled_from([5.0, 10.0, 20.0, np.nan]), min_size=n_products, max_size=n_products)
            )
        ),
        recommendable=np.array(draw(st.lists(st.booleans(), min_size=n_products, max_size=n_products))),
    )
    params = b.Params(
        max_recommendations=draw(st.integers(1, 4)),
        min_orders_together=draw(st.integers(1, 2)),
        min_confidence=0.0,
        min_lift=draw(st.sampled_from([0.0, 1.0])),
        half_life_days=draw(st.sampled_from([None, 30.0])),
        min_customers=1,
    )
    return b.Purchases(orders, products, customers, ages), catalogue, params


@examples
@given(shops())
def test_recommendations_never_name_the_product_itself_or_an_unavailable_one(shop) -> None:  # type: ignore[no-untyped-def]
    purchases, catalogue, params = shop
    rules = b.compute_recommendations(purchases, catalogue, params).rules
    assert not np.any(rules.antecedent == rules.consequent)
    assert np.all(catalogue.recommendable[rules.consequent])
    assert np.all((rules.confidence >= 0) & (rules.confidence <= 1))
    # Each product's list (fbt + fallbacks) and its upsells and downsells hold at most k, once each.
    addons = np.isin(rules.kind, [b.FBT, b.BESTSELLER_TYPE, b.BESTSELLER_VENDOR])
    for kinds in (addons, rules.kind == b.UPSELL, rules.kind == b.DOWNSELL):
        pairs = list(zip(rules.antecedent[kinds].tolist(), rules.consequent[kinds].tolist(), strict=True))
        assert len(pairs) == len(set(pairs))
        assert np.all(np.bincount(rules.antecedent[kinds]) <= params.max_recommendations)
    # Upsells cost more and downsells less, within one product type.
    for kind, sign in ((b.UPSELL, 1), (b.DOWNSELL, -1)):
        mine = rules.kind == kind
        a, c = rules.antecedent[mine], rules.consequent[mine]
        assert np.all(sign * (catalogue.price[c] - catalogue.price[a]) > 0)
        assert np.all(catalogue.product_type[a] == catalogue.product_type[c])


@examples
@given(
    st.lists(
        st.tuples(
            st.integers(0, 8), st.integers(0, 8), st.floats(0, 1), st.floats(0, 20), st.integers(1, 50)
        ),
        max_size=40,
    ),
    st.sets(st.integers(0, 8), min_size=1, max_size=4),
)
def test_cart_add_ons_never_hold_a_cart_product(rules, cart) -> None:  # type: ignore[no-untyped-def]
    a, c, conf, lift, together = (
        (list(col) for col in zip(*rules, strict=True)) if rules else ([], [], [], [], [])
    )
    ranking = b.combine_cart(a, c, conf, lift, together, sorted(cart))
    assert not set(ranking.consequent.tolist()) & cart
    assert len(set(ranking.consequent.tolist())) == ranking.consequent.size
    assert np.all((ranking.confidence >= 0) & (ranking.confidence <= 1))
    assert np.all(np.diff(ranking.confidence) <= 1e-12)
    for target, combined in zip(ranking.consequent.tolist(), ranking.confidence.tolist(), strict=True):
        singles = [conf[i] for i in range(len(a)) if c[i] == target and a[i] in cart]
        assert combined >= max(singles) - 1e-12


ids = st.integers(0, 15)


@examples
@given(
    st.lists(st.tuples(ids, st.sampled_from(["fbt", "bestseller_type"])), max_size=20),
    st.frozensets(ids),
    st.lists(st.tuples(ids, st.integers(1, 6)), max_size=4),
    st.lists(st.tuples(ids, st.sampled_from(["kit", "set"])), max_size=5),
    st.sets(ids, min_size=1, max_size=3),
    st.sets(ids),
    st.integers(1, 8),
)
def test_composed_lists_respect_every_control(
    computed, hidden, pins, bundled, exclude, unavailable, limit
) -> None:  # type: ignore[no-untyped-def]
    available = set(range(16)) - unavailable
    items = compose(
        [Candidate(pid, kind) for pid, kind in computed],
        Controls(hidden=hidden, pins=tuple(pins), bundled=tuple(bundled)),
        exclude=exclude,
        available=available,
        limit=limit,
    )
    chosen = [item.product_id for item in items]
    assert len(chosen) <= limit and len(chosen) == len(set(chosen))
    assert not set(chosen) & hidden
    assert not set(chosen) & exclude
    assert set(chosen) <= available
    # The first usable pin sits at its position when enough other products precede it.
    usable = [
        (p, pos)
        for p, pos in sorted(pins, key=lambda pin: pin[1])
        if p in available and p not in hidden | exclude
    ]
    others = sum(item.kind != "pinned" for item in items)
    if usable and usable[0][1] <= limit and others >= usable[0][1] - 1:
        assert chosen[usable[0][1] - 1] == usable[0][0]
    for product, _position in usable:
        if product in chosen:
            assert items[chosen.index(product)].kind == "pinned"
