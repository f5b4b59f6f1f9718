"""Errors as JSON `{"error": code, "message": what to do}` with a fitting status."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a route raises on purpose: code, message and status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_response(code: str, message: str, status: int) -> Response:
    """The JSON error body with its status."""
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "unavailable",
}


def init_app(app: Flask) -> None:
    """Answer every error as JSON; never leak internals."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.code, exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = "The request body is too large."
        return error_response(_CODES.get(status, "error"), message, status)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def _database_down(exc: Exception) -> Response:
        log.error("database unavailable: %s", type(exc).__name__)
        return error_response("database_unavailable", "The database is unavailable; try again shortly.", 503)

    @app.errorhandler(DataError)
    def _refused_value(exc: DataError) -> Response:
        # The database refused a value of the request (a NUL character, a number out of range):
        # the request's transaction is rolled back, nothing of it is stored.
        log.warning("a value was refused by the database: %s", type(exc.orig).__name__)
        return error_response(
            "unprocessable",
            "A value in the request cannot be stored (a control character, or out of range).",
            422,
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response("internal_error", "Something went wrong on our side; it has been logged.", 500)
