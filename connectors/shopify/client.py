"""The Admin GraphQL client: ShopifyAPI's session and GraphQL classes, made safe for workers.

What it adds to the package:

- **Scoped sessions.** ShopifyAPI keeps the active session in class-level, thread-local state
  (`ShopifyResource.activate_session`). Each call activates the shop's session under a lock
  only long enough for `shopify.GraphQL()` to read its endpoint and headers, then clears it,
  so no credentials outlive the call or leak to another shop or thread.
- **Timeouts** on every request (the package sets none) and no printing of response bodies.
- **Cost-based throttling.** Every response reports `extensions.cost.throttleStatus`; before
  sending a document again the client waits until the bucket (restored at `restoreRate`
  points a second) holds what the document cost last time, so it rarely hits the limit.
  `THROTTLED` answers are retried after `(requested - available) / restoreRate` seconds.
- **Bounded retries** with exponential back-off and jitter for 429, 5xx, timeouts and dropped
  connections; a 401 refreshes the token once (`TokenSource.refresh`).
- **One exception tree** (`connectors.shopify.errors`); messages carry Shopify's request id.

`SHOPIFY_ADMIN_ORIGIN` (`admin_origin`) sends the calls to another origin, such as the local
stand-in the tests run.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import shopify

from connectors.shopify.errors import AuthError, Permanent, RateLimited, ShopifyError, Transient
from cvo_plugin.config import DEFAULT_API_VERSION

log = logging.getLogger(__name__)

QUERIES_DIR = Path(__file__).with_name("queries")
FRAGMENTS_DIR = QUERIES_DIR / "fragments"
_FRAGMENT_SPREAD = re.compile(r"\.\.\.([A-Z]\w*)")

# ShopifyAPI's session state is process-wide class state: activate, copy, clear under one lock.
_ACTIVATION_LOCK = threading.Lock()

NETWORK_ERRORS = (TimeoutError, ConnectionError, urllib.error.URLError, http.client.HTTPException, OSError)


# --- documents ----------------------------------------------------------------------------------


def _fragment(name: str) -> str:
    return (FRAGMENTS_DIR / f"{name}.graphql").read_text()


def _fragment_body(name: str) -> str:
    """The selection inside `fragment Name on Type { ... }`."""
    text = _fragment(name)
    return text[text.index("{") + 1 : text.rindex("}")]


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@lru_cache(maxsize=64)
def load_document(name: str) -> str:
    """The GraphQL document `queries/<name>.graphql`, ready to send.

    Named fragments (`...OrderFields`, kept in `queries/fragments/`) are appended as fragment
    definitions; in bulk queries (`bulk/...`) they are written out in place instead, so the
    query Shopify runs in bulk is one plain selection.
    """
    text = _strip_comments((QUERIES_DIR / f"{name}.graphql").read_text())
    if name.startswith("bulk/"):
        while _FRAGMENT_SPREAD.search(text):
            text = _FRAGMENT_SPREAD.sub(lambda m: _fragment_body(m.group(1)), text)
        return text.strip() + "\n"
    included: list[str] = []
    pending = list(dict.fromkeys(_FRAGMENT_SPREAD.findall(text)))
    while pending:
        fragment = pending.pop(0)
        if fragment not in included:
            included.append(fragment)
            pending.extend(_FRAGMENT_SPREAD.findall(_fragment(fragment)))
    return "\n".join([text.strip()] + [_fragment(f).strip() for f in included]) + "\n"


def document_names() -> list[str]:
    """Every document the connector sends (bulk queries included), by name."""
    return sorted(
        str(p.relative_to(QUERIES_DIR).with_suffix(""))
        for p in QUERIES_DIR.rglob("*.graphql")
        if FRAGMENTS_DIR not in p.parents
    )


# --- tokens -------------------------------------------------------------------------------------


class TokenSource(Protocol):
    """Where the client gets the shop's access token, and a fresh one after a 401."""

    def token(self) -> str: ...

    def refresh(self, stale: str) -> str: ...


@dataclass(frozen=True)
class StaticToken:
    """A token that cannot be refreshed (non-expiring offline tokens, tests)."""

    value: str = field(repr=False)

    def token(self) -> str:
        return self.value

    def refresh(self, stale: str) -> str:
        raise AuthError("Shopify refused the access token and it cannot be refreshed; reinstall the app")


# --- transport ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id") or self.headers.get("x-request-id")


