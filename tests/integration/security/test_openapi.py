"""The app publishes an OpenAPI description of its JSON APIs at `/openapi.json`; every JSON route
of `app.url_map` is in it, and schemathesis fuzzes every operation it describes: no 5xx, only
declared statuses, JSON bodies of the declared shape (errors as `{"error", "message"}`)."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.integration.security.conftest import Secured
from tests.integration.security.credentials import session_cookie, session_token, signed_proxy_query

# Routes that are not JSON APIs (pages, redirects, files), each with what it is instead.
NOT_JSON: dict[str, str] = {
    "static": "static files",
    "shopify.install": "redirects the merchant's browser to Shopify",
    "shopify.callback": "redirects the merchant's browser back into the Shopify admin",
    "woocommerce.connect": "an HTML form",
    "woocommerce.connected": "an HTML page",
    "widget.widget_script": "the storefront script (JavaScript)",
    "widget.proxy_script": "the storefront script behind the app proxy (JavaScript)",
}
# Whole families of routes that are pages (their JSON lives elsewhere), with the reason.
NOT_JSON_PREFIXES: dict[str, str] = {
    "admin.": "the admin's HTML pages and forms (its JSON is under /admin/api/)",
    "storefront.": "the demo storefront (outside production only); its cart.js mimics Shopify's Ajax API",
}
EXAMPLES_PER_OPERATION = 15


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_json_route_is_described(app: Flask) -> None:
    document = app.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_JSON or rule.endpoint.startswith(tuple(NOT_JSON_PREFIXES)):
            continue
        path = document["paths"].get(openapi_path(rule.rule), {})
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in path:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "add these to cvo_plugin/web/openapi.py (or NOT_JSON with a reason): " + ", ".join(
        missing
    )
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(NOT_JSON) <= endpoints, "NOT_JSON names a route that no longer exists"


def _fuzz(operation: object, name: str, tried: dict[str, int], secured: Secured) -> None:
    tried[name] = 0

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        tried[name] += 1
        headers = dict(case.headers or {})
        if case.path.startswith("/admin/api/"):  # signed in, so the parameters are reached
            headers["Authorization"] = f"Bearer {session_token(secured.tenants.shopify_a.domain)}"
        elif case.path == "/woocommerce/status":
            headers["Cookie"] = f"session={session_cookie(secured.app, secured.tenants.woo_a.id)}"
        elif case.path.startswith("/widget/v1/"):  # the shop's real key, so the rest is reached
            case.query = {**(case.query or {}), "shop": secured.tenants.shopify_a.public_key}
        elif case.path.startswith("/proxy/"):  # signed as Shopify signs it
            case.query = signed_proxy_query(case.query or {}, secured.tenants.shopify_a.domain)
        case.headers = headers
        response = case.call()
        assert response.status_code < 500, (name, response.status_code, response.text[:200])
        # ignored_auth: the credentials are ours and genuine (their refusals: test_access.py).
        excluded = [ignored_auth]
        if case.path.endswith("/events"):
            # beacons must be valid UTF-8 without NUL characters, which JSON Schema cannot say;
            # schemathesis sends lone surrogates and NULs in schema-valid bodies (refused, 4xx)
            excluded.append(positive_data_acceptance)
        case.validate_response(response, excluded_checks=excluded)

    check()


def test_schemathesis_finds_no_server_error_nor_undeclared_answer(secured: Secured) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", secured.app)
    tried: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        _fuzz(operation, f"{operation.method.upper()} {operation.path}", tried, secured)
    assert len(tried) >= 5 and all(n > 0 for n in tried.values()), tried
    print(f"\nschemathesis: {sum(tried.values())} requests over {len(tried)} operations: {tried}")
