"""Hostile files and forms: CSV imports and the WooCommerce connect form.

- A CSV import either stores the whole file or refuses it with `ImportFormatError` (file, line,
  reason) and changes nothing; hostile strings land verbatim; a second import changes nothing.
- The connect form answers 400 with the form again, never a 5xx, never echoes markup unescaped
  nor the secret, and stores nothing.
- Every POST route refuses a body over `MAX_REQUEST_BYTES` with 413 JSON before doing anything,
  a chunked upload (no Content-Length) included.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cvo_plugin.imports.reader import ImportFormatError
from cvo_plugin.models import Order, OrderLine, Shop
from cvo_plugin.services.imports import import_orders
from tests.conftest import DATA, table_snapshot
from tests.integration.security.conftest import Secured
from tests.integration.security.credentials import fill_path, session_cookie
from tests.integration.security.hostile import text

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
BASE_ROWS = list(csv.reader((DATA / "lines" / "small.csv").read_text().splitlines()))
HEADER, ROWS = BASE_ROWS[0], BASE_ROWS[1:]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """small.csv with hostile cells, columns dropped or added, or bytes that are not UTF-8."""
    header = list(HEADER)
    rows = [list(r) for r in ROWS]
    for _ in range(draw(st.integers(0, 4))):
        row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
        rows[row][column] = draw(text)
    if draw(st.booleans()):
        dropped = draw(st.integers(0, len(header) - 1))
        header.pop(dropped)
        rows = [r[:dropped] + r[dropped + 1 :] for r in rows]
    if draw(st.booleans()):
        header.append(draw(text))
        rows = [[*r, draw(text)] for r in rows]
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerows([header, *rows])
    data = stream.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = data.replace(b"Beans", draw(st.binary(min_size=1, max_size=8)))
    return data


def _orders(secured: Secured) -> list[tuple[Any, ...]]:
    with secured.database.sessionmaker() as session:
        orders = session.execute(
            select(Order.shop_id, Order.platform_id, Order.email, Order.net_revenue)
        ).all()
        lines = session.execute(select(OrderLine.order_id, OrderLine.title, OrderLine.quantity)).all()
    return sorted(map(tuple, orders), key=repr) + sorted(map(tuple, lines), key=repr)


@given(data=csv_files())
@EXAMPLES
def test_hostile_csv_imports_store_all_or_nothing(
    secured: Secured, data: bytes, tmp_path_factory: Any
) -> None:
    path = tmp_path_factory.mktemp("csv") / "orders.csv"
    path.write_bytes(data)
    before = table_snapshot(secured.database)
    try:
        with secured.database.session() as session:
            shop = session.get(Shop, secured.tenants.woo_a.id)
            import_orders(session, shop, path, "lines-csv")  # type: ignore[arg-type]
    except ImportFormatError as exc:
        assert "orders.csv" in str(exc)
        assert table_snapshot(secured.database) == before  # nothing of a refused file is kept
        return
    stored = _orders(secured)
    with secured.database.session() as session:  # the same file again changes nothing
        import_orders(session, session.get(Shop, secured.tenants.woo_a.id), path, "lines-csv")  # type: ignore[arg-type]
    assert _orders(secured) == stored


def test_sql_in_a_csv_is_stored_as_text(secured: Secured, tmp_path: Path) -> None:
    nasty = "'); DROP TABLE order_lines; --"
    rows = [HEADER] + [
        [nasty if h == "product_title" else v for h, v in zip(HEADER, r, strict=True)] for r in ROWS
    ]
    path = tmp_path / "sql.csv"
    with path.open("w", newline="") as stream:
        csv.writer(stream).writerows(rows)
    with secured.database.session() as session:
        import_orders(session, session.get(Shop, secured.tenants.woo_a.id), path, "lines-csv")  # type: ignore[arg-type]
    with secured.database.sessionmaker() as session:
        assert nasty in set(session.scalars(select(OrderLine.title)))


URLS = st.one_of(
    st.builds(lambda t: f"https://127.0.0.1:1/{t}", text),  # refused at once: nothing listens
    st.builds(lambda t: f"http://{t}", text),
    st.builds(lambda t: f"ftp://{t}", text),
    st.builds(lambda t: f"https://user:pw@{t}", text),
    st.builds(lambda t: f"https://a b/{t}", text),
    st.just(""),
)


@given(url=URLS, key=text, secret=st.builds(lambda t: "cs_SECRET_" + t, text))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_hostile_connect_form_input_is_refused_escaped_and_changes_nothing(
    secured: Secured, url: str, key: str, secret: str
) -> None:
    app = secured.app
    client = app.test_client()
    page = client.get("/woocommerce/connect").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    before = table_snapshot(secured.database)
    response = client.post(
        "/woocommerce/connect", data={"url": url, "key": key, "secret": secret, "csrf_token": token}
    )
    assert response.status_code == 400, response.status_code
    body = response.get_data(as_text=True)
    assert "cs_SECRET_" not in body  # the secret is never sent back
    for value in (url, key):
        if any(c in value for c in '<>"'):
            assert value not in body, "markup from the request is reflected unescaped"
    assert "<script>alert" not in body
    assert table_snapshot(secured.database) == before


def _post_routes(app: Flask) -> list[Any]:
    return [r for r in app.url_map.iter_rules() if "POST" in (r.methods or ())]


def test_every_post_route_refuses_an_oversized_body_with_413_json(secured: Secured) -> None:
    app = secured.app
    limit = app.config["MAX_CONTENT_LENGTH"]
    before = table_snapshot(secured.database)
    routes = _post_routes(app)
    assert len(routes) >= 4
    for rule in routes:
        client = app.test_client()
        client.set_cookie("session", session_cookie(app, secured.tenants.woo_a.id))
        path = fill_path(rule, {"shop_key": secured.tenants.woo_a.public_key})
        response = client.post(path, data=b"x" * (limit + 1), content_type="application/json")
        assert response.status_code == 413, (rule.rule, response.status_code)
        if response.is_json:
            assert response.get_json()["error"] == "payload_too_large"
        else:  # the admin's pages answer with a page (their JSON twins under /admin/api/ with JSON)
            assert rule.rule.startswith("/admin/") and not rule.rule.startswith("/admin/api/"), rule.rule
    assert table_snapshot(secured.database) == before


def test_a_chunked_upload_past_the_limit_is_refused(app: Flask) -> None:
    """No Content-Length to check up front (a chunked upload behind gunicorn): the body is cut
    off with 413 while it is read."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    big = io.BytesIO(b"x" * (app.config["MAX_CONTENT_LENGTH"] + 65536))
    builder = EnvironBuilder(path="/shopify/webhooks", method="POST", input_stream=big,
                             headers={"X-Shopify-Hmac-Sha256": "AAAA"})  # fmt: skip
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True  # what gunicorn says for a chunked body
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413"), status
    assert b"payload_too_large" in b"".join(body)
