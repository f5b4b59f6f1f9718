"""Who is using the admin: a Shopify session token (every request), or the cookie of `cvo admin-link`.

Embedded in Shopify's admin, each request carries an App Bridge session token: as
`Authorization: Bearer` (the admin's own fetches), or as `id_token` in the query or form (page
loads, links and forms, which admin.js fills with a fresh token). The token is verified every
time (HS256 with the app secret, audience = API key, expiry and not-before with leeway, `dest`
a known, installed Shopify shop). Other shops sign in once with a one-time link, which starts a
cookie session; unsafe requests on a cookie session need the CSRF token. The signed-in shop is
the only shop any admin route reads or writes: no route takes a shop from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Response, g, request

from cvo_plugin.db import get_session
from cvo_plugin.models import Shop
from cvo_plugin.runtime import get_settings
from cvo_plugin.security import SignatureError, bearer_token, decode_session_token, sanitize_shop_domain
from cvo_plugin.services.shopify_install import find_shopify_shop
from cvo_plugin.web.csrf import check_csrf
from cvo_plugin.web.errors import ApiError
from cvo_plugin.web.session import signed_in_shop_id

TOKEN_FIELD = "id_token"
SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"
APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js"


@dataclass(frozen=True)
class AdminIdentity:
    """The signed-in shop and how it signed in (`session_token` or `cookie`)."""

    shop_id: int
    domain: str
    platform: str
    method: str
    token: str | None = None

    @property
    def embedded(self) -> bool:
        return self.method == "session_token"


def given_token() -> str | None:
    token = bearer_token(request.headers.get("Authorization")) or request.args.get(TOKEN_FIELD)
    if (
        token is None
        and request.method == "POST"
        and request.mimetype
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        token = request.form.get(TOKEN_FIELD)
    return token or None


def _from_token(token: str) -> AdminIdentity:
    settings = get_settings()
    if not settings.shopify_configured:
        raise ApiError("shopify_not_configured", "Shopify is not configured on this server.", 503)
    try:
        claims = decode_session_token(
            token, settings.shopify_api_key or "", settings.shopify_api_secret or ""
        )
    except SignatureError:
        raise ApiError(
            "invalid_session_token",
            "The session token is invalid or expired; reload the app in Shopify.",
            401,
        ) from None
    shop = find_shopify_shop(get_session(), claims.shop)
    if shop is None or not shop.is_active:
        raise ApiError("shop_not_installed", "This shop has not installed the app (or uninstalled it).", 403)
    return AdminIdentity(shop.id, shop.domain, shop.platform, "session_token", token)


def _from_cookie() -> AdminIdentity | None:
    shop_id = signed_in_shop_id()
    if shop_id is None:
        return None
    shop = get_session().get(Shop, shop_id)
    if shop is None or not shop.is_active:
        return None
    return AdminIdentity(shop.id, shop.domain, shop.platform, "cookie")


def authenticate() -> AdminIdentity:
    """The identity of this request (kept on `g`); `ApiError` 401/403 when there is none.

    A request that carries a session token is judged by it alone (a bad token is refused even
    with a valid cookie). Cookie sessions must send the CSRF token with unsafe methods.
    """
    token = given_token()
    if token is not None:
        identity = _from_token(token)
    else:
        cookie = _from_cookie()
        if cookie is None:
            raise ApiError(
                "sign_in_required",
                "Open the app from your Shopify admin, or sign in with a link from `cvo admin-link SHOP`.",
                401,
            )
        check_csrf()
        identity = cookie
    g.admin = identity
    return identity


def current_admin() -> AdminIdentity:
    """The identity `authenticate` found for this request."""
    return g.admin


def embedding_shop() -> str | None:
    """The `*.myshopify.com` shop named by the query (a page load from Shopify's admin), or None."""
    return sanitize_shop_domain(request.args.get("shop"))


def frame_ancestors(identity: AdminIdentity | None) -> str:
    """Who may frame the page: the shop's admin and Shopify's for a session-token request (or a
    load from Shopify's admin before it has one); nobody for cookie sessions, which are not embedded."""
    if identity is not None:
        domain = identity.domain if identity.embedded else None
    else:
        domain = embedding_shop()
    return f"https://{domain} {SHOPIFY_ADMIN_ORIGIN}" if domain else "'none'"


def content_security_policy(identity: AdminIdentity | None, embedded: bool) -> str:
    """The admin's CSP: its own files, plus App Bridge from Shopify's CDN when embedded."""
    script, style, connect = "'self'", "'self'", "'self'"
    if embedded:  # App Bridge loads from Shopify's CDN, injects its styles and talks to Shopify
        script += " https://cdn.shopify.com"
        style += " 'unsafe-inline'"
        connect += " https://*.shopify.com"
    return (
        f"default-src 'self'; script-src {script}; style-src {style}; img-src 'self' data: https:; "
        f"connect-src {connect}; frame-ancestors {frame_ancestors(identity)}; base-uri 'self'; "
        "form-action 'self'"
    )


def secure_response(response: Response) -> Response:
    """CSP with the right frame-ancestors, and no caching of the shop's data."""
    identity = g.get("admin")
    embedded = (identity.embedded if identity is not None else False) or embedding_shop() is not None
    response.headers["Content-Security-Policy"] = content_security_policy(identity, embedded)
    response.headers["Cache-Control"] = "no-store"
    return response


def embedded_query(identity: AdminIdentity) -> dict[str, str]:
    """Query values a redirect keeps inside the embedded admin: the token used, shop and host."""
    if not identity.embedded:
        return {}
    values = {TOKEN_FIELD: identity.token or "", "shop": identity.domain}
    host = request.values.get("host")
    if host:
        values["host"] = host
    return values


def with_query(url: str, values: dict[str, str]) -> str:
    """`url` with `values` added to its query."""
    if not values:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(values)
