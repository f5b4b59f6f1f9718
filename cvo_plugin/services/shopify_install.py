"""Installing the app on a Shopify shop: OAuth, token exchange, scopes, re-installs.

The routes (`cvo_plugin/web/shopify.py`) check signatures and the browser-bound `state`;
these functions turn a verified grant into a shop with an encrypted token, and say what the
merchant must know (missing scopes, the 60-day order window without `read_all_orders`).
After an install the caller commits and enqueues `tasks.SHOPIFY_AFTER_INSTALL`, which registers
the webhooks and starts the backfill.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.shopify import oauth
from connectors.shopify.oauth import TokenGrant
from cvo_plugin.config import Settings
from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import Shop
from cvo_plugin.security import SignatureError, decode_session_token, sanitize_shop_domain
from cvo_plugin.services.job_control import stop_shop_jobs
from cvo_plugin.services.shopify_tokens import app_credentials, revoke_tokens, store_grant
from cvo_plugin.tasks import TaskQueue

log = logging.getLogger(__name__)

PLATFORM = "shopify"
ALL_ORDERS_SCOPE = "read_all_orders"
ORDER_WINDOW_DAYS = 60


class InstallError(ValueError):
    """The install cannot complete; `code` names why, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Installed:
    """What an install did."""

    shop_id: int
    domain: str
    new: bool
    reinstalled: bool
    limited_order_history: bool


def requested_scopes(settings: Settings) -> list[str]:
    """The scopes the app asks for at install (SHOPIFY_SCOPES), in order."""
    return sorted(oauth.parse_scopes(settings.shopify_scopes))


def authorization_url(settings: Settings, domain: str, redirect_uri: str, state: str) -> str:
    """Where to send the merchant to approve the app's access (an offline token)."""
    return oauth.authorize_url(
        app_credentials(settings), domain, requested_scopes(settings), redirect_uri, state
    )


def find_shopify_shop(session: Session, domain: str) -> Shop | None:
    """The Shopify shop with this `*.myshopify.com` domain, or None."""
    return session.scalars(select(Shop).where(Shop.platform == PLATFORM, Shop.domain == domain)).first()


def complete_install(session: Session, settings: Settings, domain: str, grant: TokenGrant) -> Installed:
    """Create or update the shop for a verified grant (the caller commits).

    Refuses a grant without the scopes the app needs; `read_all_orders` is optional (Shopify
    must approve it), and the shop records whether it was granted.
    """
    missing = oauth.missing_scopes(requested_scopes(settings), grant.scopes)
    if missing:
        raise InstallError(
            "missing_scopes",
            f"Shopify did not grant {', '.join(missing)}, which the app needs to read the store. "
            "Open the app from the Shopify admin again and accept the requested access.",
        )
    now = datetime.now(UTC)
    shop = find_shopify_shop(session, domain)
    new = shop is None
    if shop is None:
        shop = Shop(
            platform=PLATFORM,
            domain=domain,
            name=domain.split(".", 1)[0],
            currency="USD",
            timezone="UTC",
            settings={},
            installed_at=now,
        )
        session.add(shop)
    reinstalled = not new and not shop.is_active
    store_grant(shop, grant, TokenBox(settings.token_encryption_key))
    if reinstalled:
        shop.installed_at = now
    shop.is_active = True
    shop.uninstalled_at = None
    session.flush()
    log.info(
        "shopify install: shop %s (%s)",
        shop.id,
        "new" if new else "reinstalled" if reinstalled else "updated",
    )
    return Installed(shop.id, domain, new, reinstalled, order_history_limited(shop))


def install_from_code(session: Session, settings: Settings, domain: str, code: str) -> Installed:
    """Finish the OAuth install: exchange the callback's code for an expiring offline token."""
    grant = oauth.exchange_code(app_credentials(settings), domain, code)
    return complete_install(session, settings, domain, grant)


def install_from_session_token(
    session: Session, settings: Settings, session_token: str, force: bool = False
) -> Installed:
    """The token-exchange install of embedded apps: a session token in, an offline token out.

    The embedded admin calls this on first load. When the shop already holds a token nothing is
    asked of Shopify (unless `force`). Raises `SignatureError` for an invalid session token.
    """
    credentials = app_credentials(settings)
    verified = decode_session_token(session_token, credentials.api_key, credentials.api_secret)
    domain = sanitize_shop_domain(verified.shop)
    if domain is None:  # decode_session_token already checks this; keep the type narrow
        raise SignatureError("session token names no valid shop")
    shop = find_shopify_shop(session, domain)
    if shop is not None and shop.is_active and shop.access_token_enc is not None and not force:
        return Installed(shop.id, domain, False, False, order_history_limited(shop))
    grant = oauth.exchange_session_token(credentials, domain, session_token)
    return complete_install(session, settings, domain, grant)


def order_history_limited(shop: Shop) -> bool:
    """Whether Shopify shows the app only the last 60 days of this shop's orders."""
    if shop.platform != PLATFORM:
        return False
    return ALL_ORDERS_SCOPE not in oauth.effective_scopes(oauth.parse_scopes(shop.scopes))


def order_history_notice(shop: Shop) -> str | None:
    """What the admin tells the merchant when older orders are out of reach, else None."""
    if not order_history_limited(shop):
        return None
    return (
        f"Shopify lets this app read only the last {ORDER_WINDOW_DAYS} days of orders: the "
        f"`{ALL_ORDERS_SCOPE}` access has not been granted. Segments and lifetime values use those "
        "orders only until Shopify approves the access and the app is opened again."
    )


def uninstall_shop(
    session: Session, shop_id: int, queue: TaskQueue | None = None, except_run_id: str | None = None
) -> None:
    """`app/uninstalled`: forget the (revoked) token, mark the shop uninstalled, stop its jobs.

    The data stays until Shopify's `shop/redact` (48 hours later) or a re-install.
    """
    shop = session.get(Shop, shop_id)
    if shop is None:
        return
    revoke_tokens(shop)
    shop.is_active = False
    shop.uninstalled_at = datetime.now(UTC)
    stop_shop_jobs(session, queue, shop_id, "stopped: the app was uninstalled from the shop", except_run_id)
    log.info("shopify uninstall: shop %s", shop_id)
