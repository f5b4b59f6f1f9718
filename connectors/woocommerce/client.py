"""WooCommerce REST API v3 client: the `woocommerce` package plus pagination, retries and errors.

`woocommerce.API` builds the URL and the authentication (HTTP Basic over HTTPS) and returns a
raw `requests.Response` that never raises; this module adds what a sync needs on top:

- one small exception tree (`AuthError`, `RateLimited`, `Transient`, `Permanent`) carrying the
  WooCommerce error body's `code` and `message`;
- one retry policy: 429 and 5xx answers, dropped connections and timeouts are retried with
  bounded exponential backoff (honouring `Retry-After`); 401 and 403 stop at once;
- page reads (`per_page=100`, 1-based `page`, `X-WP-Total` / `X-WP-TotalPages`).

Store URLs must be HTTPS: over plain HTTP the keys would travel in clear (see PLATFORMS.md 9).
Nothing here logs a key, a secret or a request's parameters.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from woocommerce import API

log = logging.getLogger(__name__)

API_VERSION = "wc/v3"
PER_PAGE = 100  # the most WordPress serves per page
USER_AGENT = "CVO-Plugin/0.1 (WooCommerce-Python-REST-API/3.0.0)"
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)


# --- errors ----------------------------------------------------------------------------------


class WooCommerceError(Exception):
    """A call to the store failed; `status` and `code` come from WooCommerce's error body."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        endpoint: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.endpoint = endpoint
        self.retry_after = retry_after  # seconds the store asked us to wait (429/5xx)

    def __str__(self) -> str:
        where = f" ({self.endpoint})" if self.endpoint else ""
        if self.status is None:
            return f"{self.message}{where}"
        code = f" {self.code}" if self.code else ""
        return f"HTTP {self.status}{code}: {self.message}{where}"


class AuthError(WooCommerceError):
    """401 or 403: wrong keys, or keys without the permission the call needs. Never retried."""


class Permanent(WooCommerceError):
    """A request the store refuses for good (4xx other than 401/403/429, or a non-JSON answer)."""


class NotFound(Permanent):
    """404: no such resource or route (`rest_no_route`: no WooCommerce REST API there)."""


class CertificateError(Permanent):
    """The store's TLS certificate is not trusted."""


class Transient(WooCommerceError):
    """5xx answers, timeouts and dropped connections that outlasted every retry."""


class Unreachable(Transient):
    """The store could not be reached at all (DNS, refused connection, timeout)."""


class RateLimited(Transient):
    """429 answers that outlasted every retry (or asked to wait longer than we are willing to)."""


class InsecureStoreURL(ValueError):
    """A store URL that is not HTTPS."""


# --- store URLs ------------------------------------------------------------------------------


def normalize_store_url(raw: str) -> str:
    """`https://host[:port][/path]` for what a merchant typed; refuses plain HTTP and junk.

    A missing scheme means HTTPS; query, fragment and a trailing slash are dropped; the host is
    lower-cased (the path is kept as typed: WordPress may live in a sub-folder).
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("Enter your store's address, e.g. https://shop.example.com.")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "http":
        raise InsecureStoreURL(
            "The store address uses plain HTTP: the API keys would travel unencrypted. "
            "Use your store's https:// address (WooCommerce needs HTTPS for key authentication)."
        )
    if scheme != "https":
        raise ValueError(f"The store address must start with https:// (not {parts.scheme}://).")
    host = (parts.hostname or "").lower()
    if not host or " " in text or parts.username or parts.password:
        raise ValueError("That does not look like a web address; use e.g. https://shop.example.com.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("The store address has an invalid port.") from None
    netloc = f"{host}:{port}" if port and port != 443 else host
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]:{port}" if port and port != 443 else f"[{host}]"
    return urlunsplit(("https", netloc, parts.path.rstrip("/"), "", ""))


# --- retries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: delay n (0-based) is `min(cap, base * 2**n)`, jittered
    to 50-100 %, or the store's `Retry-After` when it sends one (up to `max_retry_after_s`)."""

    max_retries: int = 7
    base_s: float = 0.25
    cap_s: float = 20.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return retry_after
        return min(self.cap_s, self.base_s * 2**attempt) * rng.uniform(0.5, 1.0)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- the client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListPage:
    """One page of a list endpoint."""

    items: list[dict[str, Any]]
    page: int
    total: int
    total_pages: int

    @property
    def is_last(self) -> bool:
        return self.page >= self.total_pages or not self.items


