"""The demo storefront of `cvo demo`: a product page and a cart page like a theme's.

The pages load the real widget script against the demo shop, and the cart answers Shopify's
Ajax cart API (`/demo/store/cart.js`, `cart/add.js`, `cart/update.js`; carts are kept in the
process by a cart-token cookie, like Shopify's). Served outside production only.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from cvo_plugin.db import get_session
from cvo_plugin.models import Shop
from cvo_plugin.runtime import get_settings
from cvo_plugin.services import storefront
from cvo_plugin.services.demo import DEMO_SHOP
from cvo_plugin.services.shops import find_shop
from cvo_plugin.web.errors import ApiError

bp = Blueprint("storefront", __name__, url_prefix="/demo/store")

CART_COOKIE = "cart"
MAX_ATTRIBUTES = 20


STOREFRONT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@bp.before_request
def _outside_production() -> None:
    if get_settings().is_production:
        abort(404)


@bp.after_request
def _theme_csp(response: Response) -> Response:
    # A theme's pages allow inline styles (the widget adds its small stylesheet).
    response.headers["Content-Security-Policy"] = STOREFRONT_CSP
    return response


def _shop() -> Shop:
    shop = find_shop(get_session(), request.args.get("shop") or DEMO_SHOP)
    if shop is None:
        raise ApiError("no_demo_shop", "Run `cvo demo` first: there is no demo shop yet.", 404)
    return shop


def _carts() -> storefront.DemoCarts:
    return current_app.extensions["cvo"].setdefault("demo_carts", storefront.DemoCarts())


def _token() -> str:
    token = request.cookies.get(CART_COOKIE) or g.get("cart_token")
    if not token or len(token) > 64:
        token = g.cart_token = secrets.token_urlsafe(16)
    return token


def _cart() -> dict[str, int]:
    return _carts().get(_token())[0]


def _attributes() -> dict[str, str]:
    return _carts().get(_token())[1]


@bp.after_request
def _cart_cookie(response: Response) -> Response:
    if g.get("cart_token"):
        response.set_cookie(CART_COOKIE, g.cart_token, httponly=True, samesite="Lax", path="/demo/store")
    return response


def _page(template: str, shop: Shop, **context: Any) -> str:
    return render_template(
        f"storefront/{template}",
        shop=shop,
        cart_count=sum(_cart().values()),
        widget_api="/widget/v1",
        **context,
    )


@bp.get("/")
def index() -> str:
    """The demo shop's most ordered products."""
    shop = _shop()
    return _page("index.html", shop, products=storefront.featured_products(get_session(), shop.id))


@bp.get("/products/<path:product_id>")
def product(product_id: str) -> str:
    """A product page with the "frequently bought together" block."""
    shop = _shop()
    card = storefront.product_page(get_session(), shop.id, product_id)
    if card is None:
        abort(404)
    return _page("product.html", shop, product=card)


@bp.get("/cart")
def cart_page() -> str:
    """The cart page with the add-ons block."""
    shop = _shop()
    cart = storefront.cart_json(get_session(), shop.id, shop.currency, _cart(), _attributes())
    return _page("cart.html", shop, cart=cart)


@bp.get("/cart.js")
def cart_js() -> Response:
    shop = _shop()
    return jsonify(storefront.cart_json(get_session(), shop.id, shop.currency, _cart(), _attributes()))


@bp.post("/cart/add.js")
def cart_add() -> tuple[Response, int] | Response:
    """Shopify's `/cart/add.js`: `{"items": [{"id": variant, "quantity": n}, ...]}` in one call."""
    shop = _shop()
    payload = request.get_json(silent=True)
    items = payload.get("items") if isinstance(payload, dict) else None
    if items is None and isinstance(payload, dict) and "id" in payload:
        items = [{"id": payload["id"], "quantity": payload.get("quantity", 1)}]
    try:
        cart, added = storefront.add_items(get_session(), shop.id, _cart(), items)
    except storefront.CartError as exc:
        return jsonify(status=422, message="Cart Error", description=str(exc)), 422
    _carts().update(_token(), items=cart)
    return jsonify(items=[storefront.line_json(v, cart[v.variant_id]) for v in added])


@bp.post("/cart/update.js")
def cart_update() -> tuple[Response, int] | Response:
    """Shopify's `/cart/update.js`, for cart attributes (what the widget sets)."""
    shop = _shop()
    payload = request.get_json(silent=True)
    attributes = payload.get("attributes") if isinstance(payload, dict) else None
    if not isinstance(attributes, dict) or len(attributes) > MAX_ATTRIBUTES:
        return jsonify(status=422, message="Cart Error", description="attributes must be an object"), 422
    merged = {**_attributes(), **{str(k)[:64]: str(v)[:1000] for k, v in attributes.items()}}
    _carts().update(_token(), attributes=merged)
    return jsonify(storefront.cart_json(get_session(), shop.id, shop.currency, _cart(), merged))


@bp.post("/cart/add")
def cart_add_form() -> Response:
    """The theme's own "Add to cart" form (no script): add one and show the cart."""
    shop = _shop()
    try:
        cart, _ = storefront.add_items(get_session(), shop.id, _cart(), [{"id": request.form.get("id")}])
    except storefront.CartError as exc:
        raise ApiError("cart_error", str(exc), 422) from None
    _carts().update(_token(), items=cart)
    return redirect(url_for("storefront.cart_page"))
