"""The fast path answers cache hits exactly as the Flask route does, and leaves everything else
to Flask."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.services.widget.holdout import HOLDOUT, arm_of
from cvo_plugin.web.widget_fast import WidgetFastPath
from tests.integration.widget.conftest import WidgetShop, set_widget


def call(app: Any, query: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[str, list, bytes]:
    environ = EnvironBuilder(
        path="/widget/v1/recommendations", query_string=urlencode(query), headers=headers or {}
    ).get_environ()
    body, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    return status, sorted(response_headers.to_wsgi_list()), b"".join(body)


def test_cache_hits_are_answered_as_flask_answers_them(
    widget_app: Flask, database: Database, widget_shop: WidgetShop
) -> None:
    fast = widget_app.wsgi_app
    assert isinstance(fast, WidgetFastPath)
    flask_calls: list[str] = []
    inner = fast.wsgi_app

    def counted(environ: dict[str, Any], start_response: Any) -> Any:
        flask_calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    fast.wsgi_app = counted
    with database.session() as session:
        shop = session.get(Shop, widget_shop.id)
        assert shop is not None
        shop.settings = {**shop.settings, "widget_origins": ["https://coffee.example"]}
    set_widget(database, widget_shop.id, holdout_share=0.5)
    held = next(
        f"visitor{i:04d}" for i in range(500) if arm_of(widget_shop.key, f"visitor{i:04d}", 0.5) == HOLDOUT
    )
    product = {"shop": widget_shop.key, "product_id": "dripper", "limit": 3}
    cart = {"shop": widget_shop.key, "cart": "kettle,dripper"}
    first = call(fast, product)  # a miss: Flask builds and caches it
    call(fast, cart)
    assert flask_calls == ["/widget/v1/recommendations"] * 2
    etag = dict(first[1])["ETag"]
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (product, {}),
        (product, {"Origin": "https://coffee.example"}),
        (product, {"If-None-Match": etag}),
        ({**product, "anon": held}, {}),
        (cart, {}),
        ({**cart, "cart": "dripper,kettle"}, {}),  # a cart in another order is the same answer
    ]
    for query, headers in cases:
        flask_calls.clear()
        answered_fast = call(fast, query, headers)
        assert flask_calls == [], (query, headers)
        assert answered_fast == call(inner, query, headers), (query, headers)
    # Refusals and misses go to Flask, which says why.
    for query, headers, status in [
        ({**product, "limit": 0}, {}, "400 BAD REQUEST"),
        (product, {"Origin": "https://evil.example"}, "403 FORBIDDEN"),
        ({**product, "shop": "pk_unknown"}, {}, "404 NOT FOUND"),
        ({**product, "product_id": "kettle"}, {}, "200 OK"),
    ]:
        flask_calls.clear()
        assert call(fast, query, headers)[0] == status
        assert flask_calls == ["/widget/v1/recommendations"]