class _Transport(shopify.GraphQL):
    """`shopify.GraphQL` with a timeout, its own copy of the headers, and the raw response."""

    def __init__(self, timeout: float) -> None:
        super().__init__()  # endpoint and headers of the session active right now
        self.headers = dict(self.headers)  # the session is cleared as soon as we are built
        self.timeout = timeout

    def send(self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None) -> Response:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
        )
        data = json.dumps({"query": query, "variables": variables, "operationName": operation_name})
        request = urllib.request.Request(self.endpoint, data.encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Response(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(exc.code, dict(exc.headers.items()), exc.read())


@dataclass
class Bucket:
    """The last cost report: what the bucket held, how fast it refills, when we saw it."""

    maximum: float
    available: float
    restore_rate: float
    seen_at: float

    def available_at(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(now - self.seen_at, 0.0))


@dataclass
class ClientStats:
    """What the client went through (for logs, progress messages and tests)."""

    requests: int = 0
    throttled: int = 0
    waited_s: float = 0.0
    retries: int = 0
    refreshed: int = 0


class GraphQLClient:
    """Sends GraphQL documents to one shop's Admin API and returns their `data`."""

    def __init__(
        self,
        shop: str,
        tokens: TokenSource | str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        admin_origin: str | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        throttle_retries: int = 12,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shop = shop
        self.tokens: TokenSource = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.api_version = api_version
        self.admin_origin = admin_origin.rstrip("/") if admin_origin else None
        self.timeout = timeout
        self.retries = retries
        self.throttle_retries = throttle_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.clock = clock
        self.bucket: Bucket | None = None
        self.stats = ClientStats()
        self._expected_cost: dict[str, float] = {}

    # --- public -----------------------------------------------------------------------------

    def query(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run the named document of `queries/` and return its data."""
        return self.execute(load_document(name), variables)

    def execute(
        self, document: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """Run `document` and return its `data`; raise a `ShopifyError` subclass on failure."""
        failures = throttles = 0
        refreshed = False
        while True:
            self._wait_for(self._expected_cost.get(document, 0.0))
            token = self.tokens.token()
            try:
                response = self._transport(token).send(document, variables, operation_name)
            except NETWORK_ERRORS as exc:
                failures = self._retry_or_raise(failures, Transient(f"no answer from Shopify ({exc})"))
                continue
            self.stats.requests += 1
            rid = response.request_id
            status = response.status
            if status == 401:
                if refreshed:
                    raise AuthError("Shopify refused the refreshed access token", rid, status)
                self.tokens.refresh(token)
                self.stats.refreshed += 1
                refreshed = True
                continue
            if status == 403:
                raise AuthError(f"Shopify denied access: {error_text(response.body)}", rid, status)
            if status == 429:
                throttles = self._throttled(throttles, rid, _retry_after(response.headers))
                continue
            if status >= 500:
                failures = self._retry_or_raise(
                    failures, Transient(f"Shopify answered {status}", rid, status)
                )
                continue
            if status >= 400:
                raise Permanent(f"Shopify answered {status}: {error_text(response.body)}", rid, status)
            try:
                payload = json.loads(response.body)
            except ValueError:
                failures = self._retry_or_raise(failures, Transient("Shopify sent a broken JSON body", rid))
                continue
            cost = (payload.get("extensions") or {}).get("cost")
            self._observe(document, cost)
            errors = payload.get("errors")
            if errors:
                codes = {_error_code(e) for e in errors} if isinstance(errors, list) else set()
                if "THROTTLED" in codes:
                    throttles = self._throttled(throttles, rid, self._throttle_wait(cost))
                    continue
                message = error_text(response.body)
                if "ACCESS_DENIED" in codes:
                    raise AuthError(f"Shopify denied access: {message}", rid, status)
                raise Permanent(f"Shopify rejected the query: {message}", rid, status)
            data = payload.get("data")
            if not isinstance(data, dict):
                raise Permanent("Shopify answered without data", rid, status)
            return data

    # --- internals --------------------------------------------------------------------------

    def _transport(self, token: str) -> _Transport:
        session = shopify.Session(self.shop, self.api_version, token)
        with _ACTIVATION_LOCK:
            shopify.ShopifyResource.activate_session(session)
            try:
                if self.admin_origin:
                    shopify.ShopifyResource.site = f"{self.admin_origin}/admin/api/{self.api_version}"
                return _Transport(self.timeout)
            finally:
                shopify.ShopifyResource.clear_session()

    def _observe(self, document: str, cost: Any) -> None:
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") or {}
        try:
            self.bucket = Bucket(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                seen_at=self.clock(),
            )
        except (KeyError, TypeError, ValueError):
            return
        if cost.get("requestedQueryCost") is not None:
            self._expected_cost[document] = float(cost["requestedQueryCost"])

    def _wait_for(self, expected: float) -> None:
        """Sleep until the bucket holds `expected` points (what the document cost last time)."""
        bucket = self.bucket
        if bucket is None or expected <= 0 or bucket.restore_rate <= 0:
            return
        needed = min(expected, bucket.maximum)
        available = bucket.available_at(self.clock())
        if available < needed:
            self._pause((needed - available) / bucket.restore_rate)

    def _throttle_wait(self, cost: Any) -> float:
        bucket = self.bucket
        requested = (cost or {}).get("requestedQueryCost") if isinstance(cost, dict) else None
        if bucket is None or bucket.restore_rate <= 0 or requested is None:
            return self.backoff_s
        return max((float(requested) - bucket.available) / bucket.restore_rate, 0.05)

    def _throttled(self, attempts: int, request_id: str | None, wait_s: float | None) -> int:
        self.stats.throttled += 1
        attempts += 1
        if attempts > self.throttle_retries:
            raise RateLimited(f"still throttled after {self.throttle_retries} waits", request_id, 429)
        if wait_s is None:
            wait_s = self._backoff(attempts)
        self._pause(wait_s * (1.0 + 0.1 * random.random()))
        return attempts

    def _retry_or_raise(self, attempts: int, error: ShopifyError) -> int:
        attempts += 1
        if attempts > self.retries:
            raise error
        self.stats.retries += 1
        log.info("retrying a Shopify call for %s: %s", self.shop, error)
        self._pause(self._backoff(attempts))
        return attempts

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited_s += seconds
            self.sleep(seconds)


def _error_code(error: Any) -> str | None:
    if isinstance(error, dict):
        return (error.get("extensions") or {}).get("code")
    return None


def error_text(body: bytes, limit: int = 500) -> str:
    """Shopify's error messages from a body, shortened (bodies are never logged whole)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:limit].decode("utf-8", "replace")
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list):
        text = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    elif errors is not None:
        text = str(errors)
    else:
        text = str(payload.get("error_description") or payload.get("error") or payload)
    return text[:limit]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
