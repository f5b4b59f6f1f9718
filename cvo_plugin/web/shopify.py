"""Shopify's routes: the OAuth install, the token exchange of embedded loads, and webhooks.

Every request is checked before anything else happens: the install and callback queries by
their HMAC (and timestamp), the callback's `state` against the signed cookie set at install
(bound to this browser, ten minutes), webhooks by the HMAC of their raw body. A request that
fails a check is refused (401/403) and changes nothing. Without SHOPIFY_API_KEY and
SHOPIFY_API_SECRET every route answers 503.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from connectors.shopify.errors import AuthError, ShopifyError
from cvo_plugin.config import Settings
from cvo_plugin.db import get_database, get_session
from cvo_plugin.runtime import get_redis, get_settings
from cvo_plugin.security import (
    SignatureError,
    bearer_token,
    sanitize_shop_domain,
    verify_body_hmac,
    verify_oauth_query,
)
from cvo_plugin.services import shopify_install, shopify_webhooks
from cvo_plugin.tasks import (
    QUEUE_DEFAULT,
    SHOPIFY_AFTER_INSTALL,
    SHOPIFY_KIND_INSTALL,
    SHOPIFY_KIND_WEBHOOKS,
    SHOPIFY_WEBHOOKS,
    TaskQueue,
)
from cvo_plugin.web.errors import ApiError

log = logging.getLogger(__name__)

bp = Blueprint("shopify", __name__, url_prefix="/shopify")

STATE_COOKIE = "cvo_shopify_oauth"
STATE_MAX_AGE_S = 600
CALLBACK_PATH = "/shopify/callback"


@bp.before_request
def _require_configuration() -> None:
    if not get_settings().shopify_configured:
        raise ApiError(
            "shopify_not_configured",
            "Shopify is not configured on this server: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET.",
            503,
        )


def _state_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="cvo-shopify-oauth-state")


def _verified_shop(settings: Settings, what: str) -> str:
    """The shop of a signed install/callback query; 401/400 otherwise."""
    try:
        params = {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}
        verify_oauth_query(params, settings.shopify_api_secret or "")
    except SignatureError as exc:
        raise ApiError(
            "invalid_signature",
            f"The {what} request is not signed by Shopify ({exc}). Start from the Shopify admin.",
            401,
        ) from None
    domain = sanitize_shop_domain(request.args.get("shop"))
    if domain is None:
        raise ApiError("invalid_shop", "`shop` must be a *.myshopify.com domain.", 400)
    return domain


def _queue(settings: Settings) -> TaskQueue:
    return TaskQueue(settings, get_database(), get_redis())


def _enqueue(settings: Settings, func: str, shop_id: int, kind: str) -> None:
    """Queue follow-up work. Without Redis it runs right here; its failure must not undo what
    this request stored (the run records it, and the scheduled sync catches up)."""
    try:
        _queue(settings).enqueue(func, shop_id, kind=kind, queue=QUEUE_DEFAULT)
    except Exception as exc:  # noqa: BLE001 - recorded on the job run; the request's work is saved
        log.warning("%s for shop %s failed: %s", kind, shop_id, type(exc).__name__)


@bp.get("/install")
def install() -> Response:
    """Shopify's install request: redirect the merchant to approve the app's access."""
    settings = get_settings()
    domain = _verified_shop(settings, "install")
    state = secrets.token_hex(16)
    response = redirect(
        shopify_install.authorization_url(settings, domain, settings.app_url + CALLBACK_PATH, state)
    )
    response.set_cookie(
        STATE_COOKIE,
        _state_serializer(settings).dumps({"shop": domain, "state": state}),
        max_age=STATE_MAX_AGE_S,
        httponly=True,
        secure=settings.app_url.startswith("https://"),
        samesite="Lax",
        path="/shopify",
    )
    return response


@bp.get("/callback")
def callback() -> Response:
    """Shopify's OAuth callback: check it, get the offline token, store the shop, queue setup."""
    settings = get_settings()
    domain = _verified_shop(settings, "callback")
    try:
        bound = _state_serializer(settings).loads(
            request.cookies.get(STATE_COOKIE, ""), max_age=STATE_MAX_AGE_S
        )
    except BadSignature:
        raise ApiError(
            "invalid_state",
            "This install was not started in this browser, or took longer than ten minutes. Start it again.",
            403,
        ) from None
    given = request.args.get("state", "")
    if not (isinstance(bound, dict) and hmac.compare_digest(str(bound.get("state", "")), given)) or (
        bound.get("shop") != domain
    ):
        raise ApiError(
            "invalid_state", "The install's `state` does not match this browser. Start it again.", 403
        )
    code = request.args.get("code")
    if not code:
        raise ApiError("missing_code", "Shopify sent no authorization code. Start the install again.", 400)
    session = get_session()
    try:
        installed = shopify_install.install_from_code(session, settings, domain, code)
    except shopify_install.InstallError as exc:
        raise ApiError(exc.code, exc.message, 403) from None
    except AuthError:
        raise ApiError(
            "code_refused",
            "Shopify refused the authorization code (it is used once). Start the install again.",
            400,
        ) from None
    except ShopifyError:
        raise ApiError(
            "shopify_unavailable", "Shopify did not answer; try the install again shortly.", 503
        ) from None
    session.commit()
    _enqueue(settings, SHOPIFY_AFTER_INSTALL, installed.shop_id, SHOPIFY_KIND_INSTALL)
    response = redirect(f"https://{domain}/admin/apps/{settings.shopify_api_key}")
    response.delete_cookie(STATE_COOKIE, path="/shopify")
    return response


