"""The app publishes an OpenAPI description of its JSON APIs at `/openapi.json`; every JSON route
of `app.url_map` is in it, and schemathesis fuzzes every operation it describes: no 5xx, only
declared statuses, JSON bodies of the declared shape (errors as `{"error", "message"}`)."""

from __future__ import annotations

import re

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from tests.integration.security.conftest import Secured

# Routes that are not JSON APIs (pages, redirects, files), each with what it is instead.
NOT_JSON: dict[str, str] = {
    "static": "static files",
    "shopify.install": "redirects the merchant's browser to Shopify",
    "shopify.callback": "redirects the merchant's browser back into the Shopify admin",
    "woocommerce.connect": "an HTML form",
    "woocommerce.connected": "an HTML page",
}
EXAMPLES_PER_OPERATION = 40


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_json_route_is_described(app: Flask) -> None:
    document = app.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_JSON:
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


def _fuzz(operation: object, name: str, tried: dict[str, int]) -> None:
    tried[name] = 0

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: object) -> None:
        tried[name] += 1
        response = case.call()  # type: ignore[attr-defined]
        assert response.status_code < 500, (name, response.status_code, response.text[:200])
        case.validate_response(response)  # type: ignore[attr-defined]

    check()


def test_schemathesis_finds_no_server_error_nor_undeclared_answer(secured: Secured) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", secured.app)
    tried: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        _fuzz(operation, f"{operation.method.upper()} {operation.path}", tried)
    assert len(tried) >= 5 and all(n > 0 for n in tried.values()), tried
    print(f"\nschemathesis: {sum(tried.values())} requests over {len(tried)} operations: {tried}")