class WooClient:
    """One store's REST API v3, authenticated with a consumer key and secret."""

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        ca_bundle: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.url = normalize_store_url(url)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._api = API(
            url=self.url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            version=API_VERSION,
            wp_api=True,
            timeout=timeout,
            verify_ssl=ca_bundle or True,
            query_string_auth=False,
            user_agent=USER_AGENT,
        )

    def __repr__(self) -> str:  # never show the keys
        return f"<WooClient {self.url}>"

    # --- plain calls --------------------------------------------------------------------------

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET an endpoint and return its JSON."""
        return self.request("GET", endpoint, params=params)[0]

    def post(self, endpoint: str, data: Mapping[str, Any]) -> Any:
        """POST JSON and return the answer's JSON."""
        return self.request("POST", endpoint, data=data)[0]

    def put(self, endpoint: str, data: Mapping[str, Any]) -> Any:
        """PUT JSON and return the answer's JSON."""
        return self.request("PUT", endpoint, data=data)[0]

    def delete(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        """DELETE and return the answer's JSON."""
        return self.request("DELETE", endpoint, params=params)[0]

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """One call with the retry policy: (JSON, headers), or a `WooCommerceError`."""
        attempt = 0
        while True:
            try:
                return self._once(method, endpoint, params, data)
            except Transient as exc:
                wait = exc.retry_after
                if attempt >= self.retry.max_retries or (
                    wait is not None and wait > self.retry.max_retry_after_s
                ):
                    raise
                delay = self.retry.delay(attempt, wait, self._rng)
                log.info(
                    "woocommerce %s %s: %s; retry %d in %.2fs",
                    method,
                    endpoint,
                    type(exc).__name__,
                    attempt + 1,
                    delay,
                )
                self._sleep(delay)
                attempt += 1

    def _once(
        self,
        method: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[Any, Mapping[str, str]]:
        kwargs: dict[str, Any] = {"params": dict(params or {})}
        try:
            if method == "GET":
                response = self._api.get(endpoint, **kwargs)
            elif method == "POST":
                response = self._api.post(endpoint, dict(data or {}), **kwargs)
            elif method == "PUT":
                response = self._api.put(endpoint, dict(data or {}), **kwargs)
            elif method == "DELETE":
                response = self._api.delete(endpoint, **kwargs)
            else:  # pragma: no cover - programming error
                raise ValueError(f"unsupported method {method}")
        except requests.exceptions.SSLError:
            raise CertificateError(
                "the store's HTTPS certificate is not trusted (expired, self-signed or for another name)",
                endpoint=endpoint,
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if _is_dropped(exc):
                raise Transient(
                    "the connection dropped before the answer was complete", endpoint=endpoint
                ) from None
            raise Unreachable("could not connect to the store", endpoint=endpoint) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ReadTimeout):
            raise Transient(
                "the connection dropped or timed out before the answer was complete", endpoint=endpoint
            ) from None
        return self._parse(response, endpoint)

    def _parse(self, response: requests.Response, endpoint: str) -> tuple[Any, Mapping[str, str]]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None and response.content.strip():
                raise Permanent(
                    "the store answered with something that is not JSON (is this a WordPress site "
                    "with its REST API enabled?)",
                    status=status,
                    endpoint=endpoint,
                )
            return body, response.headers
        code, message = _error_fields(body, response)
        if status in (401, 403):
            raise AuthError(message, status=status, code=code, endpoint=endpoint)
        if status == 429 or status >= 500:
            kind = RateLimited if status == 429 else Transient
            wait = _retry_after(response.headers.get("Retry-After"))
            raise kind(message, status=status, code=code, endpoint=endpoint, retry_after=wait)
        if status == 404:
            raise NotFound(message, status=status, code=code, endpoint=endpoint)
        raise Permanent(message, status=status, code=code, endpoint=endpoint)

    # --- pages ------------------------------------------------------------------------------

    def list_page(self, endpoint: str, params: Mapping[str, Any], page: int) -> ListPage:
        """One page (`per_page=100`) of a list endpoint, with its totals."""
        query = {**params, "per_page": PER_PAGE, "page": page}
        body, headers = self.request("GET", endpoint, params=query)
        if not isinstance(body, list):
            raise Permanent("expected a list", endpoint=endpoint)
        total = _int_header(headers, "X-WP-Total")
        total_pages = _int_header(headers, "X-WP-TotalPages")
        if total_pages is None:  # a proxy dropped the headers: keep going while pages are full
            total_pages = page + 1 if len(body) >= PER_PAGE else page
        if total is None:
            total = (page - 1) * PER_PAGE + len(body)
        return ListPage(body, page, total, total_pages)

    def iter_pages(
        self, endpoint: str, params: Mapping[str, Any] | None = None, start: int = 1
    ) -> Iterator[ListPage]:
        """Every page of a list endpoint, until `X-WP-TotalPages`."""
        page = start
        while True:
            current = self.list_page(endpoint, params or {}, page)
            yield current
            if current.is_last:
                return
            page += 1

    def list_all(self, endpoint: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint."""
        return [item for page in self.iter_pages(endpoint, params) for item in page.items]


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _is_dropped(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether a connection error happened after connecting (the answer was cut off)."""
    text = repr(exc)
    return any(
        marker in text
        for marker in ("RemoteDisconnected", "Connection aborted", "IncompleteRead", "Connection broken")
    )


def _error_fields(body: Any, response: requests.Response) -> tuple[str | None, str]:
    """(code, message) from a WooCommerce error body, or a description of the bare status."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        return (str(code) if code is not None else None), body["message"]
    reason = response.reason or "error"
    return None, f"the store answered {response.status_code} {reason}"
