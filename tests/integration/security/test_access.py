"""Every route of `app.url_map` x (no, forged, expired, another shop's credentials): all refused.

Routes come from the URL map itself, so a route added later is in the matrix without editing
this file: it either appears in `PUBLIC` with the reason it needs no credentials, or it must
refuse all four cases (scheme by endpoint or prefix in `credentials.py`; the generic scheme
tries the admin's cookie session and the Shopify session token). A refusal changes nothing in
the database, is never a 5xx, and carries the security headers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.conftest import table_snapshot
from tests.integration.security.conftest import Secured
from tests.integration.security.credentials import CASES, CSRF, VALID, fill_path, scheme_for, session_cookie
from tests.integration.security.scan import shop_snapshot

# Routes anyone may call, each with the reason. Anything else must refuse bad credentials.
PUBLIC: dict[str, str] = {
    "health.healthz": "load balancers probe it without credentials; it says only ok/unavailable per service",
    "openapi.openapi_json": "the description of the JSON APIs; holds no data",
    "static": "Flask's static files (stylesheets, scripts): public by nature, no data",
    "admin.signin": (
        "the one-time sign-in link: the token in the URL is the credential "
        "(missing, forged, expired and used links: test_sign_in_links_are_checked)"
    ),
    "admin.signin_confirm": "redeems the one-time link in its form (as admin.signin), CSRF token needed",
    "admin.signout": "ends the caller's own cookie session; SameSite=Lax keeps other sites' forms out",
    "admin.signed_out": "a static page that says the session ended; no data",
    "widget.widget_script": "the storefront script: the same static file for every shop, no data",
    "woocommerce.connect": (
        "the form where a store owner types the store's API keys: those keys are the credentials, "
        "checked against the store (its POST needs the session's CSRF token: test_connect_form_needs_csrf)"
    ),
}

# Whole families of public routes, with the reason.
PUBLIC_PREFIXES: dict[str, str] = {
    "storefront.": (
        "the demo storefront of `cvo demo` (the demo shop's public catalogue and a session cart); "
        "served outside production only: test_the_demo_storefront_is_off_in_production"
    ),
}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Routes whose genuine request goes on to call the platform (no positive control here; their
# success paths are tested with the stand-ins in tests/integration/shopify).
CALLS_THE_PLATFORM = {"shopify.callback"}


def secured_rules(app: Flask) -> list[tuple[Rule, str]]:
    """(rule, method) of every route that needs credentials."""
    pairs = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in PUBLIC or rule.endpoint.startswith(tuple(PUBLIC_PREFIXES)):
            continue
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            pairs.append((rule, method))
    return pairs


def assert_security_headers(response: Any, where: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy"), where
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors" in csp and "default-src" in csp, where
    if "frame-ancestors 'none'" in csp:
        assert headers.get("X-Frame-Options") == "DENY", where


def send(app: Flask, rule: Rule, method: str, request: dict[str, Any]) -> Any:
    """One request with a fresh cookie jar."""
    request = dict(request)
    path = request.pop("path", None) or fill_path(rule, {})
    client = app.test_client()
    for name, value in (request.pop("cookies", None) or {}).items():
        client.set_cookie(name, value)
    return client.open(path, method=method, **request)


def test_public_routes_are_listed_with_a_reason_and_exist(app: Flask) -> None:
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    for prefix in PUBLIC_PREFIXES:
        assert any(e.startswith(prefix) for e in endpoints), f"no route starts with {prefix} any more"
    for endpoint, reason in PUBLIC.items():
        assert endpoint in endpoints, f"{endpoint} is allow-listed but no longer exists"
        assert len(reason) > 20
    assert len(secured_rules(app)) >= 7  # the matrix is not empty


def test_every_route_refuses_missing_forged_expired_and_other_shop_credentials(secured: Secured) -> None:
    app, database = secured.app, secured.database
    shops_a = [secured.tenants.shopify_a.id, secured.tenants.woo_a.id]
    before = shop_snapshot(database, shops_a)
    failures = []
    refusals: Counter[str] = Counter()
    sent = 0
    for rule, method in secured_rules(app):
        scheme = scheme_for(rule)(app, secured.tenants)
        for case in CASES:
            refused = True
            for request in scheme.requests(rule, method, case):
                response = send(app, rule, method, request)
                sent += 1
                where = f"{method} {rule.rule} [{scheme.name}: {case}] -> {response.status_code}"
                assert response.status_code < 500, where
                assert_security_headers(response, where)
                if not scheme.is_refused(response, case):
                    failures.append(f"{where}: {response.get_data(as_text=True)[:200]}")
                    refused = False
                elif response.status_code >= 400 and response.is_json:
                    body = response.get_json()
                    assert set(body) >= {"error", "message"}, where
            refusals[f"{rule.rule} {method}"] += refused
    assert not failures, "accepted:\n" + "\n".join(failures)
    assert shop_snapshot(database, shops_a) == before  # nothing of shop A changed
    total = sum(refusals.values())
    assert total == len(secured_rules(app)) * len(CASES)
    pairs = len(secured_rules(app))
    print(f"\naccess matrix: {pairs} route-methods x {len(CASES)} cases = {total} refused ({sent} requests)")


def test_genuine_credentials_are_accepted_by_every_scheme(secured: Secured) -> None:
    """The positive control: the refusals above come from the credentials, not a bad request."""
    app = secured.app
    checked = 0
    for rule, method in secured_rules(app):
        if rule.endpoint in CALLS_THE_PLATFORM:
            continue
        scheme = scheme_for(rule)(app, secured.tenants)
        for request in scheme.requests(rule, method, VALID):
            response = send(app, rule, method, request)
            where = f"{method} {rule.rule} [{scheme.name}] -> {response.status_code}"
            assert response.status_code not in (401, 403) and response.status_code < 500, where
            if response.status_code in (301, 302, 303, 307):
                location = response.headers["Location"]
                assert "connect" not in location and "signin" not in location, where
            if response.status_code == 200 and response.mimetype == "text/html" and "/admin" in rule.rule:
                body = response.get_data(as_text=True)
                assert secured.tenants.shopify_a.private_name in body, where  # the admin of shop A
        checked += 1
    assert checked >= len(secured_rules(app)) - len(CALLS_THE_PLATFORM)


def test_connect_form_needs_csrf(secured: Secured) -> None:
    app, database = secured.app, secured.database
    before = table_snapshot(database)
    client = app.test_client()
    client.set_cookie("session", session_cookie(app, secured.tenants.woo_a.id))
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post(
            "/woocommerce/connect", data={"url": "https://x.example", "key": "ck_x", "secret": "cs", **form}
        )
        assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    assert table_snapshot(database) == before


@pytest.mark.parametrize("path", ["/no/such/page", "/healthz", "/openapi.json", "/woocommerce/connect"])
def test_security_headers_on_public_pages_and_errors(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert_security_headers(response, path)


def test_strict_transport_security_behind_https(database_url: str, tmp_path: Any) -> None:
    from cvo_plugin import create_app
    from tests.conftest import app_overrides

    app = create_app(app_overrides(database_url, tmp_path / "i", APP_URL="https://cvo.example"))
    try:
        for rule in app.url_map.iter_rules():
            if "GET" in (rule.methods or ()) and "<" not in rule.rule:
                response = app.test_client().get(rule.rule)
                assert "max-age=" in response.headers.get("Strict-Transport-Security", ""), rule.rule
                assert_security_headers(response, rule.rule)
    finally:
        app.extensions["cvo"]["db"].dispose()


def test_sign_in_links_are_checked(secured: Secured) -> None:
    """The one-time link of `cvo admin-link`: missing, forged, expired or used links are refused."""
    from datetime import UTC, datetime, timedelta

    from cvo_plugin.models import Shop
    from cvo_plugin.services.admin.links import create_admin_link

    database, a = secured.database, secured.tenants.shopify_a
    with database.session() as session:
        shop = session.get(Shop, a.id)
        expired = create_admin_link(session, shop, now=datetime.now(UTC) - timedelta(hours=1))  # type: ignore[arg-type]
        valid = create_admin_link(session, shop)  # type: ignore[arg-type]
    before = shop_snapshot(database, [a.id])
    client = secured.app.test_client()
    for token in ("", "forged-" + valid[7:], expired):
        response = client.get("/admin/signin", query_string={"token": token})
        assert response.status_code == 401  # a page for /admin/... (JSON under /admin/api/)
        client.set_cookie("session", session_cookie(secured.app, secured.tenants.shopify_b.id))
        response = client.post("/admin/signin", data={"token": token, "csrf_token": CSRF})
        assert response.status_code == 401
    assert shop_snapshot(database, [a.id]) == before
    page = client.get("/admin/signin", query_string={"token": valid})
    assert page.status_code == 200 and a.private_name in page.get_data(as_text=True)
    used = client.post("/admin/signin", data={"token": valid, "csrf_token": CSRF})
    assert used.status_code == 303
    again = secured.app.test_client().get("/admin/signin", query_string={"token": valid})
    assert again.status_code == 401  # used once


def test_the_demo_storefront_is_off_in_production(database_url: str, tmp_path: Any) -> None:
    from cvo_plugin import create_app
    from tests.conftest import app_overrides

    app = create_app(app_overrides(database_url, tmp_path / "i", CVO_ENV="production"))
    try:
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith(tuple(PUBLIC_PREFIXES))]
        assert rules
        for rule in rules:
            for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
                response = app.test_client().open(fill_path(rule, {}), method=method)
                assert response.status_code == 404, (method, rule.rule, response.status_code)
    finally:
        app.extensions["cvo"]["db"].dispose()
