"""How each kind of route is authenticated, and the four bad credentials of each.

A *scheme* turns (rule, method, case) into the keyword arguments of a test-client request, for
the cases `none` (no credentials), `forged` (signed or issued with a key that is not ours),
`expired` (genuine but too old, or of a disconnected shop) and `other_shop` (genuine, of shop B,
used on shop A). Routes are matched to schemes by endpoint (`SCHEMES`) or path prefix
(`PREFIX_SCHEMES`); any other route gets `GenericScheme`, which tries every ambient credential
the app knows (the admin's cookie session and the Shopify session token) at once, so a route
added later is covered without editing this file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import itsdangerous.timed
import jwt
from flask import Flask
from werkzeug.routing import Rule

from cvo_plugin.security import oauth_hmac, proxy_message
from tests.integration.security.tenants import Tenant, Tenants

WOO_ORDER = (Path(__file__).parents[2] / "data" / "woocommerce" / "order.json").read_bytes()
CASES = ("none", "forged", "expired", "other_shop")
VALID = "valid"  # the genuine credential: the positive control of each scheme
API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef"
FORGED_SECRET = "not-the-app-secret-" + "f" * 16
OLD_TIME = time.time() - 40 * 24 * 3600  # older than any signature window and the cookie lifetime


def body_hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def fill_path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each `<converter:name>` replaced (by `values`, else a plausible id)."""

    def one(match: re.Match[str]) -> str:
        converter, name = (match.group(1) or ""), match.group(2)
        if name in values:
            return values[name]
        return "1" if converter.startswith(("int", "float")) else "1"

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-zA-Z_]+)>", one, rule.rule)


@contextmanager
def signed_at(when: float) -> Any:
    """itsdangerous signs with `when` as the current time inside the block."""
    real = itsdangerous.timed.time.time
    itsdangerous.timed.time.time = lambda: when  # type: ignore[assignment]
    try:
        yield
    finally:
        itsdangerous.timed.time.time = real  # type: ignore[assignment]


class _KeyApp:
    """Just enough of a Flask app for Flask's session serializer, with another secret key."""

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self.config = {"SECRET_KEY_FALLBACKS": None}


CSRF = "csrf-token-of-the-test-sessions"


def session_cookie(app: Flask, shop_id: int, secret_key: str | None = None, when: float | None = None) -> str:
    """A Flask session cookie signed in to `shop_id` (with another key: forged; `when`: its age),
    holding the CSRF token `CSRF` (so a refusal is about the session, not a missing token)."""
    from cvo_plugin.web.csrf import CSRF_SESSION_KEY
    from cvo_plugin.web.session import SESSION_SHOP_KEY

    serializer = app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
        _KeyApp(secret_key) if secret_key else app
    )
    data = {SESSION_SHOP_KEY: shop_id, "_permanent": True, CSRF_SESSION_KEY: CSRF}
    if when is None:
        return serializer.dumps(data)
    with signed_at(when):
        return serializer.dumps(data)


def session_token(dest: str, iss: str | None = None, secret: str = API_SECRET, age_s: int = 0) -> str:
    """An App Bridge session token for shop `dest` (issued by `iss`, signed with `secret`)."""
    now = int(time.time()) - age_s
    claims = {
        "iss": f"https://{iss or dest}/admin",
        "dest": f"https://{dest}",
        "aud": API_KEY,
        "sub": "42",
        "exp": now + 60,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": secrets.token_hex(8),
        "sid": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class Scheme:
    """Bad credentials of one kind; subclasses say how to build each request."""

    name = "scheme"
    # statuses that mean "refused" (a redirect only when it goes to a sign-in or the form)
    refused_statuses: tuple[int, ...] = (401, 403, 404)

    def __init__(self, app: Flask, tenants: Tenants) -> None:
        self.app = app
        self.tenants = tenants

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        raise NotImplementedError

    def requests(self, rule: Rule, method: str, case: str) -> list[dict[str, Any]]:
        """Every request of a case (a scheme with several ways to carry a credential tries each)."""
        return [self.request(rule, method, case)]

    def is_refused(self, response: Any, case: str) -> bool:
        """Refused: a refusal status, or an answer that shows nothing of shop A and is no JSON
        success (a redirect to sign in, the admin's page that fetches a session token first)."""
        if response.status_code in self.refused_statuses:
            return True
        if self._leaks(response):
            return False
        if case == "other_shop":  # shop B's own credentials act on shop B; A stays out of reach
            return True
        return response.status_code < 400 and not (response.is_json and response.status_code < 300)

    def _leaks(self, response: Any) -> bool:
        """Whether the answer shows any of shop A's private data (its customers, its name)."""
        body = response.get_data(as_text=True)
        shops_a = (self.tenants.shopify_a, self.tenants.woo_a)
        return any(t.customer_email in body or t.private_name in body for t in shops_a)


class ShopifyWebhookScheme(Scheme):
    """`X-Shopify-Hmac-Sha256` over the raw body with the app's secret (one secret for all shops:
    the other-shop case is a delivery signed by another Shopify app)."""

    name = "shopify-webhook-hmac"
    refused_statuses = (401,)

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        body = json.dumps({"id": 9001, "email": "attacker@example.com"}).encode()
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": self.tenants.shopify_a.domain,
            "X-Shopify-Webhook-Id": secrets.token_hex(8),
            "Content-Type": "application/json",
        }
        secret = {
            "valid": API_SECRET,
            "forged": FORGED_SECRET,
            "expired": API_SECRET + "-rotated-out",
            "other_shop": "other-app",
        }
        if case != "none":
            headers["X-Shopify-Hmac-Sha256"] = body_hmac(body, secret[case])
        return {"data": body, "headers": headers}