@bp.post("/token-exchange")
def token_exchange() -> Response:
    """The embedded admin's first load: its session token buys the shop's offline token."""
    settings = get_settings()
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise ApiError(
            "missing_session_token", "Send the App Bridge session token as `Authorization: Bearer`.", 401
        )
    session = get_session()
    try:
        installed = shopify_install.install_from_session_token(session, settings, token)
    except SignatureError:
        raise ApiError("invalid_session_token", "The session token is invalid or expired.", 401) from None
    except shopify_install.InstallError as exc:
        raise ApiError(exc.code, exc.message, 403) from None
    except AuthError:
        raise ApiError(
            "token_exchange_refused", "Shopify refused the session token; reload the app.", 401
        ) from None
    except ShopifyError:
        raise ApiError(
            "shopify_unavailable", "Shopify did not answer; reload the app shortly.", 503
        ) from None
    session.commit()
    if installed.new or installed.reinstalled:
        _enqueue(settings, SHOPIFY_AFTER_INSTALL, installed.shop_id, SHOPIFY_KIND_INSTALL)
    with get_database().sessionmaker() as read:
        shop = shopify_install.find_shopify_shop(read, installed.domain)
        notice = shopify_install.order_history_notice(shop) if shop else None
    return jsonify(
        shop=installed.domain,
        installed=True,
        new=installed.new,
        order_history_limited=installed.limited_order_history,
        notice=notice,
    )


def _header(*names: str) -> str | None:
    for name in names:
        value = request.headers.get(name)
        if value:
            return value.strip()
    return None


@bp.post("/webhooks")
def webhooks() -> tuple[Response, int]:
    """Every Shopify webhook: HMAC of the raw body first, then record once and queue the work."""
    settings = get_settings()
    body = request.get_data(cache=False)
    try:
        verify_body_hmac(
            body, _header("X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"), [settings.shopify_api_secret or ""]
        )
    except SignatureError:
        return jsonify(error="invalid_signature", message="The webhook's HMAC does not match its body."), 401
    topic = (_header("X-Shopify-Topic", "Shopify-Topic") or "").lower()
    domain = sanitize_shop_domain(_header("X-Shopify-Shop-Domain", "Shopify-Shop-Domain"))
    webhook_id = _header(
        "X-Shopify-Webhook-Id", "Shopify-Webhook-Id", "X-Shopify-Event-Id", "Shopify-Event-Id"
    )
    if not topic or domain is None or not webhook_id or len(topic) > 64 or len(webhook_id) > 128:
        raise ApiError("invalid_webhook", "Topic, shop domain and webhook id headers are required.", 400)
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ApiError("invalid_json", "The webhook body is not a JSON object.", 400)
    if topic not in shopify_webhooks.KNOWN_TOPICS:
        return jsonify(status="ignored", topic=topic), 200
    session = get_session()
    receipt = shopify_webhooks.receive(
        session,
        shopify_webhooks.IncomingWebhook(
            topic=topic,
            shop_domain=domain,
            webhook_id=webhook_id,
            body=body,
            event_id=_header("X-Shopify-Event-Id", "Shopify-Event-Id"),
            triggered_at=shopify_webhooks.parse_triggered_at(
                _header("X-Shopify-Triggered-At", "Shopify-Triggered-At")
            ),
        ),
    )
    session.commit()
    if receipt.status == "accepted" and receipt.shop_id is not None:
        _enqueue(settings, SHOPIFY_WEBHOOKS, receipt.shop_id, SHOPIFY_KIND_WEBHOOKS)
    return jsonify(status=receipt.status), 200
