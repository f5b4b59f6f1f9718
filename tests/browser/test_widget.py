"""The real widget script on a theme-like storefront (the demo storefront's product page and cart
page, served by the app on loopback) in headless Chromium."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import WidgetEvent
from cvo_plugin.services.widget.holdout import HOLDOUT, arm_of
from tests.conftest import app_overrides
from tests.integration.widget.conftest import WidgetShop, set_widget, shop_with_crosssells

pytestmark = [pytest.mark.browser]


@pytest.fixture
def widget_shop(database: Database) -> WidgetShop:
    return shop_with_crosssells(database)


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, widget_shop: WidgetShop) -> Iterator[LiveServer]:
    """The app on a real HTTP server on loopback (threaded, like a small production server)."""
    app = create_app(app_overrides(database_url, tmp_path / "instance"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["cvo"]["db"].dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; page errors are collected in `page.errors`."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()


BLOCK = "#cvo-product-block section.cvo-w"


def open_product(page: Any, server: LiveServer, product: str = "dripper") -> None:
    page.goto(f"{server.url}/demo/store/products/{product}")


def wait_for_cart(page: Any, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The demo cart once `ready` holds for it (the widget updates it in the background)."""
    for _ in range(100):
        cart = page.evaluate("fetch('/demo/store/cart.js').then(r => r.json())")
        if ready(cart):
            return cart
        page.wait_for_timeout(50)
    raise AssertionError(f"the cart never got ready: {cart}")


def total_text(page: Any) -> str:
    return page.locator(f"{BLOCK} .cvo-total strong").inner_text()


def test_the_block_renders_from_the_api_and_adds_everything_in_one_request(
    page: Any, live_server: LiveServer, database: Database, widget_shop: WidgetShop
) -> None:
    adds: list[Any] = []
    page.on("request", lambda r: adds.append(r) if r.url.endswith("/cart/add.js") else None)
    with page.expect_response(lambda r: "/widget/v1/recommendations" in r.url) as answer:
        open_product(page, live_server)
    api = answer.value.json()
    assert [i["product_id"] for i in api["items"]] == ["filters", "kettle", "grinder"]

    block = page.locator(BLOCK)
    block.wait_for()
    assert block.get_attribute("aria-labelledby")
    assert page.locator(f"{BLOCK} h2").inner_text() == "Frequently bought together"
    names = page.locator(f"{BLOCK} .cvo-name").all_inner_texts()
    assert names == ["This item: Pour-Over Dripper", "Paper Filters", "Gooseneck Kettle", "Burr Grinder"]
    # Every check box has a label naming its product; the compare-at price is shown struck out.
    for box in page.locator(f"{BLOCK} input[type=checkbox]").all():
        label = page.locator(f"label[for='{box.get_attribute('id')}']")
        assert label.count() == 1 and label.inner_text()
    assert page.locator(f"{BLOCK} s").all_inner_texts() == ["$14.00"]
    # Product links follow the storefront's root.
    assert (
        page.get_by_role("link", name="View Paper Filters").get_attribute("href")
        == "/demo/store/products/filters"
    )

    # The total follows the check boxes: 29 + 7 + 79 + 149, then without the kettle.
    assert total_text(page) == "$264.00"
    assert page.locator(f"{BLOCK} button.cvo-add").inner_text() == "Add all 4 to cart"
    page.get_by_role("checkbox", name="Gooseneck Kettle").uncheck()
    assert total_text(page) == "$185.00"
    assert page.locator(f"{BLOCK} button.cvo-add").inner_text() == "Add 3 to cart"
    # Keyboard: focus the kettle's box and toggle it with the space bar, then back off.
    page.get_by_role("checkbox", name="Gooseneck Kettle").focus()
    page.keyboard.press("Space")
    assert total_text(page) == "$264.00"
    page.keyboard.press("Space")
    assert total_text(page) == "$185.00"

    page.locator(f"{BLOCK} button.cvo-add").click()
    page.locator(f"{BLOCK} .cvo-status", has_text="Added to cart.").wait_for()
    cart = wait_for_cart(page, lambda c: "_cvo_added" in c["attributes"])
    assert len(adds) == 1
    body = json.loads(adds[0].post_data)
    assert body == {
        "items": [
            {"id": "dripper-1", "quantity": 1},
            {"id": "filters-1", "quantity": 1},
            {"id": "grinder-1", "quantity": 1},
        ]
    }
    assert {(i["variant_id"], i["quantity"]) for i in cart["items"]} == {
        ("dripper-1", 1),
        ("filters-1", 1),
        ("grinder-1", 1),
    }
    # The cart attributes carry the arm and the products added from the widget (for attribution).
    assert cart["attributes"]["_cvo_arm"] == "exposed"
    assert cart["attributes"]["_cvo_added"] == "filters,grinder"
    assert page.errors == []

    # The beacons arrived: three impressions and two add-to-carts, for the shop's products.
    page.wait_for_timeout(300)
    with database.session() as session:
        events = session.execute(select(WidgetEvent.kind, WidgetEvent.product_id)).all()
    assert sorted(events) == sorted(
        [("impression", p) for p in ("filters", "kettle", "grinder")]
        + [("add_to_cart", "filters"), ("add_to_cart", "grinder")]
    )


