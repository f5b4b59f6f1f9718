"""`GET /healthz`: the state of the database and Redis, for load balancers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from cvo_plugin.db import get_database
from cvo_plugin.runtime import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers (Redis is reported, not required); 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        with get_database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "down" to a load balancer
        checks["database"] = "unavailable"
    redis = get_redis()
    if redis is None:
        checks["redis"] = "not configured"
    else:
        try:
            redis.ping()
            checks["redis"] = "ok"
        except Exception:  # noqa: BLE001
            checks["redis"] = "unavailable"
    healthy = checks["database"] == "ok"
    status = (
        "ok"
        if healthy and checks["redis"] in ("ok", "not configured")
        else ("degraded" if healthy else "down")
    )
    response = jsonify(status=status, **checks)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503
