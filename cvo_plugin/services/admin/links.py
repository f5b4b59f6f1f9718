"""One-time admin sign-in links (`cvo admin-link SHOP`) for shops outside Shopify's admin.

The link carries a random secret; only its SHA-256 is stored. Redeeming it marks it used in the
same UPDATE that checks it is unused and unexpired, so two clicks never both sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvo_plugin.models import AdminLink, Shop

LINK_TTL = timedelta(minutes=15)
SIGNIN_PATH = "/admin/signin"


class AdminLinkError(LookupError):
    """The link is unknown, used or expired (one message for all: nothing to probe)."""

    def __init__(self) -> None:
        super().__init__("This sign-in link is invalid, expired or already used. Ask for a new one.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_admin_link(
    session: Session, shop: Shop, now: datetime | None = None, ttl: timedelta = LINK_TTL
) -> str:
    """A new one-time token for `shop`'s admin (the caller commits and builds the URL)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    session.add(AdminLink(shop_id=shop.id, token_sha256=_digest(token), created_at=now, expires_at=now + ttl))
    session.flush()
    return token


def signin_url(app_url: str, token: str) -> str:
    """The sign-in URL of a token."""
    return f"{app_url.rstrip('/')}{SIGNIN_PATH}?token={token}"


def link_shop(session: Session, token: str, now: datetime | None = None) -> Shop:
    """The active shop of an unused, unexpired link (without using it); `AdminLinkError` otherwise."""
    now = now or datetime.now(UTC)
    if not token or len(token) > 128:
        raise AdminLinkError()
    row = session.execute(
        select(AdminLink, Shop)
        .join(Shop, Shop.id == AdminLink.shop_id)
        .where(
            AdminLink.token_sha256 == _digest(token), AdminLink.used_at.is_(None), AdminLink.expires_at > now
        )
    ).first()
    if row is None or not row[1].is_active:
        raise AdminLinkError()
    return row[1]


def redeem_admin_link(session: Session, token: str, now: datetime | None = None) -> int:
    """Use a link once: the shop id it signs in to; `AdminLinkError` when it cannot (the caller commits)."""
    now = now or datetime.now(UTC)
    shop = link_shop(session, token, now)
    used = session.execute(
        update(AdminLink)
        .where(
            AdminLink.token_sha256 == _digest(token), AdminLink.used_at.is_(None), AdminLink.expires_at > now
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise AdminLinkError()
    return shop.id
