"""The widget API's fast path: a cached answer served straight from WSGI, without Flask.

The recommendations endpoint is the app's busiest route. For the common case (a known shop in
this process's directory, an allowed or absent origin, a valid request, the answer in the cache
or known without the database, within the limits) this middleware answers in a few dozen
microseconds with exactly the response the Flask route gives (same headers, body and ETag; a
test compares them). Anything else (a miss, an error, a refusal, another route) goes to Flask
untouched, so every rule and error message stays in one place (`web/widget.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.http import parse_etags

from cvo_plugin.config import Settings
from cvo_plugin.services.widget.ratelimit import Limit
from cvo_plugin.web.errors import ApiError
from cvo_plugin.web.headers import DEFAULT_CSP

PATH = "/widget/v1/recommendations"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WidgetFastPath:
    """WSGI middleware in front of the Flask app (see the module docstring)."""

    def __init__(self, wsgi_app: WSGIApp, runtime: Any, settings: Settings, secure: bool) -> None:
        from cvo_plugin.web import widget

        self.wsgi_app = wsgi_app
        self.runtime = runtime
        self.settings = settings
        self.lookup = widget.lookup
        self.cache_control = widget.API_CACHE_CONTROL
        self.security = [
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Content-Security-Policy", DEFAULT_CSP),
            ("X-Frame-Options", "DENY"),
        ]
        if secure:
            self.security.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        args = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        rt = self.runtime
        shop = rt.directory.peek_key(args.get("shop") or "")
        if shop is None or not shop.active:
            return None
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin.lower() not in shop.origins:
            return None  # same-origin and refused origins: Flask decides
        try:
            found = self.lookup(rt, shop, args)
        except ApiError:
            return None
        if found.found is None:
            return None
        limits = [Limit("shop", str(shop.id), self.settings.widget_rate_limit_shop)]
        client_ip = environ.get("REMOTE_ADDR")
        if client_ip:
            limits.insert(0, Limit("ip", client_ip, self.settings.widget_rate_limit_ip))
        if not rt.limiter.check(limits).allowed:
            return None  # Flask answers the 429 (and counts the request once more)
        cached = found.found
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(cached.etag.strip('"')):
            status, body = "304 NOT MODIFIED", b""
            headers = []
        else:
            status, body = "200 OK", cached.body
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += [("ETag", cached.etag), ("Cache-Control", self.cache_control), ("Vary", "Origin")]
        if origin:
            headers.append(("Access-Control-Allow-Origin", origin))
        return status, headers + self.security, body
