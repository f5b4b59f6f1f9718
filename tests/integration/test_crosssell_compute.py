"""The cross-sell job on a small shop: what is counted, what is left out, what is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cvo_plugin.db import Database
from cvo_plugin.models import (
    CrosssellBundle,
    CrosssellBundleItem,
    CrosssellHide,
    CrosssellPin,
    CrosssellProductStat,
    CrosssellRecommendation,
    CrosssellSet,
    JobRun,
    Product,
    Shop,
)
from cvo_plugin.services.crosssell import (
    SETTINGS_HELP,
    SettingsError,
    bought_products,
    crosssell_settings,
    hide,
    pin,
    recommend,
    save_bundle,
    update_crosssell_settings,
    validate_settings,
)
from cvo_plugin.services.shops import delete_shop
from tests.crosssell_shop import UNAVAILABLE, build_shop, compute

ORDERS = 48  # orders with something kept (cancelled ones out)


def ids(items) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.product.platform_id for item in items]


def product_id(database: Database, shop_id: int, platform_id: str) -> int:
    with database.session() as session:
        return session.scalars(
            select(Product.id).where(Product.shop_id == shop_id, Product.platform_id == platform_id)
        ).one()


def test_job_stores_the_rules_of_contract_md(database: Database) -> None:
    shop_id = build_shop(database)
    handle = compute(database, shop_id)
    assert handle.status == "finished"
    assert handle.result["orders"] == ORDERS and handle.result["rules"] > 0
    with database.session() as session:
        run = session.get(JobRun, handle.id)
        assert run is not None and (run.status, run.progress, run.kind) == ("finished", 1.0, "crosssell")
        result = recommend(session, shop_id, ["dripper"], limit=20)
    assert result.computed_at is not None and result.set_id == handle.result["set_id"]
    first = result.items[0]
    assert first.explanation == (
        "20 orders held both; 95% of the orders with Pour-Over Dripper also held it, "
        "2.3 times as often as orders in general."
    )
    assert (first.product.platform_id, first.kind, first.rank) == ("filters", "fbt", 1)
    # 21 orders hold the dripper (one of them holds 3), 20 the filters, 20 both, 48 in all.
    assert first.orders_together == 20
    assert first.support == pytest.approx(20 / ORDERS)
    assert first.confidence == pytest.approx(20 / 21)
    assert first.lift == pytest.approx((20 / 21) / (20 / ORDERS))
    assert first.conviction == pytest.approx((1 - 20 / ORDERS) / (1 - 20 / 21))
    kettle = result.items[1]
    assert (kettle.product.platform_id, kettle.orders_together) == ("kettle", 10)
    assert kettle.lift == pytest.approx((10 / 21) / (11 / ORDERS))
    # What a widget needs: price and compare-at price as Decimal, the default variant, image.
    card = first.product
    assert (str(card.price), str(card.compare_at_price), card.variant_id) == ("7.00", "14.00", "filters-1")
    assert card.image_url == "https://cdn.example/filters.png" and card.url == "/products/filters"
    # After the computed rules, the fallbacks of the same type, labelled as such.
    fallbacks = [item for item in result.items if item.kind == "bestseller_type"]
    assert fallbacks and all(item.label == "Bestseller in Brewing Gear" for item in fallbacks)


def test_cancelled_refunded_and_unavailable_are_left_out(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    unavailable = {product_id(database, shop_id, p) for p in UNAVAILABLE}
    mug = product_id(database, shop_id, "mug")
    with database.session() as session:
        stored = session.execute(
            select(
                CrosssellRecommendation.product_id,
                CrosssellRecommendation.recommended_id,
                CrosssellRecommendation.kind,
            )
        ).all()
        assert stored and not {r[1] for r in stored} & unavailable
        fbt_to_mug = {r[0] for r in stored if r[1] == mug and r[2] == "fbt"}
        assert fbt_to_mug == set()  # tea's orders were cancelled, beans' mugs went back
        stats = dict(
            session.execute(select(CrosssellProductStat.product_id, CrosssellProductStat.orders)).all()
        )
        assert stats[mug] == 2  # only the two mug-only orders count
        assert stats[product_id(database, shop_id, "dripper")] == 21  # three units count once
        listed = [(p.platform_id, p.orders) for p in bought_products(session, shop_id, limit=3)]
        assert listed == [("dripper", 21), ("filters", 20), ("beans", 15)]
        assert [p.platform_id for p in bought_products(session, shop_id, search="MUG")] == ["mug"]
        for source in ("dripper", "tea", "beans"):
            assert not set(ids(recommend(session, shop_id, [source], limit=50).items)) & set(UNAVAILABLE)


def test_variants_roll_up_and_upsells_follow_customers(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    with database.session() as session:
        up = recommend(session, shop_id, ["beans"], list_kind="upsell").items
        down = recommend(session, shop_id, ["geisha"], list_kind="downsell").items
        assert recommend(session, shop_id, ["geisha"], list_kind="upsell").items == ()
    # 15 customers bought the blend (in either variant); 5 of them went on to the Geisha.
    assert [(i.product.platform_id, i.kind, i.orders_together) for i in up] == [("geisha", "upsell", 5)]
    assert up[0].confidence == pytest.approx(5 / 15)
    # The 6 Geisha buyers all bought the blend in another order: a cheaper alternative.
    assert [(i.product.platform_id, i.kind, i.orders_together) for i in down] == [("beans", "downsell", 6)]
    assert down[0].confidence == 1.0 and down[0].label == "A lower-priced alternative"


def test_new_products_get_bestsellers_of_their_type(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    with database.session() as session:
        items = recommend(session, shop_id, ["new-scale"], limit=3).items
    assert [(i.product.platform_id, i.kind) for i in items] == [
        ("dripper", "bestseller_type"),
        ("kettle", "bestseller_type"),
        ("grinder", "bestseller_type"),
    ]
    assert items[0].label == "Bestseller in Brewing Gear" and items[0].orders_together == 0


def test_cart_add_ons_combine_and_skip_the_cart(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    with database.session() as session:
        cart = recommend(session, shop_id, ["dripper", "kettle"], limit=5)
        with pytest.raises(ValueError, match="one product"):
            recommend(session, shop_id, ["dripper", "kettle"], list_kind="upsell")
    chosen = ids(cart.items)
    assert chosen[0] == "filters" and not {"dripper", "kettle"} & set(chosen)
    top = cart.items[0]
    # noisy-or of dripper -> filters (20/21) and kettle -> filters (10/11)
    assert top.confidence == pytest.approx(1 - (1 / 21) * (1 / 11))
    assert top.because_of == "dripper" and top.label == "Often bought with Pour-Over Dripper"


def test_recomputing_replaces_the_set_and_as_of_limits_the_orders(database: Database) -> None:
    shop_id = build_shop(database)
    first = compute(database, shop_id)
    early = compute(database, shop_id, as_of="2025-03-10")  # the first 10 dripper orders only
    assert early.result["orders"] < first.result["orders"]
    with database.session() as session:
        sets = session.scalars(select(CrosssellSet)).all()
        assert [(s.id, s.is_current) for s in sets] == [(early.result["set_id"], True)]
        assert sets[0].data_until.isoformat().startswith("2025-03-10T23:59:59")
        assert (
            session.scalar(
                select(func.count())
                .select_from(CrosssellRecommendation)
                .where(CrosssellRecommendation.set_id != sets[0].id)
            )
            == 0
        )
        together = {
            i.product.platform_id: i.orders_together for i in recommend(session, shop_id, ["dripper"]).items
        }
        assert together["filters"] == 10


def test_settings_are_validated_and_used(database: Database) -> None:
    shop_id = build_shop(database)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        assert crosssell_settings(shop).min_orders_together == 3
        assert set(SETTINGS_HELP) == set(crosssell_settings(shop).as_dict())
        for bad in (
            {"min_lift": "-1"},
            {"max_recommendations": "2.5"},
            {"rank_by": "price"},
            {"colour": 1},
            {"min_confidence": 2},
            {"half_life_days": "0"},
            {"lookback_days": "abc"},
        ):
            with pytest.raises(SettingsError):
                update_crosssell_settings(session, shop, bad)
        assert shop.settings == {}
        saved = update_crosssell_settings(
            session, shop, {"min_orders_together": "25", "half_life_days": "90"}
        )
        assert (saved.min_orders_together, saved.half_life_days) == (25, 90.0)
        assert validate_settings({"half_life_days": ""}, saved).half_life_days is None
    compute(database, shop_id)
    with database.session() as session:
        items = recommend(session, shop_id, ["dripper"]).items
        assert items and all(item.kind != "fbt" for item in items)  # 20 orders together < 25
        params = session.scalars(select(CrosssellSet.parameters)).one()
        assert params["min_orders_together"] == 25 and params["half_life_days"] == 90.0


def test_shops_never_see_each_others_cross_sells(database: Database) -> None:
    alpha = build_shop(database, "alpha.example")
    beta = build_shop(database, "beta.example")  # the same platform ids, another tenant
    compute(database, alpha)
    with database.session() as session:
        assert recommend(session, beta, ["dripper"]).computed_at is None
    compute(database, beta)
    with database.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(CrosssellSet).where(CrosssellSet.is_current)) == 2
        )
        for shop_id in (alpha, beta):
            own = set(session.scalars(select(Product.id).where(Product.shop_id == shop_id)))
            rows = session.execute(
                select(CrosssellRecommendation.product_id, CrosssellRecommendation.recommended_id)
                .join(CrosssellSet, CrosssellSet.id == CrosssellRecommendation.set_id)
                .where(CrosssellSet.shop_id == shop_id)
            ).all()
            assert rows and {p for row in rows for p in row} <= own
            assert {i.product.id for i in recommend(session, shop_id, ["dripper", "beans"]).items} <= own


def test_deleting_a_shop_deletes_its_cross_sells(database: Database) -> None:
    alpha = build_shop(database, "alpha.example")
    beta = build_shop(database, "beta.example")
    for shop_id in (alpha, beta):
        compute(database, shop_id)
        with database.session() as session:
            pin(session, shop_id, "dripper", "tea")
            hide(session, shop_id, None, "mug")
            save_bundle(session, shop_id, "Kit", ["dripper", "filters"])
    with database.session() as session:
        delete_shop(session, alpha)
    with database.session() as session:
        for model in (
            CrosssellSet,
            CrosssellRecommendation,
            CrosssellProductStat,
            CrosssellPin,
            CrosssellHide,
            CrosssellBundle,
            CrosssellBundleItem,
        ):
            shops = set(session.scalars(select(model.shop_id)))
            assert shops == {beta}, model.__name__


@pytest.mark.redis
def test_the_job_runs_on_an_rq_worker_with_progress(
    database: Database, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import SimpleWorker
    from rq.job import Job

    from cvo_plugin.config import Settings
    from cvo_plugin.tasks import COMPUTE_CROSSSELL, COMPUTE_STEPS, QUEUE_ANALYTICS, TaskQueue
    from jobs import runtime

    assert any(step.func == COMPUTE_CROSSSELL and step.queue == QUEUE_ANALYTICS for step in COMPUTE_STEPS)
    shop_id = build_shop(database)
    redis = Redis.from_url(redis_url)
    settings = Settings(
        env="testing",
        database_url=database.url,
        redis_url=redis_url,
        secret_key="s",
        token_encryption_key="k",
    )
    queue = TaskQueue(settings, database, redis=redis)
    handle = queue.enqueue(
        COMPUTE_CROSSSELL, shop_id, kind="crosssell", queue=QUEUE_ANALYTICS, kwargs={"as_of": "2025-12-31"}
    )
    assert handle.status == "queued"
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("CVO_ENV", "testing")
    runtime.worker_settings.cache_clear()
    try:
        SimpleWorker([queue.rq_queue(QUEUE_ANALYTICS)], connection=redis).work(burst=True)
    finally:
        runtime.worker_settings.cache_clear()
    job = Job.fetch(handle.id, connection=redis)
    assert job.return_value()["orders"] == ORDERS and job.get_meta()["progress"] == 1.0
    assert queue.progress(handle.id)["status"] == "finished"  # type: ignore[index]
    with database.session() as session:
        assert recommend(session, shop_id, ["dripper"]).items[0].product.platform_id == "filters"
