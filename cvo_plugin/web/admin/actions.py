"""The admin's forms (POST): recompute, cross-sell pins, hides and bundles, spend upload, settings.

Each validates through its service, commits, and redirects back (303) with a notice; a refused
form re-renders its page with the reason (400) and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from cvo_plugin.db import get_session
from cvo_plugin.models import Shop
from cvo_plugin.services.crosssell import controls
from cvo_plugin.services.crosssell.settings import SETTINGS_HELP as CROSSSELL_HELP
from cvo_plugin.services.crosssell.settings import SettingsError, update_crosssell_settings
from cvo_plugin.services.insights.settings import AnalyticsSettingsError, update_analytics_settings
from cvo_plugin.services.insights.spend import ImportFormatError, import_spend_upload
from cvo_plugin.services.widget_settings import WidgetSettingsError, update_widget_settings
from cvo_plugin.tasks import enqueue_compute
from cvo_plugin.web.admin.common import back_to, bp, task_queue
from cvo_plugin.web.admin.pages import channels_page, crosssells_page, settings_page
from cvo_plugin.web.admin_auth import current_admin

_FLAGS = ("enabled", "segment_tags")


def _shop() -> Shop:
    shop = get_session().get(Shop, current_admin().shop_id)
    assert shop is not None  # authenticate() found it
    return shop


def _field(name: str, limit: int = 255) -> str:
    return (request.form.get(name) or "").strip()[:limit]


@bp.post("/recompute")
def recompute() -> Any:
    """Start every computation of the shop (joins a run already going)."""
    enqueue_compute(task_queue(), current_admin().shop_id)
    return back_to("admin.jobs_page", "recompute")


def _control(action: str) -> Any:
    shop_id = current_admin().shop_id
    session = get_session()
    product = _field("product", 64)
    other = _field("other", 64)
    try:
        if action == "pin":
            try:
                position = int(_field("position", 8) or "1")
            except ValueError:
                raise controls.ControlError("position must be a whole number") from None
            controls.pin(session, shop_id, product, other, position)
        elif action == "unpin":
            controls.unpin(session, shop_id, product, other)
        elif action == "hide":
            everywhere = request.form.get("everywhere") == "on"
            controls.hide(session, shop_id, None if everywhere else product, other)
        elif action == "unhide":
            controls.unhide(session, shop_id, _field("scope", 64) or None, other)
    except controls.ControlError as exc:
        session.rollback()
        return crosssells_page(400, str(exc))
    session.commit()
    notice = {"pin": "pinned", "unpin": "unpinned", "hide": "hidden", "unhide": "unhidden"}[action]
    return back_to("admin.crosssells", notice, product=product or None)


@bp.post("/crosssells/pin")
def pin() -> Any:
    """Pin a product at a position of another's add-ons."""
    return _control("pin")


@bp.post("/crosssells/unpin")
def unpin() -> Any:
    """Remove a pin."""
    return _control("unpin")


@bp.post("/crosssells/hide")
def hide() -> Any:
    """Never recommend a product for another (or anywhere)."""
    return _control("hide")


@bp.post("/crosssells/unhide")
def unhide() -> Any:
    """Remove a hide."""
    return _control("unhide")


@bp.post("/crosssells/bundles")
def save_bundle() -> Any:
    """Create or replace a bundle: a name and 2 to 10 product ids (comma-separated)."""
    session = get_session()
    products = [p.strip() for p in _field("products", 2000).split(",") if p.strip()]
    try:
        controls.save_bundle(session, current_admin().shop_id, _field("name"), products)
    except controls.ControlError as exc:
        session.rollback()
        return crosssells_page(400, str(exc))
    session.commit()
    return back_to("admin.crosssells", "bundle_saved", product=_field("product", 64) or None)


@bp.post("/crosssells/bundles/<int:bundle_id>/delete")
def delete_bundle(bundle_id: int) -> Any:
    """Delete one of the shop's bundles (another shop's is not found)."""
    session = get_session()
    if not controls.delete_bundle(session, current_admin().shop_id, bundle_id):
        session.rollback()
        return crosssells_page(404, "This shop has no such bundle.")
    session.commit()
    return back_to("admin.crosssells", "bundle_deleted", product=_field("product", 64) or None)


@bp.post("/channels/spend")
def upload_spend() -> Any:
    """Import a marketing spend CSV (`channel,month,amount`); a bad row stores nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return channels_page(400, "Choose a CSV file with the columns channel, month, amount.")
    session = get_session()
    try:
        import_spend_upload(session, _shop(), upload.stream, upload.filename)
    except ImportFormatError as exc:
        session.rollback()
        return channels_page(400, str(exc))
    session.commit()
    return back_to("admin.channels", "spend_imported")


def _analytics_values() -> dict[str, Any]:
    values: dict[str, Any] = {
        "gross_margin": _field("gross_margin", 32),
        "expected_lifespan_years": _field("expected_lifespan_years", 32),
        "rfm_scale": _field("rfm_scale", 8),
        "segment_preset": _field("segment_preset", 64),
        "segment_names": {
            name[len("name_") :]: value.strip()[:64]
            for name, value in request.form.items()
            if name.startswith("name_") and len(name) <= 80
        },
    }
    rules = _field("segment_rules", 20_000)
    if rules:
        try:
            values["segment_rules"] = json.loads(rules)
        except ValueError:
            raise AnalyticsSettingsError({"segment_rules": "must be JSON: a list of segments"}) from None
    elif request.form.get("clear_rules") == "on":
        values["segment_rules"] = None
    return values


@bp.post("/settings/<section>")
def save_settings(section: str) -> Any:
    """Save one section of the settings: `analytics`, `crosssell` or `widget`."""
    session = get_session()
    shop = _shop()
    try:
        if section == "analytics":
            update_analytics_settings(shop, _analytics_values())
        elif section == "crosssell":
            values = {n: _field(n, 32) for n in CROSSSELL_HELP if n in request.form}
            update_crosssell_settings(session, shop, values)
        elif section == "widget":
            flags: dict[str, Any] = {n: request.form.getlist(n)[-1] for n in _FLAGS if n in request.form}
            if "holdout_share" in request.form:
                flags["holdout_share"] = _field("holdout_share", 32)
            update_widget_settings(session, shop, flags)
        else:
            return settings_page(404, {"form": "No such settings section."})
    except AnalyticsSettingsError as exc:
        session.rollback()
        return settings_page(400, exc.errors, section)
    except (SettingsError, WidgetSettingsError) as exc:
        session.rollback()
        return settings_page(400, {"form": str(exc)}, section)
    session.commit()
    return back_to("admin.settings", "settings_saved")
