"""Getting and renewing a shop's offline access token (PLATFORMS.md section 1).

Three grants, all a POST to `https://{shop}/admin/oauth/access_token`:

- the authorization-code grant that ends the OAuth install (`exchange_code`);
- token exchange, Shopify's recommended path for embedded apps: an App Bridge session token
  in, an offline token out (`exchange_session_token`);
- the refresh grant for expiring offline tokens (`refresh_access_token`).

Expiring offline tokens (`expiring=1`) come with `expires_in`, `refresh_token` and
`refresh_token_expires_in`; public apps created from 2026-04-01 must use them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.shopify.client import NETWORK_ERRORS, error_text
from connectors.shopify.errors import AuthError, Permanent, Transient

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
REFRESH_GRANT = "refresh_token"

# Scopes Shopify must approve separately; without them the app still works, with less data.
OPTIONAL_SCOPES = frozenset({"read_all_orders"})


@dataclass(frozen=True)
class AppCredentials:
    """The app's identity at Shopify, and where its Admin API lives (a stand-in in tests)."""

    api_key: str
    api_secret: str = field(repr=False)
    admin_origin: str | None = None
    timeout: float = 15.0

    def admin_base(self, shop: str) -> str:
        """`https://{shop}`, or the configured origin."""
        return self.admin_origin.rstrip("/") if self.admin_origin else f"https://{shop}"


@dataclass(frozen=True)
class TokenGrant:
    """What Shopify granted: the token, its scopes and, for expiring tokens, when it lapses."""

    access_token: str = field(repr=False)
    scopes: frozenset[str]
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None


def parse_scopes(value: str | Iterable[str] | None) -> frozenset[str]:
    """Scopes from Shopify's comma-separated list (or any iterable), lower-cased."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(s.strip().lower() for s in items if s and s.strip())


def effective_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes with what they imply: `write_x` grants `read_x`."""
    result = set(scopes)
    result.update("read_" + s[len("write_") :] for s in scopes if s.startswith("write_"))
    return frozenset(result)


def missing_scopes(requested: Iterable[str], granted: Iterable[str]) -> list[str]:
    """Required scopes (those asked for, less the optional ones) that were not granted."""
    have = effective_scopes(granted)
    return sorted(s for s in set(requested) - OPTIONAL_SCOPES if s not in have)


def authorize_url(
    app: AppCredentials, shop: str, scopes: Iterable[str], redirect_uri: str, state: str
) -> str:
    """Where to send the merchant to approve the app (offline access: no `grant_options[]`)."""
    query = urlencode(
        {"client_id": app.api_key, "scope": ",".join(scopes), "redirect_uri": redirect_uri, "state": state}
    )
    return f"{app.admin_base(shop)}/admin/oauth/authorize?{query}"


def exchange_code(app: AppCredentials, shop: str, code: str, expiring: bool = True) -> TokenGrant:
    """The offline token for the `code` of an OAuth callback."""
    return _grant(app, shop, {"code": code, "expiring": "1" if expiring else "0"})


def exchange_session_token(
    app: AppCredentials, shop: str, session_token: str, expiring: bool = True
) -> TokenGrant:
    """The offline token for a (verified) App Bridge session token."""
    return _grant(
        app,
        shop,
        {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
            "expiring": "1" if expiring else "0",
        },
    )


def refresh_access_token(app: AppCredentials, shop: str, refresh_token: str) -> TokenGrant:
    """A new access token (and refresh token) for an expiring offline token."""
    return _grant(app, shop, {"grant_type": REFRESH_GRANT, "refresh_token": refresh_token})


def _grant(app: AppCredentials, shop: str, fields: Mapping[str, str]) -> TokenGrant:
    body = json.dumps({"client_id": app.api_key, "client_secret": app.api_secret, **fields}).encode()
    request = urllib.request.Request(
        f"{app.admin_base(shop)}/admin/oauth/access_token",
        body,
        {"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=app.timeout) as response:
            status, payload, rid = response.status, response.read(), response.headers.get("X-Request-Id")
    except urllib.error.HTTPError as exc:
        with exc:
            status, payload, rid = exc.code, exc.read(), exc.headers.get("X-Request-Id")
    except NETWORK_ERRORS as exc:
        raise Transient(f"no answer from Shopify's token endpoint ({exc})") from None
    if status in (400, 401, 403):
        raise AuthError(f"Shopify refused the token request: {error_text(payload)}", rid, status)
    if status >= 500 or status == 429:
        raise Transient(f"Shopify's token endpoint answered {status}", rid, status)
    if status >= 300:
        raise Permanent(f"Shopify's token endpoint answered {status}", rid, status)
    try:
        data: dict[str, Any] = json.loads(payload)
        token = str(data["access_token"])
    except (ValueError, KeyError, TypeError):
        raise Permanent("Shopify's token endpoint answered without an access token", rid) from None
    return grant_from_response(data, token)


def grant_from_response(data: Mapping[str, Any], token: str, now: datetime | None = None) -> TokenGrant:
    """A `TokenGrant` from the token endpoint's JSON."""
    now = now or datetime.now(UTC)

    def after(seconds: Any) -> datetime | None:
        try:
            return now + timedelta(seconds=int(seconds)) if seconds is not None else None
        except (TypeError, ValueError):
            return None

    return TokenGrant(
        access_token=token,
        scopes=parse_scopes(data.get("scope")),
        expires_at=after(data.get("expires_in")),
        refresh_token=data.get("refresh_token") or None,
        refresh_token_expires_at=after(data.get("refresh_token_expires_in")),
    )