class ShopifyOAuthScheme(Scheme):
    """The signed install/callback query (HMAC, timestamp) and, for the callback, the state cookie."""

    name = "shopify-oauth-query"
    refused_statuses = (400, 401, 403)

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        a, b = self.tenants.shopify_a, self.tenants.shopify_b
        params: dict[str, str] = {"shop": a.domain, "timestamp": str(int(time.time()))}
        if rule.rule.endswith("/callback"):
            params.update(code=secrets.token_hex(8), state="0" * 32)
        if case == "none":
            return {"query_string": urlencode(params)}
        if case == "valid":
            params["hmac"] = oauth_hmac(params, API_SECRET)
        elif case == "forged":
            params["hmac"] = oauth_hmac(params, FORGED_SECRET)
        elif case == "expired":
            params["timestamp"] = str(int(OLD_TIME))
            params["hmac"] = oauth_hmac(params, API_SECRET)
        else:  # B's genuine signed query, replayed for shop A; or A's query with B's state cookie
            signed = dict(params, shop=b.domain)
            signed["hmac"] = oauth_hmac(signed, API_SECRET)
            if rule.rule.endswith("/callback"):
                params["hmac"] = oauth_hmac(params, API_SECRET)
                from cvo_plugin.web.shopify import STATE_COOKIE, _state_serializer

                settings = self.app.extensions["cvo"]["settings"]
                cookie = _state_serializer(settings).dumps({"shop": b.domain, "state": params["state"]})
                return {"query_string": urlencode(params), "cookies": {STATE_COOKIE: cookie}}
            params = dict(signed, shop=a.domain)
        return {"query_string": urlencode(params)}


class SessionTokenScheme(Scheme):
    """`Authorization: Bearer <App Bridge session token>`."""

    name = "shopify-session-token"
    refused_statuses = (401, 403)

    def token(self, case: str) -> str | None:
        a, b = self.tenants.shopify_a, self.tenants.shopify_b
        return {
            "valid": session_token(a.domain),
            "none": None,
            "forged": session_token(a.domain, secret=FORGED_SECRET),
            "expired": session_token(a.domain, age_s=3600),
            "other_shop": session_token(a.domain, iss=b.domain),  # B's admin naming shop A
        }[case]

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        token = self.token(case)
        return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


class WooWebhookScheme(Scheme):
    """`X-WC-Webhook-Signature` with the store's own secret, at the store's own webhook URL."""

    name = "woocommerce-webhook-signature"
    refused_statuses = (401, 404)

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        a, b, gone = self.tenants.woo_a, self.tenants.woo_b, self.tenants.woo_gone
        body = WOO_ORDER
        headers = {
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": secrets.token_hex(8),
            "Content-Type": "application/json",
        }
        key = a.public_key
        if case == "valid":
            headers["X-WC-Webhook-Signature"] = body_hmac(body, a.webhook_secret)
        elif case == "forged":
            headers["X-WC-Webhook-Signature"] = body_hmac(body, FORGED_SECRET)
        elif case == "expired":  # a disconnected store's genuine signature
            key = gone.public_key
            headers["X-WC-Webhook-Signature"] = body_hmac(body, gone.webhook_secret)
        elif case == "other_shop":
            headers["X-WC-Webhook-Signature"] = body_hmac(body, b.webhook_secret)
        return {"path": fill_path(rule, {"shop_key": key}), "data": body, "headers": headers}


class CookieScheme(Scheme):
    """The admin's signed cookie session (`cvo admin-link`, the WooCommerce connect form)."""

    name = "cookie-session"

    def cookie(self, case: str, shop: Tenant) -> str | None:
        other = self.tenants.woo_b if shop.platform == "woocommerce" else self.tenants.shopify_b
        return {
            "valid": session_cookie(self.app, shop.id),
            "none": None,
            "forged": session_cookie(self.app, shop.id, secret_key="forged-secret-key"),
            "expired": session_cookie(self.app, shop.id, when=OLD_TIME),
            "other_shop": session_cookie(self.app, other.id),
        }[case]

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        shop = self.tenants.woo_a if rule.rule.startswith("/woocommerce") else self.tenants.shopify_a
        cookie = self.cookie(case, shop)
        request: dict[str, Any] = {"query_string": urlencode({"shop": shop.domain})}
        if cookie:
            request.update(cookies={"session": cookie}, headers={"X-CSRF-Token": CSRF})
        return request


