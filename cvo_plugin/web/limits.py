"""Request size bound: a body larger than `MAX_REQUEST_BYTES` is refused with 413 before any view runs.

Flask's `MAX_CONTENT_LENGTH` already stops a body that is read past the limit (chunked uploads
included); checking the declared length first refuses an oversized request before a view spends
anything on it (a signature check, a database look-up).
"""

from __future__ import annotations

from flask import Flask, abort, request


def init_app(app: Flask) -> None:
    """Refuse a declared body above the app's `MAX_CONTENT_LENGTH` before routing it further."""

    @app.before_request
    def _bounded_body() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        length = request.content_length
        if limit is not None and length is not None and length > limit:
            abort(413)
