"""Security headers on every response (pages may widen `frame-ancestors` for embedding)."""

from __future__ import annotations

from flask import Flask, Response

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    """Add the headers after each request unless the view set its own."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        if response.headers["Content-Security-Policy"].find("frame-ancestors 'none'") >= 0:
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
