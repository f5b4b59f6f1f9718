"""Signing in with a one-time link of `cvo admin-link SHOP`, and signing out.

The link's GET only shows a button (mail scanners and link previews must not use it up); the
button's POST (with the CSRF token of that page) uses the link and starts a fresh cookie session.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from cvo_plugin.db import get_session
from cvo_plugin.services.admin.links import AdminLinkError, link_shop, redeem_admin_link
from cvo_plugin.web.admin.common import bp
from cvo_plugin.web.csrf import check_csrf
from cvo_plugin.web.errors import ApiError
from cvo_plugin.web.session import sign_in, sign_out


@bp.get("/signin")
def signin() -> Any:
    """The sign-in page of a link: which shop, and a button."""
    token = request.args.get("token", "")
    try:
        shop = link_shop(get_session(), token)
    except AdminLinkError as exc:
        raise ApiError("invalid_link", str(exc), 401) from None
    return render_template("admin/signin.html", token=token, shop_name=shop.name or shop.domain)


@bp.post("/signin")
def signin_confirm() -> Any:
    """Use the link once and start the admin's cookie session."""
    check_csrf()
    session = get_session()
    try:
        shop_id = redeem_admin_link(session, request.form.get("token", ""))
    except AdminLinkError as exc:
        session.rollback()
        raise ApiError("invalid_link", str(exc), 401) from None
    session.commit()
    sign_in(shop_id)
    return redirect(url_for("admin.dashboard", notice="signed_in"), code=303)


@bp.post("/signout")
def signout() -> Any:
    """End the cookie session."""
    sign_out()
    return redirect(url_for("admin.signed_out"), code=303)


@bp.get("/signed-out")
def signed_out() -> Any:
    """Shown after signing out."""
    return render_template("admin/error.html", status=200, message="You are signed out.")
