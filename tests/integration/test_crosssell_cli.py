"""`cvo recommend` and `cvo compute` for cross-sells, and the demo store's planted affinities."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from cvo_plugin.db import Database
from cvo_plugin.demo.generator import AFFINITIES
from cvo_plugin.models import Product
from cvo_plugin.services.crosssell import recommend
from cvo_plugin.services.demo import build_demo_store
from tests.crosssell_shop import build_shop, compute

CONTRACT_FIELDS = ["product_id", "title", "kind", "orders_together", "support", "confidence", "lift"]


def test_recommend_prints_json_and_tables(cli_runner, database: Database) -> None:  # type: ignore[no-untyped-def]
    build_shop(database)
    result = cli_runner(["recommend", "alpha.example", "dripper", "--json"])
    assert result.exit_code == 0
    assert "no cross-sells computed for alpha.example yet" in result.stderr
    assert json.loads(result.stdout) == []

    result = cli_runner(["compute", "alpha.example"])
    assert result.exit_code == 0, result.output
    result = cli_runner(
        ["recommend", "alpha.example", "dripper", "--json", "--list", "addons", "--limit", "3"]
    )
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert len(items) == 3 and list(items[0])[: len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
    assert (items[0]["product_id"], items[0]["kind"], items[0]["orders_together"]) == ("filters", "fbt", 20)
    assert (
        items[0]["price"] == "7.00"
        and items[0]["currency"] == "USD"
        and items[0]["variant_id"] == "filters-1"
    )
    assert 0 <= items[0]["confidence"] <= 1 and items[0]["lift"] > 1

    result = cli_runner(["recommend", "alpha.example", "beans"])
    assert result.exit_code == 0
    for text in (
        "Product: House Blend (beans)",
        "Frequently bought together",
        "Upsells",
        "Geisha Reserve",
        "Customers moved up to this",
        "Downsells",
        "(none)",
    ):
        assert text in result.stdout, text

    result = cli_runner(["recommend", "alpha.example", "dripper", "kettle", "--json"])
    cart = json.loads(result.stdout)
    assert cart[0]["product_id"] == "filters" and cart[0]["because_of"] == "dripper"
    assert not {"dripper", "kettle"} & {item["product_id"] for item in cart}
    result = cli_runner(["recommend", "alpha.example", "dripper", "kettle"])
    assert "Cart: Pour-Over Dripper (dripper), Gooseneck Kettle (kettle)" in result.stdout


def test_recommend_refuses_what_it_cannot_answer(cli_runner, database: Database) -> None:  # type: ignore[no-untyped-def]
    build_shop(database)
    result = cli_runner(["recommend", "alpha.example", "no-such-product"])
    assert result.exit_code == 1 and "this shop has no product 'no-such-product'" in result.stderr
    result = cli_runner(["recommend", "no-such-shop.example", "dripper"])
    assert result.exit_code == 1 and "no shop named" in result.stderr
    result = cli_runner(["recommend", "alpha.example", "dripper", "kettle", "--list", "upsell"])
    assert result.exit_code == 2 and "a cart gets add-ons" in result.stderr


def test_the_demo_stores_planted_affinities_are_found(database: Database, tmp_path: Path) -> None:
    store = build_demo_store(database, tmp_path / "demo", customers=2000, seed=11)
    compute(database, store.shop_id)
    with database.session() as session:
        handles = dict(
            session.execute(
                select(Product.title, Product.platform_id).where(Product.shop_id == store.shop_id)
            ).all()
        )
        # The strongest planted pairs (a chance of at least 0.5 to join the basket).
        for first, second, chance in AFFINITIES:
            if chance < 0.5:
                continue
            items = recommend(session, store.shop_id, [handles[first]], list_kind="addons").items
            top = [i.product.title for i in items if i.kind == "fbt"][:2]
            assert second in top, (first, second, top)
        top = recommend(session, store.shop_id, [handles["Pour-Over Dripper"]]).items[0]
        assert (top.product.title, top.kind) == ("Paper Filters (100)", "fbt") and top.lift > 3
