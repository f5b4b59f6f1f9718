"""The storefront widget's API: recommendations, events and the script itself.

Served two ways:

- **directly** under `/widget/v1/...`, the shop named by its public key (`shop=pk_...`); a
  browser request from another origin than the shop's own storefront is refused, and the
  shop's origins get CORS headers;
- **behind Shopify's app proxy** under `/proxy/...` (the storefront's `/apps/cvo/...`): the
  `signature` of the query is checked and a timestamp older than 90 seconds refused; the shop is
  the signed `shop` domain. Requests arrive from Shopify's servers, so only the per-shop
  limit applies there.

Answers are cached (see `services.widget.cache`) with an ETag (a matching `If-None-Match` gets
304) and `Cache-Control`. Per-IP and per-shop limits answer 429 with `Retry-After`.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from redis import Redis
from werkzeug.datastructures import MultiDict

from cvo_plugin.config import Settings
from cvo_plugin.db import get_session
from cvo_plugin.runtime import get_settings
from cvo_plugin.security import SignatureError, sanitize_shop_domain, verify_proxy_query
from cvo_plugin.services.crosssell.read import MAX_CART, UnknownProductError
from cvo_plugin.services.widget.cache import Cached, RedisGuard, ResponseCache, etag_of
from cvo_plugin.services.widget.directory import MAX_ITEMS, ShopDirectory, WidgetShop
from cvo_plugin.services.widget.events import EventError, record_events
from cvo_plugin.services.widget.holdout import HOLDOUT, arm_of, valid_anon_id
from cvo_plugin.services.widget.payload import (
    PLACEMENT_CART,
    PLACEMENT_PRODUCT,
    cache_key,
    empty_body,
    recommendations_body,
)
from cvo_plugin.services.widget.ratelimit import Limit, RateLimiter
from cvo_plugin.web.errors import ApiError, error_response

bp = Blueprint("widget", __name__)

SCRIPT_PATH = Path(__file__).resolve().parent.parent / "static" / "widget" / "widget.js"
API_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
SCRIPT_CACHE_CONTROL = "public, max-age=3600"
MAX_EVENT_BYTES = 32 * 1024
REDIS_TIMEOUT_S = 0.25


@dataclass
class WidgetRuntime:
    """What the widget routes keep per app: shops, the response cache, limits, the script."""

    directory: ShopDirectory
    cache: ResponseCache
    limiter: RateLimiter
    script: bytes
    script_gzip: bytes
    script_etag: str


def init_app(app: Flask) -> None:
    """Build the widget's runtime (its Redis guard, caches, limiter and script) and register routes."""
    settings: Settings = app.extensions["cvo"]["settings"]
    database = app.extensions["cvo"]["db"]
    # Its own client with short timeouts: a hung Redis must cost a request milliseconds, not
    # seconds, before the guard sets it aside.
    redis = (
        Redis.from_url(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        if settings.redis_url
        else None
    )
    guard = RedisGuard(redis)
    script = SCRIPT_PATH.read_bytes()
    app.extensions["cvo"]["widget"] = WidgetRuntime(
        directory=ShopDirectory(database.sessionmaker),
        cache=ResponseCache(guard),
        limiter=RateLimiter(guard),
        script=script,
        script_gzip=gzip.compress(script, 9, mtime=0),
        script_etag=etag_of(script),
    )
    app.register_blueprint(bp)
    from cvo_plugin.web.widget_fast import WidgetFastPath

    app.wsgi_app = WidgetFastPath(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions["cvo"]["widget"], settings, bool(app.config.get("SESSION_COOKIE_SECURE"))
    )


def runtime() -> WidgetRuntime:
    return current_app.extensions["cvo"]["widget"]


# --- helpers ------------------------------------------------------------------------------------


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/json")


def _error(code: str, message: str, status: int) -> ApiError:
    return ApiError(code, message, status)


class RateLimited(ApiError):
    """429 with the seconds to wait."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__("rate_limited", message, 429)
        self.retry_after_s = retry_after_s


@bp.errorhandler(RateLimited)
def _rate_limited(exc: RateLimited) -> Response:
    response = error_response(exc.code, exc.message, exc.status)
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _limit(shop: WidgetShop, client_ip: str | None) -> None:
    settings = get_settings()
    limits = [Limit("shop", str(shop.id), settings.widget_rate_limit_shop)]
    if client_ip:
        limits.insert(0, Limit("ip", client_ip, settings.widget_rate_limit_ip))
    verdict = runtime().limiter.check(limits)
    if not verdict.allowed:
        who = "address" if verdict.scope == "ip" else "shop"
        raise RateLimited(
            f"Too many widget requests from this {who}; try again in {verdict.retry_after_s} seconds.",
            verdict.retry_after_s,
        )


def _product_ids(args: Mapping[str, str]) -> tuple[str, list[str]]:
    cart = args.get("cart")
    if cart is not None:
        ids = [p.strip() for p in cart.split(",") if p.strip()]
        if not 1 <= len(ids) <= MAX_CART or any(len(p) > 64 for p in ids):
            raise _error(
                "invalid_cart", f"`cart` must list 1 to {MAX_CART} product ids, comma-separated.", 400
            )
        return PLACEMENT_CART, ids
    product = (args.get("product_id") or "").strip()
    if not product or len(product) > 64:
        raise _error("missing_product", "Give `product_id` (a product page) or `cart=ID,ID` (a cart).", 400)
    return PLACEMENT_PRODUCT, [product]


def _items_limit(args: Mapping[str, str], shop: WidgetShop) -> int:
    value = args.get("limit")
    if value is None or value == "":
        return shop.default_items
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ITEMS:
        raise _error("invalid_limit", f"`limit` must be a whole number from 1 to {MAX_ITEMS}.", 400)
    return number


def _conditional(body: bytes, etag: str, cache_control: str, mimetype: str = "application/json") -> Response:
    if request.if_none_match.contains(etag.strip('"')):
        response = Response(status=304)
    else:
        response = Response(body, mimetype=mimetype)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    return response


@dataclass(frozen=True)
class Lookup:
    """A recommendations request checked and looked up: the answer when it is known without the
    database (widget off, holdout, cached), else where to build and store it."""

    found: Cached | None
    key: str
    placement: str
    product_ids: list[str]
    limit: int


def lookup(rt: WidgetRuntime, shop: WidgetShop, args: Mapping[str, str]) -> Lookup:
    """Check a request's parameters (`ApiError`) and find its answer without the database."""
    placement, product_ids = _product_ids(args)
    limit = _items_limit(args, shop)
    anon = args.get("anon")
    key = cache_key(shop, placement, product_ids, limit)
    if not shop.settings.enabled:
        body = empty_body(shop, placement, "exposed", enabled=False)
        return Lookup(Cached(etag_of(body), body), key, placement, product_ids, limit)
    if valid_anon_id(anon) and arm_of(shop.public_key, anon or "", shop.settings.holdout_share) == HOLDOUT:
        body = empty_body(shop, placement, HOLDOUT, enabled=True)
        return Lookup(Cached(etag_of(body), body), key, placement, product_ids, limit)
    return Lookup(rt.cache.get(key), key, placement, product_ids, limit)


def _recommendations(shop: WidgetShop, args: MultiDict[str, str], client_ip: str | None) -> Response:
    _limit(shop, client_ip)
    rt = runtime()
    found = lookup(rt, shop, args)
    answer = found.found
    if answer is None:
        try:
            body = recommendations_body(get_session(), shop, found.placement, found.product_ids, found.limit)
        except UnknownProductError as exc:
            raise _error("unknown_product", str(exc).capitalize() + ".", 404) from None
        answer = rt.cache.put(found.key, body)
    return _conditional(answer.body, answer.etag, API_CACHE_CONTROL)


def _events(shop: WidgetShop, client_ip: str | None) -> Response:
    _limit(shop, client_ip)
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        raise _error("payload_too_large", f"Send at most {MAX_EVENT_BYTES} bytes of events at once.", 413)
    try:
        payload = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError:
        raise _error(
            "invalid_json", "The body must be JSON (sendBeacon with a text/plain body).", 400
        ) from None
    session = get_session()
    try:
        receipt = record_events(session, shop, payload)
    except EventError as exc:
        raise _error("invalid_events", str(exc), 400) from None
    session.commit()
    return _json(
        orjson.dumps(
            {
                "received": receipt.received,
                "stored": receipt.stored,
                "duplicates": receipt.duplicates,
                "dropped": receipt.dropped,
            }
        ),
        202,
    )


def _script() -> Response:
    rt = runtime()
    gzipped = "gzip" in (request.headers.get("Accept-Encoding") or "")
    response = _conditional(
        rt.script_gzip if gzipped else rt.script,
        rt.script_etag,
        SCRIPT_CACHE_CONTROL,
        "application/javascript",
    )
    if gzipped and response.status_code == 200:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- direct routes ------------------------------------------------------------------------------


def _direct_shop() -> WidgetShop:
    """The shop of a direct request (its public key), with the request's origin checked."""
    key = request.args.get("shop") or ""
    if not key.startswith("pk_") or len(key) > 64:
        raise _error("missing_shop", "Give the shop's public widget key as `shop=pk_...`.", 400)
    shop = runtime().directory.by_key(key)
    if shop is None or not shop.active:
        raise _error("unknown_shop", "No shop has this widget key; copy it again from the app.", 404)
    origin = request.headers.get("Origin")
    if origin and origin.lower() not in shop.origins and origin != request.host_url.rstrip("/"):
        raise _error("origin_not_allowed", "This page's origin is not one of the shop's storefronts.", 403)
    return shop


def _client_ip() -> str | None:
    return request.remote_addr


@bp.after_request
def _cors(response: Response) -> Response:
    if request.path.startswith("/widget/") and not request.path.endswith(".js"):
        response.headers["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        if origin and response.status_code != 403:
            response.headers["Access-Control-Allow-Origin"] = origin
    return response


@bp.get("/widget/v1/recommendations")
def recommendations() -> Response:
    """A product's "frequently bought together" block (`product_id`) or a cart's add-ons (`cart`)."""
    shop = _direct_shop()
    return _recommendations(shop, request.args, _client_ip())


@bp.route("/widget/v1/events", methods=["POST", "OPTIONS"])
def events() -> Response:
    """The widget's beacons: impressions, clicks and add-to-carts."""
    if request.method == "OPTIONS":
        _direct_shop()
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
        return response
    return _events(_direct_shop(), _client_ip())


@bp.get("/widget/v1/widget.js")
def widget_script() -> Response:
    """The widget script (no dependencies)."""
    return _script()


# --- Shopify app proxy --------------------------------------------------------------------------


def _proxy_shop() -> WidgetShop:
    """The shop of a request through Shopify's app proxy, after its signature is checked."""
    settings = get_settings()
    if not settings.shopify_api_secret:
        raise _error("shopify_not_configured", "Shopify is not configured on this server.", 503)
    try:
        verify_proxy_query(dict(request.args.lists()), settings.shopify_api_secret)
    except SignatureError as exc:
        raise _error(
            "invalid_signature", f"The app proxy request is not signed by Shopify ({exc}).", 401
        ) from None
    domain = sanitize_shop_domain(request.args.get("shop"))
    if domain is None:
        raise _error("invalid_shop", "`shop` must be a *.myshopify.com domain.", 400)
    shop = runtime().directory.by_domain(domain, "shopify")
    if shop is None or not shop.active:
        raise _error("unknown_shop", "This shop has not installed the app.", 404)
    return shop


@bp.get("/proxy/recommendations")
def proxy_recommendations() -> Response:
    return _recommendations(_proxy_shop(), request.args, None)


@bp.post("/proxy/events")
def proxy_events() -> Response:
    return _events(_proxy_shop(), None)


@bp.get("/proxy/widget.js")
def proxy_script() -> Response:
    _proxy_shop()
    return _script()
