"""CVO plugin backend: `create_app()` builds the Flask (WSGI) app; gunicorn runs `cvo_plugin:create_app()`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def _templates_dir() -> str:
    """The Jinja templates: the installed `cvo_templates` package, or `templates/` in a checkout."""
    try:
        import cvo_templates

        return str(Path(cvo_templates.__file__).parent)
    except ImportError:  # pragma: no cover - running from a source tree without installing
        return str(Path(__file__).resolve().parent.parent / "templates")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (defaults, `.env`, environment, then `overrides`), resources, blueprints."""
    from cvo_plugin import db, runtime, web
    from cvo_plugin.config import Settings

    settings = Settings.from_env(overrides)
    app = Flask(
        __name__,
        template_folder=_templates_dir(),
        static_folder="static",
        instance_path=str(Path(settings.instance_dir).resolve()),
    )
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_SECURE=settings.app_url.startswith("https://"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # an admin-link sign-in lasts a working day
        JSON_SORT_KEYS=False,
        TESTING=settings.env == "testing",
    )
    runtime.init_app(app, settings)
    db.init_app(app, db.Database.from_settings(settings))
    web.init_app(app)
    return app
