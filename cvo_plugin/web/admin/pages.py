"""The admin's pages (GET): dashboard, segment, cross-sells, channels, offers, sync and jobs, settings."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, request

from cvo_plugin.analytics.segments import PRESETS
from cvo_plugin.db import get_database, get_session
from cvo_plugin.models import Shop
from cvo_plugin.services.admin import jobs, views
from cvo_plugin.services.crosssell.settings import SETTINGS_HELP as CROSSSELL_HELP
from cvo_plugin.services.crosssell.settings import crosssell_settings
from cvo_plugin.services.insights import read
from cvo_plugin.services.insights.settings import SCALES, get_analytics_settings
from cvo_plugin.services.segment_tags import write_log
from cvo_plugin.services.widget.attribution import widget_panel
from cvo_plugin.services.widget_settings import SETTINGS_HELP as WIDGET_HELP
from cvo_plugin.services.widget_settings import widget_settings
from cvo_plugin.web.admin.common import bp, read_errors, render, task_queue
from cvo_plugin.web.admin_auth import current_admin
from cvo_plugin.web.errors import ApiError

EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "segment",
    "historic_clv",
    "predicted_clv_12m",
    "last_order_on",
    "orders",
    "accepts_marketing",
)


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        raise ApiError("bad_page", "`page` must be a whole number.", 400) from None


@bp.get("/")
def dashboard() -> Any:
    """Segment summary, RFM heat map, predicted CLV by segment, LTV:CAC by channel."""
    data = views.dashboard(get_session(), current_admin().shop_id)
    return render("admin/dashboard.html", "dashboard", data=data)


@bp.get("/segments/<key>")
def segment(key: str) -> Any:
    """A segment's ideal-customer profile, its customers (paged, searchable) and its moves."""
    search = (request.args.get("q") or "").strip()[:100] or None
    sort = request.args.get("sort", "historic_clv")
    if sort not in read.SORTS:
        raise ApiError("bad_sort", f"`sort` must be one of {', '.join(read.SORTS)}.", 400)
    with read_errors():
        data = views.segment_page(
            get_session(), current_admin().shop_id, key, page=_page_number(), search=search, sort=sort
        )
    return render(
        "admin/segment.html", "segment", data=data, key=key, search=search or "", sort=sort,
        sorts=list(read.SORTS), weekdays=views.WEEKDAYS,
    )  # fmt: skip


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start with these as formulas: keep them text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/segments/<key>/export.csv")
def export_segment(key: str) -> Response:
    """The segment's audience as CSV (e-mail, name, segment, CLV, last order, consent), streamed."""
    shop_id = current_admin().shop_id
    with read_errors():
        views.check_segment(get_session(), shop_id, key)
    database = get_database()

    def generate() -> Iterator[str]:
        # Its own session: the rows stream after the request's session has closed.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        with database.sessionmaker() as session:
            for n, row in enumerate(read.audience_rows(session, shop_id, key)):
                writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])
                if n % 1000 == 999:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audience-{key}.csv"'
    return response


def crosssells_page(status: int = 200, error: str | None = None) -> Any:
    """The cross-sells page (also re-rendered with an error by the actions)."""
    product_id = (request.values.get("product") or "").strip()[:64] or None
    search = (request.args.get("q") or "").strip()[:100] or None
    with read_errors():
        data = views.crosssells(get_session(), current_admin().shop_id, product_id, search, _page_number())
        widget = widget_panel(get_session(), current_admin().shop_id)
    return render(
        "admin/crosssells.html", "crosssells", status, data=data, product_id=product_id, search=search or "",
        error=error, widget=widget,
    )  # fmt: skip


@bp.get("/crosssells")
def crosssells() -> Any:
    """Per product: the recommendations with orders together, confidence and lift in words."""
    return crosssells_page()


def channels_page(status: int = 200, error: str | None = None) -> Any:
    """The channels page (also re-rendered with an upload error)."""
    data = views.channels(get_session(), current_admin().shop_id)
    return render("admin/channels.html", "channels", status, data=data, error=error)


@bp.get("/channels")
def channels() -> Any:
    """Per-channel CAC, CLV and LTV:CAC, and the marketing spend upload."""
    return channels_page()


@bp.get("/offers")
def offers() -> Any:
    """First-purchase products ranked by what their buyers are worth afterwards."""
    return render("admin/offers.html", "offers", data=views.offers(get_session(), current_admin().shop_id))


@bp.get("/jobs")
def jobs_page() -> Any:
    """Running jobs with live progress, recent runs, each resource's last sync."""
    data = jobs.jobs_status(get_session(), task_queue(), current_admin().shop_id)
    return render("admin/jobs.html", "jobs", data=data)


def settings_page(status: int = 200, errors: dict[str, str] | None = None, section: str | None = None) -> Any:
    """The settings page (also re-rendered with the errors of a refused form)."""
    session = get_session()
    shop = session.get(Shop, current_admin().shop_id)
    assert shop is not None
    analytics = get_analytics_settings(shop)
    return render(
        "admin/settings.html", "settings", status,
        analytics=analytics, table=analytics.segment_table().to_dict(), scales=SCALES, presets=list(PRESETS),
        crosssell=crosssell_settings(shop), crosssell_help=CROSSSELL_HELP,
        widget=widget_settings(shop), widget_help=WIDGET_HELP, tag_log=write_log(session, shop.id, limit=20),
        errors=errors or {}, section=section,
    )  # fmt: skip


@bp.get("/settings")
def settings() -> Any:
    """Margin, segment table and names, cross-sell thresholds, widget switch and holdout share."""
    return settings_page()
