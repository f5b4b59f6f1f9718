"""Shopify access tokens at rest: stored encrypted, read back, refreshed before they lapse.

Expiring offline tokens (an hour) are refreshed when less than `REFRESH_MARGIN` is left and when
Shopify answers 401. A refresh happens under a lock on the shop's row (`SELECT ... FOR UPDATE`
on PostgreSQL; on SQLite a write that takes the database's write lock first), so two workers
never refresh one shop at once: the second waits, then finds the new token and uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.shopify.client import GraphQLClient
from connectors.shopify.errors import AuthError
from connectors.shopify.oauth import AppCredentials, TokenGrant, refresh_access_token
from cvo_plugin.config import Settings
from cvo_plugin.crypto import TokenBox
from cvo_plugin.db import Database
from cvo_plugin.models import Shop

REFRESH_MARGIN = timedelta(minutes=5)

Refresher = Callable[[AppCredentials, str, str], TokenGrant]


class ShopifyNotConfigured(RuntimeError):
    """SHOPIFY_API_KEY / SHOPIFY_API_SECRET are not set."""

    def __init__(self) -> None:
        super().__init__(
            "Shopify is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET to the app's "
            "client id and secret from the Partner Dashboard."
        )


def app_credentials(settings: Settings) -> AppCredentials:
    """The app's Shopify credentials; `ShopifyNotConfigured` without them."""
    if not settings.shopify_api_key or not settings.shopify_api_secret:
        raise ShopifyNotConfigured()
    return AppCredentials(
        settings.shopify_api_key, settings.shopify_api_secret, settings.shopify_admin_origin
    )


def store_grant(shop: Shop, grant: TokenGrant, box: TokenBox, keep_refresh_token: bool = False) -> None:
    """Keep a grant on the shop, encrypted. A refresh that returns no new refresh token keeps
    the old one; any other grant replaces (or clears) it."""
    shop.access_token_enc = box.encrypt(grant.access_token)
    shop.access_token_expires_at = grant.expires_at
    if grant.refresh_token or not keep_refresh_token:
        shop.refresh_token_enc = box.encrypt(grant.refresh_token) if grant.refresh_token else None
        shop.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scopes:
        shop.scopes = ",".join(sorted(grant.scopes))


def revoke_tokens(shop: Shop) -> None:
    """Forget the shop's tokens (Shopify has revoked them on uninstall)."""
    shop.access_token_enc = None
    shop.refresh_token_enc = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None


def lock_shop(session: Session, shop_id: int) -> Shop | None:
    """The shop's row, locked for the rest of the transaction."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a first write takes the database's write lock, which other
        # writers wait for (busy timeout) until this transaction ends.
        session.execute(update(Shop).where(Shop.id == shop_id).values(is_active=Shop.is_active))
    return session.scalars(
        select(Shop).where(Shop.id == shop_id).with_for_update().execution_options(populate_existing=True)
    ).first()


class ShopTokens:
    """A `TokenSource` for one shop's client, backed by the database."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        shop_id: int,
        refresher: Refresher = refresh_access_token,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.settings = settings
        self.shop_id = shop_id
        self.refresher = refresher
        self.clock = clock
        self.domain: str | None = None
        self._token: str | None = None
        self._expires_at: datetime | None = None

    def token(self) -> str:
        """The shop's access token, refreshed first when it lapses within `REFRESH_MARGIN`."""
        if self._token is not None and not self._lapsing():
            return self._token
        return self._locked(force=False, stale=None)

    def refresh(self, stale: str) -> str:
        """A token other than `stale` (which Shopify refused): another worker's, or a new one."""
        return self._locked(force=True, stale=stale)

    def _lapsing(self) -> bool:
        return self._expires_at is not None and self._expires_at - self.clock() <= REFRESH_MARGIN

    def _locked(self, force: bool, stale: str | None) -> str:
        box = TokenBox(self.settings.token_encryption_key)
        with self.database.session() as session:
            shop = lock_shop(session, self.shop_id)
            if shop is None or not shop.is_active or shop.access_token_enc is None:
                raise AuthError("the app is not installed on this shop (no access token)")
            self.domain = shop.domain
            token = box.decrypt(shop.access_token_enc) or ""
            expires = shop.access_token_expires_at
            fresh = expires is None or expires - self.clock() > REFRESH_MARGIN
            if fresh and not (force and token == stale):
                self._token, self._expires_at = token, expires
                return token
            refresh_token = box.decrypt(shop.refresh_token_enc)
            if not refresh_token:
                raise AuthError(
                    "Shopify refused the access token and there is no refresh token; reinstall the app"
                )
            if shop.refresh_token_expires_at is not None and shop.refresh_token_expires_at <= self.clock():
                raise AuthError(
                    "the refresh token has expired; open the app in Shopify to authorise it again"
                )
            grant = self.refresher(app_credentials(self.settings), shop.domain, refresh_token)
            store_grant(shop, grant, box, keep_refresh_token=True)
            self._token, self._expires_at = grant.access_token, grant.expires_at
            return grant.access_token


def client_for(database: Database, settings: Settings, shop_id: int, **options: object) -> GraphQLClient:
    """A GraphQL client for one installed shop, its token refreshed as needed."""
    tokens = ShopTokens(database, settings, shop_id)
    with database.sessionmaker() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise AuthError(f"shop {shop_id} does not exist")
        domain = shop.domain
    return GraphQLClient(
        domain,
        tokens,
        api_version=settings.shopify_api_version,
        admin_origin=settings.shopify_admin_origin,
        **options,  # type: ignore[arg-type]
    )
