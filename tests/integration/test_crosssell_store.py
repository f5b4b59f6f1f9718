"""Atomic replacement: a reader sees the old set or the new one, never a mix and never nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from cvo_plugin.analytics.basket import KINDS, compute_recommendations
from cvo_plugin.db import Database
from cvo_plugin.models import CrosssellRecommendation, CrosssellSet, Product
from cvo_plugin.services.crosssell import load_baskets, recommend, replace_current_set
from cvo_plugin.services.crosssell.store import current_rules
from tests.crosssell_shop import build_shop, compute


def snapshot(database: Database, shop_id: int) -> tuple[int | None, int]:
    """(current set id, rules read) through the service's one-statement read."""
    with database.sessionmaker() as session:
        products = list(session.scalars(select(Product.id).where(Product.shop_id == shop_id)))
        current = current_rules(session, shop_id, products, KINDS)
        return current.set_id, len(current.rules)


def test_an_uncommitted_set_is_invisible_and_a_committed_one_complete(database: Database) -> None:
    shop_id = build_shop(database)
    old = compute(database, shop_id).result
    assert snapshot(database, shop_id) == (old["set_id"], old["rules"])

    for commit in (False, True):
        writer = database.sessionmaker()
        try:
            baskets = load_baskets(writer, shop_id, datetime.now(UTC))
            rules = compute_recommendations(baskets.purchases, baskets.catalogue)
            new = replace_current_set(
                writer,
                shop_id,
                rules,
                baskets.product_ids,
                computed_at=datetime.now(UTC),
                data_until=baskets.until,
                parameters={},
            )
            # Written and flipped, not committed: readers still get the whole old set.
            assert snapshot(database, shop_id) == (old["set_id"], old["rules"])
            if commit:
                writer.commit()
            else:
                writer.rollback()
        finally:
            writer.close()
    assert snapshot(database, shop_id) == (new.id, len(rules.rules))
    with database.session() as session:
        assert session.scalars(select(CrosssellSet.id)).all() == [new.id]
        leftovers = (
            select(func.count())
            .select_from(CrosssellRecommendation)
            .where(CrosssellRecommendation.set_id != new.id)
        )
        assert session.scalar(leftovers) == 0


def test_readers_during_recomputations_always_see_one_whole_set(database: Database) -> None:
    shop_id = build_shop(database)
    first = compute(database, shop_id).result
    expected = {first["set_id"]: first["rules"]}
    with database.session() as session:
        top = [i.product.platform_id for i in recommend(session, shop_id, ["dripper"]).items]
    done = threading.Event()
    failures: list[BaseException] = []

    def recompute() -> None:
        try:
            for _ in range(3):
                result = compute(database, shop_id).result
                expected[result["set_id"]] = result["rules"]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=recompute)
    writer.start()
    seen: list[tuple[int | None, int]] = []
    while not done.is_set() or len(seen) < 3:
        seen.append(snapshot(database, shop_id))
        with database.session() as session:
            assert [i.product.platform_id for i in recommend(session, shop_id, ["dripper"]).items] == top
    writer.join()
    assert not failures
    assert len(expected) == 4
    for set_id, rules in seen:
        assert set_id in expected and rules == expected[set_id] > 0