def test_the_cart_page_shows_add_ons_and_adds_the_chosen_ones(
    page: Any, live_server: LiveServer, widget_shop: WidgetShop
) -> None:
    open_product(page, live_server)
    page.locator("#theme-add").click()  # the theme's own button: the dripper goes in the cart
    page.wait_for_url("**/demo/store/cart")
    block = page.locator("#cvo-cart-block section.cvo-w")
    block.wait_for()
    assert page.locator("#cvo-cart-block h2").inner_text() == "Complete your order"
    names = page.locator("#cvo-cart-block .cvo-name").all_inner_texts()
    assert "Pour-Over Dripper" not in names and names[:2] == ["Paper Filters", "Gooseneck Kettle"]
    for name in names[1:]:
        page.get_by_role("checkbox", name=name).uncheck()
    assert page.locator("#cvo-cart-block .cvo-total strong").inner_text() == "$7.00"
    with page.expect_navigation():
        page.locator("#cvo-cart-block button.cvo-add").click()
    lines = page.locator("#cart-lines tbody tr").evaluate_all("rows => rows.map(r => r.dataset.variant)")
    assert sorted(lines) == ["dripper-1", "filters-1"]
    assert page.errors == []


@pytest.mark.parametrize("failure", ["500", "unreachable", "bad json"])
def test_a_failing_api_leaves_the_page_intact(
    page: Any, live_server: LiveServer, widget_shop: WidgetShop, failure: str
) -> None:
    def fail(route: Any) -> None:
        if failure == "500":
            route.fulfill(
                status=500, content_type="application/json", body='{"error":"internal_error","message":"x"}'
            )
        elif failure == "bad json":
            route.fulfill(status=200, content_type="application/json", body="<html>oops")
        else:
            route.abort("connectionrefused")

    page.route("**/widget/v1/recommendations*", fail)
    with page.expect_request(lambda r: "/widget/v1/recommendations" in r.url):
        open_product(page, live_server)
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Pour-Over Dripper"
    assert page.locator("#theme-add").is_visible()
    assert page.locator("#cvo-product-block").inner_html() == ""
    assert page.errors == []


def test_a_holdout_visitor_sees_no_widget_but_the_cart_carries_the_arm(
    page: Any, live_server: LiveServer, database: Database, widget_shop: WidgetShop
) -> None:
    set_widget(database, widget_shop.id, holdout_share=0.5)
    anon = next(
        f"visitor{i:04d}" for i in range(1000) if arm_of(widget_shop.key, f"visitor{i:04d}", 0.5) == HOLDOUT
    )
    page.add_init_script(f"window.localStorage.setItem('cvo_anon', '{anon}')")
    open_product(page, live_server)
    cart = wait_for_cart(page, lambda c: bool(c["attributes"]))
    assert cart["attributes"] == {"_cvo_arm": "holdout", "_cvo_anon": anon}
    assert page.locator("#cvo-product-block").inner_html() == ""
    # The next page of the same visit leaves the cart's attributes as they are (no second write).
    updates: list[Any] = []
    page.on("request", lambda r: updates.append(r) if r.url.endswith("/cart/update.js") else None)
    with page.expect_response(lambda r: r.url.endswith("/cart.js")):
        open_product(page, live_server, "kettle")
    page.wait_for_load_state("networkidle")
    assert updates == []
    assert page.errors == []