def signed_proxy_query(query: dict[str, Any], shop: str) -> dict[str, Any]:
    """`query` for `shop`, signed like Shopify's app proxy signs it (now)."""
    params = {k: [str(v)] for k, v in query.items() if k != "signature" and not isinstance(v, list)}
    params.update(shop=[shop], timestamp=[str(int(time.time()))], path_prefix=["/apps/cvo"])
    digest = hmac.new(API_SECRET.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()
    return {**{k: v[0] for k, v in params.items()}, "signature": digest}


class ProxyScheme(Scheme):
    """Shopify's app proxy `signature` over the query (shop, timestamp, path_prefix ...)."""

    name = "shopify-app-proxy-signature"
    refused_statuses = (401, 403, 404)

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        a, b = self.tenants.shopify_a, self.tenants.shopify_b
        params = {"shop": [a.domain], "path_prefix": ["/apps/cvo"], "timestamp": [str(int(time.time()))]}
        params["product_id"] = ["1"]
        if case == "none":
            return {"path": fill_path(rule, {}), "query_string": urlencode(params, doseq=True)}
        if case == "expired":
            params["timestamp"] = [str(int(OLD_TIME))]
        if case == "other_shop":
            signed = dict(params, shop=[b.domain])
            signature = hmac.new(API_SECRET.encode(), proxy_message(signed).encode(), hashlib.sha256)
        else:  # valid, forged, expired
            key = FORGED_SECRET if case == "forged" else API_SECRET
            signature = hmac.new(key.encode(), proxy_message(params).encode(), hashlib.sha256)
        params["signature"] = [signature.hexdigest()]
        request: dict[str, Any] = {"path": fill_path(rule, {}), "query_string": urlencode(params, doseq=True)}
        if method == "POST":
            request["json"] = {"events": []}
        return request


class WidgetScheme(Scheme):
    """The storefront widget's direct API: the shop named by its public key (published in the
    storefront, so not a secret) and the browser's `Origin`, which must be one of the shop's
    storefronts. Forged: a key no shop has; expired: the key of a disconnected shop; other
    shop: shop A's key used from shop B's storefront."""

    name = "widget-public-key-and-origin"
    refused_statuses = (400, 403, 404)

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        a, b, gone = self.tenants.shopify_a, self.tenants.shopify_b, self.tenants.woo_gone
        key = {"valid": a.public_key, "forged": "pk_" + secrets.token_urlsafe(18), "expired": gone.public_key}
        params = {"product_id": "1"}
        if case in key:
            params["shop"] = key[case]
        elif case == "other_shop":
            params["shop"] = a.public_key
        request: dict[str, Any] = {"query_string": urlencode(params)}
        if case == "other_shop":
            request["headers"] = {"Origin": f"https://{b.domain}"}
        if method == "POST":
            request["json"] = {"events": []}
        return request


class GenericScheme(Scheme):
    """Every credential the admin accepts, each on its own: the cookie session, the session token
    as `Authorization: Bearer`, and the session token as `id_token` in the query."""

    name = "cookie-or-session-token"

    def requests(self, rule: Rule, method: str, case: str) -> list[dict[str, Any]]:
        cookie = CookieScheme(self.app, self.tenants).request(rule, method, case)
        cookie.pop("query_string")  # `?shop=` alone asks for a session token (Shopify's admin)
        tokens = SessionTokenScheme(self.app, self.tenants)
        bearer = tokens.request(rule, method, case)
        token = tokens.token(case)
        shop = {"shop": self.tenants.shopify_a.domain}
        query = {"query_string": urlencode({**shop, "id_token": token} if token else shop)}
        return [cookie, {**bearer, "query_string": urlencode(shop)}, query]

    def request(self, rule: Rule, method: str, case: str) -> dict[str, Any]:
        return self.requests(rule, method, case)[0]


SCHEMES: dict[str, type[Scheme]] = {
    "shopify.webhooks": ShopifyWebhookScheme,
    "shopify.install": ShopifyOAuthScheme,
    "shopify.callback": ShopifyOAuthScheme,
    "shopify.token_exchange": SessionTokenScheme,
    "woocommerce.webhook": WooWebhookScheme,
    "woocommerce.status": CookieScheme,
    "woocommerce.connected": CookieScheme,
}
PREFIX_SCHEMES: list[tuple[str, type[Scheme]]] = [("/proxy", ProxyScheme), ("/widget/v1/", WidgetScheme)]


def scheme_for(rule: Rule) -> type[Scheme]:
    """The scheme of a rule: by endpoint, then by path prefix, else the generic one."""
    if rule.endpoint in SCHEMES:
        return SCHEMES[rule.endpoint]
    for prefix, scheme in PREFIX_SCHEMES:
        if rule.rule.startswith(prefix):
            return scheme
    return GenericScheme
