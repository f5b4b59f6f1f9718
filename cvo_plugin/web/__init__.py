"""HTTP layer: blueprints, JSON errors and security headers. Views stay thin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register every blueprint, the error handlers and the response headers."""
    from cvo_plugin.web import (
        admin,
        csrf,
        errors,
        headers,
        health,
        limits,
        openapi,
        shopify,
        storefront,
        widget,
        woocommerce,
    )

    csrf.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    limits.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(shopify.bp)
    app.register_blueprint(woocommerce.bp)
    app.register_blueprint(storefront.bp)
    widget.init_app(app)
    admin.init_app(app)
