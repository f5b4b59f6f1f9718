"""Process-wide resources shared by the web app, the CLI and jobs: settings, Redis, the task queue."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from redis import Redis

from cvo_plugin.config import Settings

if TYPE_CHECKING:
    from flask import Flask


@lru_cache(maxsize=8)
def redis_client(url: str) -> Redis:
    """A Redis client for `url`, shared within the process (clients pool their connections)."""
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def init_app(app: Flask, settings: Settings) -> None:
    """Keep the settings on the app."""
    app.extensions.setdefault("cvo", {})["settings"] = settings


def get_settings() -> Settings:
    """The app's settings (inside a request or app context)."""
    from flask import current_app

    return current_app.extensions["cvo"]["settings"]


def get_redis() -> Redis | None:
    """The app's Redis client, or None when `REDIS_URL` is unset."""
    settings = get_settings()
    return redis_client(settings.redis_url) if settings.redis_url else None
