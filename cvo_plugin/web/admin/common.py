"""The admin pages' blueprint, its sign-in guard, rendering helpers and template filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, Response, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from cvo_plugin.db import get_database, get_session
from cvo_plugin.runtime import get_redis, get_settings
from cvo_plugin.services.admin import views
from cvo_plugin.services.crosssell.read import UnknownProductError
from cvo_plugin.services.insights.read import NoSnapshotError, UnknownSegmentError
from cvo_plugin.tasks import TaskQueue
from cvo_plugin.web import admin_auth
from cvo_plugin.web.admin_auth import AdminIdentity, current_admin
from cvo_plugin.web.csrf import csrf_token
from cvo_plugin.web.errors import ApiError

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Views reachable without signing in: the one-time link's pages.
PUBLIC_ENDPOINTS = frozenset({"admin.signin", "admin.signin_confirm", "admin.signed_out"})

NOTICES = {
    "recompute": "The computation was started; its progress shows below.",
    "pinned": "Pinned.",
    "unpinned": "The pin was removed.",
    "hidden": "Hidden: it will not be recommended there.",
    "unhidden": "It may be recommended again.",
    "bundle_saved": "The bundle was saved.",
    "bundle_deleted": "The bundle was deleted.",
    "spend_imported": "The spend file was imported; recompute to update CAC and LTV:CAC.",
    "settings_saved": "Saved. Recompute to apply analytics and cross-sell changes to the figures.",
    "signed_in": "You are signed in.",
}


@contextmanager
def read_errors() -> Iterator[None]:
    """Turn the read services' lookups that fail into 404s with a message for people."""
    try:
        yield
    except NoSnapshotError:
        raise ApiError(
            "not_computed", "Nothing is computed yet: recompute from the dashboard.", 404
        ) from None
    except UnknownSegmentError:
        raise ApiError("unknown_segment", "This shop has no such segment.", 404) from None
    except UnknownProductError:
        raise ApiError("unknown_product", "This shop has no such product.", 404) from None


def task_queue() -> TaskQueue:
    """The app's task queue (RQ with Redis, in-process otherwise)."""
    return TaskQueue(get_settings(), get_database(), get_redis())


@bp.before_request
def _sign_in() -> Response | str | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if (
        request.method == "GET"
        and admin_auth.embedding_shop() is not None
        and admin_auth.given_token() is None
        and get_settings().shopify_configured
    ):
        # A load from Shopify's admin without a token: App Bridge fetches one and reloads.
        return render_template("admin/bounce.html", api_key=get_settings().shopify_api_key)
    admin_auth.authenticate()
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    return admin_auth.secure_response(response)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[str, int]:
    return _error_page(exc.status, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    return _error_page(exc.code or 500, exc.description or exc.name)


def _error_page(status: int, message: str) -> tuple[str, int]:
    identity = g.get("admin")
    context: dict[str, Any] = {"status": status, "message": message}
    if identity is not None:
        try:
            context.update(_frame(identity))
        except LookupError:
            pass
    return render_template("admin/error.html", **context), status


def _frame(identity: AdminIdentity) -> dict[str, Any]:
    settings = get_settings()
    session = get_session()
    return {
        "admin": identity,
        "shop": views.shop_header(session, identity.shop_id),
        "segment_nav": views.segment_list(session, identity.shop_id),
        "api_key": settings.shopify_api_key if identity.embedded else None,
        "notice": NOTICES.get(request.args.get("notice", "")),
    }


def render(template: str, nav: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render an admin page with the shop's header, navigation and App Bridge when embedded."""
    identity = current_admin()
    return render_template(template, nav=nav, **_frame(identity), **context), status


def back_to(endpoint: str, notice: str | None = None, **params: Any) -> Response:
    """A 303 redirect to an admin page (keeping the session token, shop and host when embedded)."""
    values = {k: v for k, v in params.items() if v not in (None, "")}
    if notice:
        values["notice"] = notice
    url = url_for(endpoint, **values)
    return redirect(admin_auth.with_query(url, admin_auth.embedded_query(current_admin())), code=303)


# --- template filters -----------------------------------------------------------------------------


def money(value: Any, currency: str | None = None) -> str:
    """A money amount with thousands separators (two decimals), or a dash."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def percent(value: Any, digits: int = 1) -> str:
    """A share 0..1 as a percentage, or a dash."""
    if value is None:
        return "—"
    return f"{100 * float(value):.{digits}f}%"


def number(value: Any, digits: int = 0) -> str:
    """A number with separators, or a dash."""
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}" if digits else f"{int(round(float(value))):,}"


def heat(value: Any, most: Any) -> str:
    """A heat-map class heat-0 .. heat-5 for `value` relative to `most`."""
    if not value or not most:
        return "heat-0"
    return f"heat-{min(5, 1 + int(4.999 * float(value) / float(most)))}"


def day(value: Any) -> str:
    """A date (or an ISO date string) as YYYY-MM-DD, or a dash."""
    if value is None or value == "":
        return "—"
    return value.isoformat()[:10] if isinstance(value, date | datetime) else str(value)[:10]


def when(value: Any) -> str:
    """A UTC time as `YYYY-MM-DD HH:MM UTC`, or a dash."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def form_auth() -> Markup:
    """The hidden CSRF field of a cookie session's form (embedded forms carry a session token)."""
    identity = g.get("admin")
    if identity is None or identity.embedded:
        return Markup("")
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % csrf_token()


def init_app(app: Flask) -> None:
    """The admin's template filters and the form helper."""
    app.jinja_env.globals["form_auth"] = form_auth
    app.jinja_env.filters.update(money=money, percent=percent, number=number, heat=heat, day=day, when=when)
