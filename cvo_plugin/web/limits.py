"""Request size bound: a body larger than `MAX_REQUEST_BYTES` is refused with 413 before any view runs.

A declared `Content-Length` over the limit is refused at once. A streamed body without one (a
chunked upload; the server marks it `wsgi.input_terminated`) is read here, up to the limit:
Werkzeug would otherwise hand the view a body silently cut at the limit. Views then read the
cached bytes.
"""

from __future__ import annotations

from flask import Flask, abort, request

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def init_app(app: Flask) -> None:
    """Refuse a body above the app's `MAX_CONTENT_LENGTH` before routing it further."""

    @app.before_request
    def _bounded_body() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is None or request.method not in BODY_METHODS:
            return
        length = request.content_length
        if length is not None:
            if length > limit:
                abort(413)
            return
        if request.environ.get("wsgi.input_terminated") and len(request.get_data(cache=True)) >= limit:
            abort(413)
