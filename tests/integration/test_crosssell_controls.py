"""The merchant's pins, hides and bundles: validated, idempotent, kept across recomputations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from cvo_plugin.db import Database
from cvo_plugin.models import CrosssellBundle, CrosssellHide, CrosssellPin, Product, Variant
from cvo_plugin.services.crosssell import (
    ControlError,
    UnknownProductError,
    delete_bundle,
    hide,
    list_controls,
    pin,
    recommend,
    save_bundle,
    unhide,
    unpin,
)
from tests.conftest import table_snapshot
from tests.crosssell_shop import build_shop, compute


def listed(database: Database, shop_id: int, products: list[str], **kwargs) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [
            (i.product.platform_id, i.kind) for i in recommend(session, shop_id, products, **kwargs).items
        ]


def test_controls_apply_and_survive_recomputation(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    assert listed(database, shop_id, ["dripper"], limit=2) == [("filters", "fbt"), ("kettle", "fbt")]
    with database.session() as session:
        hide(session, shop_id, "dripper", "filters")
        pin(session, shop_id, "dripper", "tea", position=2)
        save_bundle(session, shop_id, "Starter kit", ["dripper", "grinder", "mug"])
    expected = [("grinder", "bundle"), ("tea", "pinned"), ("mug", "bundle"), ("kettle", "fbt")]
    assert listed(database, shop_id, ["dripper"], limit=4) == expected
    for _ in range(2):
        compute(database, shop_id)
        assert listed(database, shop_id, ["dripper"], limit=4) == expected
    # The bundle works from each of its products; hides are per product.
    assert listed(database, shop_id, ["mug"], limit=2) == [("dripper", "bundle"), ("grinder", "bundle")]
    assert ("filters", "fbt") in listed(database, shop_id, ["kettle"])
    with database.session() as session:
        assert unhide(session, shop_id, "dripper", "filters") is True
        assert unpin(session, shop_id, "dripper", "tea") is True
        assert unpin(session, shop_id, "dripper", "tea") is False
        bundle_id = session.scalars(select(CrosssellBundle.id)).one()
        assert delete_bundle(session, shop_id, bundle_id) is True
    assert listed(database, shop_id, ["dripper"], limit=2) == [("filters", "fbt"), ("kettle", "fbt")]


def test_a_shop_wide_hide_reaches_every_list(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    with database.session() as session:
        pin(session, shop_id, "beans", "kettle", position=1)
        hide(session, shop_id, None, "kettle")  # also removes pins of the kettle
        assert session.scalar(select(func.count()).select_from(CrosssellPin)) == 0
        assert list_controls(session, shop_id, "kettle").hides == ((None, "kettle"),)
    for products in (["dripper"], ["grinder"], ["dripper", "filters"], ["new-scale"]):
        assert "kettle" not in [p for p, _ in listed(database, shop_id, products, limit=50)]
    assert "kettle" not in [p for p, _ in listed(database, shop_id, ["dripper"], list_kind="downsell")]
    with database.session() as session:
        assert unhide(session, shop_id, None, "kettle") is True
    assert "kettle" in [p for p, _ in listed(database, shop_id, ["dripper"])]


def test_writes_are_idempotent(database: Database) -> None:
    shop_id = build_shop(database)
    with database.session() as session:
        pin(session, shop_id, "dripper", "tea", position=3)
        pin(session, shop_id, "dripper", "tea", position=1)
        hide(session, shop_id, "dripper", "mug")
        hide(session, shop_id, "dripper", "mug")
        save_bundle(session, shop_id, "Kit", ["dripper", "filters"])
        save_bundle(session, shop_id, " Kit ", ["dripper", "filters", "kettle"])
        pins = session.execute(select(CrosssellPin.pinned_platform_id, CrosssellPin.position)).all()
        assert [tuple(p) for p in pins] == [("tea", 1)]
        assert session.scalar(select(func.count()).select_from(CrosssellHide)) == 1
        view = list_controls(session, shop_id)
        assert [(b.name, b.product_ids) for b in view.bundles] == [("Kit", ("dripper", "filters", "kettle"))]
        # Pinning a hidden pair un-hides it, and the other way round.
        pin(session, shop_id, "dripper", "mug")
        assert session.scalar(select(func.count()).select_from(CrosssellHide)) == 0
        hide(session, shop_id, "dripper", "mug")
        assert list_controls(session, shop_id, "dripper").pins == (("dripper", "tea", 1),)


def test_bad_controls_are_refused_and_change_nothing(database: Database) -> None:
    alpha = build_shop(database, "alpha.example")
    beta = build_shop(database, "beta.example")
    with database.session() as session:
        session.add(Product(shop_id=beta, platform_id="beta-only", title="Beta only"))
        session.execute(
            update(Product)
            .where(Product.shop_id == alpha, Product.platform_id == "grinder")
            .values(deleted_at=datetime.now(UTC))
        )
    before = table_snapshot(database)
    bad_calls = [
        (pin, (alpha, "dripper", "beta-only"), "no product 'beta-only'"),
        (pin, (alpha, "dripper", "dripper"), "itself"),
        (pin, (alpha, "dripper", "tea", 0), "position"),
        (pin, (alpha, "dripper", "tea", 51), "position"),
        (pin, (alpha, "dripper", "grinder"), "deleted"),
        (hide, (alpha, None, "*"), "1 to 64"),
        (hide, (alpha, "nope", "tea"), "no product 'nope'"),
        (save_bundle, (alpha, "Kit", ["dripper"]), "2 to 10"),
        (save_bundle, (alpha, "Kit", ["dripper", "dripper"]), "once"),
        (save_bundle, (alpha, "", ["dripper", "tea"]), "name"),
        (save_bundle, (alpha, "Kit", ["dripper", "beta-only"]), "beta-only"),
    ]
    for function, args, message in bad_calls:
        with pytest.raises(ControlError, match=message), database.session() as session:
            function(session, *args)
    with database.session() as session:
        assert delete_bundle(session, alpha, 12345) is False
    assert table_snapshot(database) == before


def test_pinned_and_bundled_products_that_cannot_be_sold_are_left_out(database: Database) -> None:
    shop_id = build_shop(database)
    compute(database, shop_id)
    with database.session() as session:
        pin(session, shop_id, "dripper", "tea", position=1)
        save_bundle(session, shop_id, "Kit", ["dripper", "mug", "soldout"])
    assert listed(database, shop_id, ["dripper"], limit=2) == [("tea", "pinned"), ("mug", "bundle")]
    with database.session() as session:
        tea = session.scalars(
            select(Product).where(Product.shop_id == shop_id, Product.platform_id == "tea")
        ).one()
        session.execute(update(Variant).where(Variant.product_id == tea.id).values(available=False))
        session.execute(
            update(Product)
            .where(Product.shop_id == shop_id, Product.platform_id == "mug")
            .values(status="draft")
        )
    chosen = [p for p, _ in listed(database, shop_id, ["dripper"], limit=50)]
    assert chosen[0] == "filters" and not {"tea", "mug", "soldout"} & set(chosen)


def test_unknown_products_and_bad_requests(database: Database) -> None:
    shop_id = build_shop(database)
    with database.session() as session:
        with pytest.raises(UnknownProductError, match="'nope'"):
            recommend(session, shop_id, ["dripper", "nope"])
        for kwargs in ({"limit": 0}, {"list_kind": "sideways"}):
            with pytest.raises(ValueError):
                recommend(session, shop_id, ["dripper"], **kwargs)
        with pytest.raises(ValueError, match="1 to 50"):
            recommend(session, shop_id, [])
        with pytest.raises(LookupError):
            recommend(session, shop_id + 99, ["dripper"])
        # Nothing computed yet: no computed rules, but the merchant's pins already show.
        pin(session, shop_id, "dripper", "tea")
        result = recommend(session, shop_id, ["dripper"])
        assert result.computed_at is None
        assert [(i.product.platform_id, i.kind, i.label) for i in result.items] == [
            ("tea", "pinned", "Recommended by the shop")
        ]
