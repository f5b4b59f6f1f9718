"""The admin's JSON under `/admin/api/...` (same sign-in as the pages; errors as JSON)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from cvo_plugin.db import get_session
from cvo_plugin.models import Shop
from cvo_plugin.services.admin import jobs, views
from cvo_plugin.services.crosssell.read import recommend
from cvo_plugin.services.crosssell.settings import crosssell_settings
from cvo_plugin.services.insights import read
from cvo_plugin.services.insights.read import jsonable
from cvo_plugin.services.insights.settings import get_analytics_settings
from cvo_plugin.services.widget_settings import widget_settings
from cvo_plugin.tasks import enqueue_compute
from cvo_plugin.web import admin_auth
from cvo_plugin.web.admin.common import read_errors, task_queue
from cvo_plugin.web.admin_auth import current_admin
from cvo_plugin.web.errors import ApiError

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")


@bp.before_request
def _sign_in() -> None:
    admin_auth.authenticate()


@bp.after_request
def _headers(response: Response) -> Response:
    return admin_auth.secure_response(response)


def _json(value: Any) -> Response:
    return jsonify(jsonable(value))


def _shop_id() -> int:
    return current_admin().shop_id


def _not_computed() -> ApiError:
    return ApiError("not_computed", "Nothing is computed yet: recompute first.", 404)


@bp.get("/summary")
def summary() -> Response:
    """The dashboard's data: segments, RFM grid, CLV by segment, channels."""
    data = views.dashboard(get_session(), _shop_id())
    if data["segments"] is None:
        raise _not_computed()
    return _json(data)


@bp.get("/segments/<key>")
def segment(key: str) -> Response:
    """A segment's ideal-customer profile."""
    with read_errors():
        return _json(read.segment_profile(get_session(), _shop_id(), key))


@bp.get("/segments/<key>/customers")
def segment_customers(key: str) -> Response:
    """One page of a segment's customers (`page`, `per_page`, `q`, `sort`)."""
    try:
        page = int(request.args.get("page", "1"))
        per_page = int(request.args.get("per_page", "50"))
    except ValueError:
        raise ApiError("bad_page", "`page` and `per_page` must be whole numbers.", 400) from None
    try:
        with read_errors():
            result = read.segment_customers(
                get_session(), _shop_id(), key, page=page, per_page=per_page,
                search=(request.args.get("q") or "")[:100] or None,
                sort=request.args.get("sort", "historic_clv"),
            )  # fmt: skip
    except ValueError as exc:
        raise ApiError("bad_request", str(exc), 400) from None
    return _json(
        {"rows": result.rows, "total": result.total, "page": result.page, "per_page": result.per_page,
         "pages": result.pages}
    )  # fmt: skip


@bp.get("/segments/<key>/transitions")
def segment_transitions(key: str) -> Response:
    """Moves into and out of a segment since the previous computation."""
    with read_errors():
        return _json(read.transitions(get_session(), _shop_id(), segment=key))


@bp.get("/crosssells/<product_id>")
def crosssells(product_id: str) -> Response:
    """A product's add-ons (after pins, hides and bundles) with their metrics and explanations."""
    try:
        with read_errors():
            result = recommend(get_session(), _shop_id(), [product_id])
    except ValueError as exc:
        raise ApiError("bad_request", str(exc), 400) from None
    return jsonify(result.as_json())


@bp.get("/channels")
def channels() -> Response:
    """Per-channel CAC, CLV and LTV:CAC, and the stored spend."""
    return _json(views.channels(get_session(), _shop_id()))


@bp.get("/offers")
def offers() -> Response:
    """First-purchase products ranked by what their buyers are worth afterwards."""
    data = views.offers(get_session(), _shop_id())
    if data is None:
        raise _not_computed()
    return _json(data)


@bp.get("/jobs")
def job_list() -> Response:
    """Active runs with live progress, recent runs, syncs and imports (polled by the jobs page)."""
    return _json(jobs.jobs_status(get_session(), task_queue(), _shop_id()))


@bp.get("/jobs/<run_id>")
def job(run_id: str) -> Response:
    """One of the shop's runs (another shop's run is not found)."""
    row = jobs.job_run(get_session(), task_queue(), _shop_id(), run_id[:64])
    if row is None:
        raise ApiError("unknown_job", "This shop has no such job run.", 404)
    return _json(row)


@bp.post("/recompute")
def recompute() -> tuple[Response, int]:
    """Start every computation (joins a run already going); answers the runs."""
    handles = enqueue_compute(task_queue(), _shop_id())
    return jsonify(
        runs=[{"id": h.id, "kind": h.kind, "status": h.status, "joined": h.joined} for h in handles]
    ), 202


@bp.get("/settings")
def settings() -> Response:
    """The shop's analytics, cross-sell and storefront settings."""
    shop = get_session().get(Shop, _shop_id())
    assert shop is not None
    return jsonify(
        analytics=get_analytics_settings(shop).as_dict(),
        crosssell=crosssell_settings(shop).as_dict(),
        widget=widget_settings(shop).as_dict(),
    )
