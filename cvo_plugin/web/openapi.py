"""`GET /openapi.json`: an OpenAPI 3.0 description of the app's JSON APIs.

Each blueprint with JSON routes adds its operations to `OPERATIONS` (path -> method -> operation);
`tests/integration/security/test_openapi.py` fails when a JSON route of `app.url_map` is missing
here, and fuzzes every operation described (schemathesis) for 5xx answers and undeclared statuses.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__)

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    """A response whose body is the JSON error `{"error", "message"}`."""
    return _json(ERROR_REF, description)


def errors(*statuses: int) -> dict[str, Any]:
    """JSON error responses for `statuses` (with the refusals every route may give)."""
    text = {
        400: "Malformed request",
        401: "Missing or invalid credentials",
        403: "Credentials valid but not allowed",
        404: "Unknown resource",
        405: "Method not allowed",
        413: "Request body too large",
        422: "A value cannot be stored (a control character, a number out of range)",
        503: "A service the app needs is unavailable",
    }
    return {str(s): error(text.get(s, "Error")) for s in sorted({*statuses, 413, 503})}


JSON_OBJECT_BODY = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
HMAC_HEADER = {"in": "header", "required": False, "schema": {"type": "string"}}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "database", "redis"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
                "database": {"type": "string"},
                "redis": {"type": "string"},
            },
        },
    },
    "securitySchemes": {
        "shopifyWebhookHmac": {"type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256"},
        "wooWebhookSignature": {"type": "apiKey", "in": "header", "name": "X-WC-Webhook-Signature"},
        "sessionToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
    },
}

OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/healthz": {
        "get": {
            "summary": "State of the database and Redis, for load balancers",
            "security": [],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Health"}, "The database answers"),
                "503": _json({"$ref": "#/components/schemas/Health"}, "The database does not answer"),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
        }
    },
    "/shopify/webhooks": {
        "post": {
            "summary": "Every Shopify webhook topic, compliance topics included",
            "security": [{"shopifyWebhookHmac": []}],
            "parameters": [
                {"name": "X-Shopify-Topic", **HMAC_HEADER},
                {"name": "X-Shopify-Shop-Domain", **HMAC_HEADER},
                {"name": "X-Shopify-Webhook-Id", **HMAC_HEADER},
            ],
            "requestBody": JSON_OBJECT_BODY,
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"status": {"type": "string"}}}, "Recorded, or ignored"
                ),
                **errors(400, 401, 422),
            },
        }
    },
    "/shopify/token-exchange": {
        "post": {
            "summary": "The embedded admin's first load: the session token installs the shop",
            "security": [{"sessionToken": []}],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["shop", "installed", "new"],
                        "properties": {
                            "shop": {"type": "string"},
                            "installed": {"type": "boolean"},
                            "new": {"type": "boolean"},
                            "order_history_limited": {"type": "boolean"},
                            "notice": {"type": "string", "nullable": True},
                        },
                    },
                    "Installed",
                ),
                **errors(401, 403),
            },
        }
    },
    "/woocommerce/webhooks/{shop_key}": {
        "post": {
            "summary": "Every WooCommerce webhook topic (and the creation ping) of one store",
            "security": [{"wooWebhookSignature": []}],
            "parameters": [
                {"name": "shop_key", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "X-WC-Webhook-Topic", **HMAC_HEADER},
                {"name": "X-WC-Webhook-Delivery-ID", **HMAC_HEADER},
            ],
            "requestBody": JSON_OBJECT_BODY,
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"status": {"type": "string"}}},
                    "Applied, unchanged, duplicate, ignored or ping",
                ),
                **errors(400, 401, 404, 422),
            },
        }
    },
    "/woocommerce/status": {
        "get": {
            "summary": "The signed-in store's sync progress",
            "security": [{"sessionCookie": []}],
            "responses": {"200": _json({"type": "object"}, "Progress"), **errors(401)},
        }
    },
}


# --- the admin's JSON (issue7: cvo_plugin/web/admin/api.py, docs/admin.md) ---------------------

ADMIN_SECURITY = [{"sessionToken": []}, {"sessionCookie": []}]
ANY_OBJECT = {"type": "object"}


def _admin_get(summary: str, *params: dict[str, Any], missing: bool = False) -> dict[str, Any]:
    """A GET of the admin API: the shop's session token (or cookie session), JSON back."""
    statuses = (400, 401, 403, 404) if missing or params else (401, 403)
    return {
        "get": {
            "summary": summary,
            "security": ADMIN_SECURITY,
            "parameters": list(params),
            "responses": {"200": _json(ANY_OBJECT, "The data"), **errors(*statuses)},
        }
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


OPERATIONS.update(
    {
        "/admin/api/summary": _admin_get("The dashboard: segments, RFM grid, CLV by segment", missing=True),
        "/admin/api/segments/{key}": _admin_get("A segment's ideal-customer profile", _path("key")),
        "/admin/api/segments/{key}/customers": _admin_get(
            "One page of a segment's customers",
            _path("key"),
            _query("page", {"type": "integer"}),
            _query("per_page", {"type": "integer"}),
            _query("q", {"type": "string"}),
            _query("sort", {"type": "string"}),
        ),
        "/admin/api/segments/{key}/transitions": _admin_get("Moves into and out of a segment", _path("key")),
        "/admin/api/crosssells/{product_id}": _admin_get("A product's add-ons", _path("product_id")),
        "/admin/api/channels": _admin_get("CAC, CLV and LTV:CAC per channel"),
        "/admin/api/offers": _admin_get("First-purchase products", missing=True),
        "/admin/api/jobs": _admin_get("Active runs, recent runs, failed runs, syncs and imports"),
        "/admin/api/jobs/{run_id}": _admin_get("One of the shop's runs", _path("run_id")),
        "/admin/api/settings": _admin_get("Analytics, cross-sell and storefront settings"),
        "/admin/api/recompute": {
            "post": {
                "summary": "Start every computation (joins a run already going)",
                "security": ADMIN_SECURITY,
                "responses": {"202": _json(ANY_OBJECT, "The runs started or joined"), **errors(401, 403)},
            }
        },
    }
)


# --- the storefront widget (issue8: cvo_plugin/web/widget.py, docs/widget.md) ------------------

ANON_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}
_WIDGET_PARAMS = [
    {**_query("product_id", {"type": "string", "pattern": "^[^\\x00-\\x1f]{1,64}$"}), "required": True},
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 10}),
    _query("anon", ANON_ID),
]
_RECOMMENDATIONS_OK = {
    "200": _json(ANY_OBJECT, "The block's items (an empty list when there is nothing to show)"),
    "304": {"description": "Not modified (If-None-Match)"},
}
_EVENTS_OK = {"202": _json(ANY_OBJECT, "Received, stored, duplicates, dropped")}
EVENT = {
    "type": "object",
    "required": ["kind", "product"],
    "properties": {
        "kind": {"enum": ["impression", "click", "add_to_cart"]},
        "placement": {"enum": ["product", "cart"]},
        "product": {"type": "string", "minLength": 1, "maxLength": 64},
        "source": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}
EVENTS = {
    "type": "object",
    "required": ["anon", "events"],
    "properties": {
        "anon": ANON_ID,
        "events": {"type": "array", "minItems": 1, "maxItems": 50, "items": EVENT},
    },
}
_EVENTS_BODY = {"required": True, "content": {"application/json": {"schema": EVENTS}}}
WIDGET_KEY = _query("shop", {"type": "string"})
PROXY_PARAMS = [
    _query("shop", {"type": "string"}),
    _query("timestamp", {"type": "string"}),
    _query("path_prefix", {"type": "string"}),
    _query("signature", {"type": "string"}),
]

OPERATIONS.update(
    {
        "/widget/v1/recommendations": {
            "get": {
                "summary": "A product's frequently-bought-together block, or a cart's add-ons",
                "security": [],
                "parameters": [WIDGET_KEY, *_WIDGET_PARAMS],
                "responses": {**_RECOMMENDATIONS_OK, **errors(400, 403, 404, 422, 429)},
            }
        },
        "/widget/v1/events": {
            "post": {
                "summary": "The widget's impressions, clicks and add-to-carts",
                "security": [],
                "parameters": [WIDGET_KEY],
                "requestBody": _EVENTS_BODY,
                "responses": {**_EVENTS_OK, **errors(400, 403, 404, 422, 429)},
            }
        },
        "/proxy/recommendations": {
            "get": {
                "summary": "The recommendations behind Shopify's app proxy (signed query)",
                "security": [],
                "parameters": [*PROXY_PARAMS, *_WIDGET_PARAMS],
                "responses": {**_RECOMMENDATIONS_OK, **errors(400, 401, 404, 422, 429)},
            }
        },
        "/proxy/events": {
            "post": {
                "summary": "The widget's events behind Shopify's app proxy (signed query)",
                "security": [],
                "parameters": PROXY_PARAMS,
                "requestBody": _EVENTS_BODY,
                "responses": {**_EVENTS_OK, **errors(400, 401, 404, 422, 429)},
            }
        },
    }
)


def document() -> dict[str, Any]:
    """The OpenAPI document of every JSON operation in `OPERATIONS`."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CVO plugin backend",
            "version": "1",
            "description": 'Errors are JSON `{"error": code, "message": what to do}` with a fitting status.',
        },
        "paths": OPERATIONS,
        "components": COMPONENTS,
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI description of the JSON APIs."""
    response = jsonify(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
