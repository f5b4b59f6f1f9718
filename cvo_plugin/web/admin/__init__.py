"""The embedded admin: pages under `/admin/...`, JSON under `/admin/api/...`.

Every request is signed in first (`cvo_plugin.web.admin_auth`): a Shopify session token or the
cookie of a one-time link. Views are thin: they call `cvo_plugin.services.admin` and the
analytics, cross-sell and settings services with the signed-in shop's id, and render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the admin's blueprints and template filters."""
    from cvo_plugin.web.admin import actions, api, common, pages, signin  # noqa: F401 (routes)

    common.init_app(app)
    app.register_blueprint(common.bp)
    app.register_blueprint(api.bp)
