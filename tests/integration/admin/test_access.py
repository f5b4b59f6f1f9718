"""Every admin route refuses requests without a valid sign-in, and shows only the signed-in shop.

Refused: no token, an expired token, a token signed with another secret, for another app, not
yet valid, for a shop the app does not know or that uninstalled the app; a cookie session's
form without its CSRF token; a used or expired sign-in link. Nothing changes on a refusal.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cvo_plugin.db import Database
from cvo_plugin.models import AdminLink, CrosssellBundle, CrosssellPin, JobRun, Shop
from cvo_plugin.services.admin.links import create_admin_link
from cvo_plugin.services.crosssell import controls
from tests.admin_fixtures import OTHER_DOMAIN, SHOPIFY_DOMAIN, AdminShops, session_token
from tests.conftest import table_snapshot

# Every admin route (method, path, form) but the sign-in link's own pages; a test checks that
# this list names every rule of the app's URL map.
ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/admin/", {}),
    ("GET", "/admin/segments/champions", {}),
    ("GET", "/admin/segments/champions/export.csv", {}),
    ("GET", "/admin/crosssells", {}),
    ("GET", "/admin/channels", {}),
    ("GET", "/admin/offers", {}),
    ("GET", "/admin/jobs", {}),
    ("GET", "/admin/settings", {}),
    ("POST", "/admin/recompute", {}),
    ("POST", "/admin/crosssells/pin", {"product": "kenya-aa", "other": "burr-grinder", "position": "1"}),
    ("POST", "/admin/crosssells/unpin", {"product": "kenya-aa", "other": "burr-grinder"}),
    ("POST", "/admin/crosssells/hide", {"product": "kenya-aa", "other": "burr-grinder"}),
    (
        "POST",
        "/admin/crosssells/unhide",
        {"product": "kenya-aa", "other": "burr-grinder", "scope": "kenya-aa"},
    ),
    ("POST", "/admin/crosssells/bundles", {"name": "Kit", "products": "kenya-aa,burr-grinder"}),
    ("POST", "/admin/crosssells/bundles/1/delete", {}),
    ("POST", "/admin/channels/spend", {}),
    ("POST", "/admin/settings/widget", {"holdout_share": "0.3"}),
    ("POST", "/admin/signout", {}),
    ("GET", "/admin/api/summary", {}),
    ("GET", "/admin/api/segments/champions", {}),
    ("GET", "/admin/api/segments/champions/customers", {}),
    ("GET", "/admin/api/segments/champions/transitions", {}),
    ("GET", "/admin/api/crosssells/kenya-aa", {}),
    ("GET", "/admin/api/channels", {}),
    ("GET", "/admin/api/offers", {}),
    ("GET", "/admin/api/jobs", {}),
    ("GET", "/admin/api/jobs/segments-1-x", {}),
    ("POST", "/admin/api/recompute", {}),
    ("GET", "/admin/api/settings", {}),
]
PUBLIC = {"/admin/signin", "/admin/signed-out"}


def _call(
    client: FlaskClient, method: str, path: str, form: dict[str, str], token: str | None = None
) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=form, headers=headers)


def test_the_route_list_covers_every_admin_route(app: Flask) -> None:
    listed = {(m, re.sub(r"/\d+/", "/<int:bundle_id>/", p)) for m, p, _ in ROUTES}
    listed = {(m, p.replace("/segments/champions", "/segments/<key>")) for m, p in listed}
    listed = {(m, p.replace("/crosssells/kenya-aa", "/crosssells/<product_id>")) for m, p in listed}
    listed = {(m, p.replace("/jobs/segments-1-x", "/jobs/<run_id>")) for m, p in listed}
    listed = {(m, p.replace("/settings/widget", "/settings/<section>")) for m, p in listed}
    rules = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and rule.rule not in PUBLIC
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert rules == listed


def _refusals(shop_domain: str) -> dict[str, tuple[str, int]]:
    now = int(time.time())
    return {
        "expired": (session_token(shop_domain, exp=now - 60, iat=now - 120, nbf=now - 120), 401),
        "forged": (session_token(shop_domain, secret="not-the-app-secret-0123456789abcd"), 401),
        "other app": (session_token(shop_domain, audience="another-api-key"), 401),
        "not yet valid": (session_token(shop_domain, nbf=now + 300), 401),
        "issuer is another shop": (session_token(shop_domain, iss="https://evil.myshopify.com/admin"), 401),
        "garbage": ("not.a.token", 401),
        "unknown shop": (session_token("stranger.myshopify.com"), 403),
    }


def test_every_route_refuses_missing_and_bad_tokens(
    app: Flask, database: Database, shops: AdminShops
) -> None:
    client = app.test_client()
    before = table_snapshot(database)
    problems = []
    for method, path, form in ROUTES:
        response = _call(client, method, path, form)
        if response.status_code != 401:  # type: ignore[attr-defined]
            problems.append(f"{method} {path} without a token: {response.status_code}")  # type: ignore[attr-defined]
        for what, (token, status) in _refusals(SHOPIFY_DOMAIN).items():
            response = _call(client, method, path, form, token)
            if response.status_code != status:  # type: ignore[attr-defined]
                problems.append(f"{method} {path} with a token {what}: {response.status_code}")  # type: ignore[attr-defined]
            if path.startswith("/admin/api/") and response.get_json().get("error") is None:  # type: ignore[attr-defined]
                problems.append(f"{method} {path} with a token {what}: no JSON error")
    assert problems == []
    assert table_snapshot(database) == before
    # and with a valid token, every route answers (none refuses)
    for method, path, form in ROUTES:
        status = _call(client, method, path, form, session_token()).status_code  # type: ignore[attr-defined]
        assert status not in (401, 403), f"{method} {path}: {status}"


def test_an_uninstalled_shop_is_refused(app: Flask, database: Database, shops: AdminShops) -> None:
    with database.session() as session:
        shop = session.get(Shop, shops.shop_id)
        assert shop is not None
        shop.is_active = False
    client = app.test_client()
    for method, path, form in ROUTES:
        response = _call(client, method, path, form, session_token())
        assert response.status_code == 403, (method, path)  # type: ignore[attr-defined]


def test_pages_answer_with_a_page_and_the_api_with_json(app: Flask, shops: AdminShops) -> None:
    client = app.test_client()
    page = client.get("/admin/")
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert "sign in" in page.get_data(as_text=True).lower()
    api = client.get("/admin/api/summary")
    assert api.status_code == 401 and api.get_json()["error"] == "sign_in_required"
    # A load from Shopify's admin without a token gets App Bridge to fetch one (no data).
    bounce = client.get(f"/admin/?shop={SHOPIFY_DOMAIN}&host=abc")
    body = bounce.get_data(as_text=True)
    assert bounce.status_code == 200 and 'id="bounce"' in body and "Champions" not in body
    assert (
        f"frame-ancestors https://{SHOPIFY_DOMAIN} https://admin.shopify.com"
        in bounce.headers["Content-Security-Policy"]
    )


def test_embedding_headers(app: Flask, shops: AdminShops) -> None:
    client = app.test_client()
    response = client.get(f"/admin/?shop={SHOPIFY_DOMAIN}&host=abc&id_token={session_token()}")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors https://{SHOPIFY_DOMAIN} https://admin.shopify.com;" in csp
    assert "script-src 'self' https://cdn.shopify.com;" in csp
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    head = body[: body.index("</head>")]
    assert '<meta name="shopify-api-key" content="test-api-key">' in head
    # App Bridge is the first script of the page.
    assert head.index('<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js">') == head.index(
        "<script"
    )


def test_a_token_shows_its_own_shop_whatever_the_query_says(
    app: Flask, database: Database, shops: AdminShops
) -> None:
    client = app.test_client()
    own = client.get(f"/admin/?shop={OTHER_DOMAIN}", headers={"Authorization": f"Bearer {session_token()}"})
    assert own.status_code == 200
    text = own.get_data(as_text=True)
    assert "Demo Coffee Co." in text and "Other Shop" not in text
    summary = client.get(
        "/admin/api/summary", headers={"Authorization": f"Bearer {session_token(OTHER_DOMAIN)}"}
    )
    with database.session() as session:
        other = session.get(Shop, shops.other_id)
        assert other is not None
    assert summary.get_json()["segments"]["customers"] == 80 - _without_orders(database, shops.other_id)


def _without_orders(database: Database, shop_id: int) -> int:
    from cvo_plugin.models import Customer, CustomerScore
    from cvo_plugin.services.insights.read import current_snapshot

    with database.session() as session:
        snapshot = current_snapshot(session, shop_id)
        assert snapshot is not None
        customers = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.shop_id == shop_id)
        )
        scored = session.scalar(
            select(func.count()).select_from(CustomerScore).where(CustomerScore.snapshot_id == snapshot.id)
        )
        return int(customers or 0) - int(scored or 0)


def test_another_shops_rows_cannot_be_reached(app: Flask, database: Database, shops: AdminShops) -> None:
    with database.session() as session:
        bundle = controls.save_bundle(session, shops.other_id, "Other kit", ["kenya-aa", "burr-grinder"])
        controls.pin(session, shops.other_id, "kenya-aa", "burr-grinder", 1)
        bundle_id = bundle.id
        run_id = session.scalars(select(JobRun.id).where(JobRun.shop_id == shops.other_id)).first()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {session_token()}"}
    assert client.get(f"/admin/api/jobs/{run_id}", headers=auth).status_code == 404
    deleted = client.post(f"/admin/crosssells/bundles/{bundle_id}/delete", headers=auth)
    assert deleted.status_code == 404
    unpinned = client.post(
        "/admin/crosssells/unpin", data={"product": "kenya-aa", "other": "burr-grinder"}, headers=auth
    )
    assert unpinned.status_code == 303
    with database.session() as session:
        assert session.get(CrosssellBundle, bundle_id) is not None
        assert (
            session.scalar(
                select(func.count()).select_from(CrosssellPin).where(CrosssellPin.shop_id == shops.other_id)
            )
            == 1
        )
    # the other shop's jobs are not listed, its runs not shown
    jobs = client.get("/admin/api/jobs", headers=auth).get_json()
    listed = {r["id"] for r in jobs["active"] + jobs["recent"]}
    with database.session() as session:
        own = set(session.scalars(select(JobRun.id).where(JobRun.shop_id == shops.shop_id)))
    assert listed and listed <= own
    # a product only the other shop has is not found
    with database.session() as session:
        from cvo_plugin.models import Product

        session.add(Product(shop_id=shops.other_id, platform_id="only-there", title="Only there"))
    assert client.get("/admin/api/crosssells/only-there", headers=auth).status_code == 404
    # the export holds the shop's own customers only
    export = client.get("/admin/segments/champions/export.csv", headers=auth).get_data(as_text=True)
    from cvo_plugin.models import Customer

    with database.session() as session:
        other_emails = set(session.scalars(select(Customer.email).where(Customer.shop_id == shops.other_id)))
        own_emails = set(session.scalars(select(Customer.email).where(Customer.shop_id == shops.shop_id)))
    exported = {line.split(",")[0] for line in export.splitlines()[1:]}
    assert exported and exported <= own_emails and not (exported & (other_emails - own_emails))


# --- cookie sessions (cvo admin-link) -------------------------------------------------------------


def _sign_in_with_link(client: FlaskClient, database: Database, shop_id: int) -> str:
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        token = create_admin_link(session, shop)
    page = client.get(f"/admin/signin?token={token}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert csrf is not None
    response = client.post("/admin/signin", data={"token": token, "csrf_token": csrf.group(1)})
    assert response.status_code == 303 and response.headers["Location"].startswith("/admin/")
    return token


def _csrf(client: FlaskClient) -> str:
    match = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/admin/settings").get_data(as_text=True)
    )
    assert match is not None
    return match.group(1)


def test_a_sign_in_link_works_once(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    token = _sign_in_with_link(client, database, shops.other_id)
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200 and "Other Shop" in dashboard.get_data(as_text=True)
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]
    assert dashboard.headers["X-Frame-Options"] == "DENY"
    assert "app-bridge.js" not in dashboard.get_data(as_text=True)
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only
    # the same link again is refused, in another browser too
    again = app.test_client()
    assert again.get(f"/admin/signin?token={token}").status_code == 401
    with database.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(AdminLink).where(AdminLink.used_at.is_(None)))
            == 0
        )


def test_expired_and_unknown_links_are_refused(app: Flask, database: Database, shops: AdminShops) -> None:
    with database.session() as session:
        shop = session.get(Shop, shops.shop_id)
        assert shop is not None
        old = create_admin_link(session, shop, now=datetime.now(UTC) - timedelta(hours=1))
    client = app.test_client()
    for token in (old, "made-up-token", ""):
        assert client.get(f"/admin/signin?token={token}").status_code == 401
        assert client.get("/admin/").status_code == 401


def test_cookie_forms_need_the_csrf_token(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    _sign_in_with_link(client, database, shops.shop_id)
    before = table_snapshot(database)
    for method, path, form in ROUTES:
        if method == "POST" and path != "/admin/signout":
            response = client.post(path, data=form)
            assert response.status_code == 403, path
    assert table_snapshot(database) == before
    saved = client.post("/admin/settings/widget", data={"holdout_share": "0.25", "csrf_token": _csrf(client)})
    assert saved.status_code == 303
    with database.session() as session:
        shop = session.get(Shop, shops.shop_id)
        assert shop is not None and shop.settings["widget"]["holdout_share"] == 0.25


def test_a_bad_token_is_refused_even_with_a_cookie(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    _sign_in_with_link(client, database, shops.shop_id)
    forged = session_token(secret="not-the-app-secret-0123456789abcd")
    assert client.get("/admin/", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_signing_out_ends_the_session(app: Flask, database: Database, shops: AdminShops) -> None:
    client = app.test_client()
    _sign_in_with_link(client, database, shops.shop_id)
    assert client.post("/admin/signout", data={"csrf_token": _csrf(client)}).status_code == 303
    assert client.get("/admin/").status_code == 401


def test_an_uninstalled_shops_cookie_no_longer_works(
    app: Flask, database: Database, shops: AdminShops
) -> None:
    client = app.test_client()
    _sign_in_with_link(client, database, shops.other_id)
    with database.session() as session:
        shop = session.get(Shop, shops.other_id)
        assert shop is not None
        shop.is_active = False
    assert client.get("/admin/").status_code == 401


@pytest.mark.parametrize("path", ["/admin/segments/no-such-segment", "/admin/api/segments/no-such-segment"])
def test_unknown_things_are_not_found(app: Flask, shops: AdminShops, path: str) -> None:
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {session_token()}"})
    assert response.status_code == 404
