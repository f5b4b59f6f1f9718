from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cvo_plugin import create_app
from tests.conftest import app_overrides


def test_healthz_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not configured"}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.redis
def test_healthz_with_redis(database_url: str, redis_url: str, tmp_path: Path) -> None:
    app = create_app(app_overrides(database_url, tmp_path, REDIS_URL=redis_url))
    try:
        assert app.test_client().get("/healthz").get_json()["redis"] == "ok"
    finally:
        app.extensions["cvo"]["db"].dispose()


def test_healthz_when_the_services_are_down(tmp_path: Path) -> None:
    app = create_app(
        app_overrides(
            "postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, REDIS_URL="redis://127.0.0.1:1/0"
        )
    )
    response = app.test_client().get("/healthz")
    app.extensions["cvo"]["db"].dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "down", "database": "unavailable", "redis": "unavailable"}


def test_unknown_routes_answer_json(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
