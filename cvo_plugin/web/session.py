"""Who is signed in by cookie: the admin of one shop (session tokens are checked per request)."""

from __future__ import annotations

from flask import session

SESSION_SHOP_KEY = "cvo_shop_id"


def sign_in(shop_id: int) -> None:
    """Start a fresh cookie session for the admin of `shop_id` (a new session id: no fixation)."""
    session.clear()
    session[SESSION_SHOP_KEY] = int(shop_id)
    session.permanent = True


def signed_in_shop_id() -> int | None:
    """The shop the cookie session is signed in to, or None."""
    value = session.get(SESSION_SHOP_KEY)
    return int(value) if isinstance(value, int) else None


def sign_out() -> None:
    """End the cookie session."""
    session.clear()
