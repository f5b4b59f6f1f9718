"""CSRF protection for cookie-authenticated forms: a per-session token in each form or header.

Requests authenticated by a bearer session token carry no ambient credentials and need none.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, request, session

from cvo_plugin.security import bearer_token

CSRF_SESSION_KEY = "cvo_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

F = TypeVar("F", bound=Callable[..., Any])


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Abort with 403 when an unsafe, cookie-authenticated request lacks the session's token."""
    if request.method not in UNSAFE_METHODS or bearer_token(request.headers.get("Authorization")):
        return
    expected = session.get(CSRF_SESSION_KEY)
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        abort(
            403,
            description="The form has expired or did not come from this app; reload the page and try again.",
        )


def csrf_protect(view: F) -> F:
    """Decorate a view so unsafe methods need the CSRF token."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check_csrf()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Make `csrf_token()` available in templates."""
    app.jinja_env.globals["csrf_token"] = csrf_token
