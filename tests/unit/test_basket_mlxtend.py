"""The pair rules equal mlxtend's fpgrowth + association_rules on the Groceries baskets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from cvo_plugin.analytics import basket as b
from tests.conftest import DATA

BASKETS = [
    line.split(",")
    for line in (DATA / "groceries" / "groceries.csv").read_text(encoding="utf-8").splitlines()
]


def test_the_copy_is_the_published_data_set() -> None:
    items = {item for basket in BASKETS for item in basket}
    assert len(BASKETS) == 9835 and len(items) == 169
    assert sum(len(basket) for basket in BASKETS) == 43367


@pytest.mark.parametrize("min_support", [0.01, 0.003])
def test_pair_rules_equal_mlxtend(min_support: float) -> None:
    encoder = TransactionEncoder()
    frame = pd.DataFrame(encoder.fit(BASKETS).transform(BASKETS), columns=encoder.columns_)
    itemsets = fpgrowth(frame, min_support=min_support, max_len=2)
    reference = association_rules(itemsets, num_itemsets=len(frame), metric="confidence", min_threshold=0.0)
    pairs = reference[(reference.antecedents.map(len) == 1) & (reference.consequents.map(len) == 1)]
    expected = {
        (next(iter(a)), next(iter(c))): (s, conf, lift, conv)
        for a, c, s, conf, lift, conv in zip(
            pairs.antecedents,
            pairs.consequents,
            pairs.support,
            pairs.confidence,
            pairs.lift,
            pairs.conviction,
            strict=True,
        )
    }

    column = {name: i for i, name in enumerate(encoder.columns_)}
    orders = np.repeat(np.arange(len(BASKETS)), [len(basket) for basket in BASKETS])
    products = np.array([column[item] for basket in BASKETS for item in basket])
    rules = b.pair_rules(b.pair_counts(b.basket_matrix(orders, products)), min_support=min_support)
    ours = {
        (int(a), int(c)): (s, conf, lift, conv)
        for a, c, s, conf, lift, conv in zip(
            rules.antecedent,
            rules.consequent,
            rules.support,
            rules.confidence,
            rules.lift,
            rules.conviction,
            strict=True,
        )
    }

    assert len(expected) > 100
    assert set(ours) == set(expected)
    for key, (support, confidence, lift, conviction) in expected.items():
        got = ours[key]
        assert got[0] == pytest.approx(support, abs=1e-9)
        assert got[1] == pytest.approx(confidence, abs=1e-9)
        assert got[2] == pytest.approx(lift, abs=1e-9)
        assert got[3] == pytest.approx(conviction, rel=1e-9)
    counts = dict(
        zip(
            zip(rules.antecedent.tolist(), rules.consequent.tolist(), strict=True),
            rules.orders_together.tolist(),
            strict=True,
        )
    )
    for (a, c), (support, *_rest) in expected.items():
        assert counts[(a, c)] == round(support * len(BASKETS))
