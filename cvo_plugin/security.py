"""Security checks as small pure functions: platform signatures, session tokens, shop domains.

Every comparison of a secret-derived value uses `hmac.compare_digest`. Nothing here logs.
Sources for each rule are in ../shared/PLATFORMS.md (sections 1-4 for Shopify, 10 for
WooCommerce); the test vectors there are in tests/unit/test_security.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.warnings import InsecureKeyLengthWarning

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.myshopify\.com$")
OAUTH_MAX_AGE_S = 24 * 3600  # ShopifyAPI's validate_params window for install/callback
PROXY_MAX_AGE_S = 90  # shopify-app-js hmac-validator window
SESSION_TOKEN_LEEWAY_S = 10


class SignatureError(ValueError):
    """A signature or token is missing, forged or stale."""


# --- shop domains ------------------------------------------------------------------------------


def sanitize_shop_domain(value: str | None) -> str | None:
    """The `*.myshopify.com` domain in `value` (lower-cased, scheme and path removed), or None."""
    if not value:
        return None
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).netloc
    value = value.split("/")[0]
    return value if SHOP_DOMAIN_RE.fullmatch(value) else None


# --- Shopify OAuth query HMAC (install and callback) ----------------------------------------------


def _escape_oauth(value: str, is_key: bool) -> str:
    value = value.replace("%", "%25").replace("&", "%26")
    return value.replace("=", "%3D") if is_key else value


def oauth_message(params: Mapping[str, str | list[str]]) -> str:
    """The message Shopify signs for install and callback requests.

    `hmac` (and `signature`) are removed, the rest sorted by key and joined as `k=v` with `&`;
    `%`, `&` (and `=` in keys) are escaped; a repeated key's values become `["a", "b"]`.
    """
    parts = []
    for key in sorted(k for k in params if k not in ("hmac", "signature")):
        value = params[key]
        if isinstance(value, list):
            text = "[" + ", ".join(f'"{v}"' for v in value) + "]" if len(value) > 1 else value[0]
        else:
            text = value
        parts.append(f"{_escape_oauth(key, True)}={_escape_oauth(text, False)}")
    return "&".join(parts)


def oauth_hmac(params: Mapping[str, str | list[str]], secret: str) -> str:
    """Hex HMAC-SHA256 of the OAuth message."""
    return hmac.new(secret.encode(), oauth_message(params).encode(), hashlib.sha256).hexdigest()


def verify_oauth_query(
    params: Mapping[str, str | list[str]],
    secret: str,
    now: float | None = None,
    max_age_s: int = OAUTH_MAX_AGE_S,
) -> None:
    """Raise `SignatureError` unless `hmac` signs the query and `timestamp` is recent."""
    given = params.get("hmac")
    if not isinstance(given, str) or not given:
        raise SignatureError("missing hmac")
    if not hmac.compare_digest(oauth_hmac(params, secret), given.lower()):
        raise SignatureError("hmac does not match")
    _check_timestamp(params.get("timestamp"), now, max_age_s)


def _check_timestamp(value: Any, now: float | None, max_age_s: int) -> None:
    try:
        stamp = int(str(value))
    except (TypeError, ValueError):
        raise SignatureError("missing or malformed timestamp") from None
    now = time.time() if now is None else now
    if abs(now - stamp) > max_age_s:
        raise SignatureError("stale timestamp")


# --- webhooks (Shopify and WooCommerce: base64 HMAC-SHA256 of the raw body) ------------------------


def body_hmac_base64(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of a raw request body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_body_hmac(body: bytes, header: str | None, secrets: Iterable[str]) -> None:
    """Raise `SignatureError` unless `header` is the body's HMAC under one of `secrets`.

    Several secrets allow a rotation (Shopify may sign with the old secret for up to an hour).
    """
    if not header:
        raise SignatureError("missing signature header")
    given = header.strip().encode()
    for secret in secrets:
        if secret and hmac.compare_digest(body_hmac_base64(body, secret).encode(), given):
            return
    raise SignatureError("signature does not match")


# --- Shopify app proxy signature ---------------------------------------------------------------


def proxy_message(params: Mapping[str, list[str]]) -> str:
    """The message of an app proxy request: `signature` removed, repeated values joined with
    `,`, sorted by key, `k=v` pairs concatenated with no separator."""
    return "".join(f"{key}={','.join(params[key])}" for key in sorted(k for k in params if k != "signature"))


def verify_proxy_query(
    params: Mapping[str, list[str]], secret: str, now: float | None = None, max_age_s: int = PROXY_MAX_AGE_S
) -> None:
    """Raise `SignatureError` unless the app proxy `signature` is valid and the timestamp recent."""
    for unique in ("signature", "shop", "timestamp"):
        if len(params.get(unique, [])) != 1:
            raise SignatureError(f"{unique} must appear exactly once")
    expected = hmac.new(secret.encode(), proxy_message(params).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params["signature"][0].lower()):
        raise SignatureError("signature does not match")
    _check_timestamp(params["timestamp"][0], now, max_age_s)


# --- Shopify session tokens (App Bridge ID tokens) ------------------------------------------------


@dataclass(frozen=True)
class SessionToken:
    """The verified claims of a session token that matter to the app."""

    shop: str
    user_id: str | None
    session_id: str | None
    expires_at: int
    raw: str


def decode_session_token(
    token: str, api_key: str, secret: str, leeway_s: int = SESSION_TOKEN_LEEWAY_S
) -> SessionToken:
    """Verify an App Bridge session token (HS256 with the app secret, audience = API key,
    `exp`/`nbf` with leeway, `iss` and `dest` on the same valid shop); raise `SignatureError`."""
    if not token or not api_key or not secret:
        raise SignatureError("missing session token")
    try:
        with warnings.catch_warnings():
            # The key is the platform's app secret: its length is not ours to choose.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=api_key,
                leeway=leeway_s,
                options={"require": ["exp", "nbf", "iss", "dest", "aud"]},
            )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"invalid session token ({type(exc).__name__})") from None
    dest = sanitize_shop_domain(str(claims.get("dest", "")))
    issuer = urlsplit(str(claims.get("iss", ""))).netloc.lower()
    if dest is None or issuer != dest:
        raise SignatureError("session token issuer and destination do not name the same shop")
    return SessionToken(
        shop=dest,
        user_id=str(claims["sub"]) if claims.get("sub") is not None else None,
        session_id=claims.get("sid"),
        expires_at=int(claims["exp"]),
        raw=token,
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
