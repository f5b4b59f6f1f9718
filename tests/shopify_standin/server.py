"""A local stand-in for Shopify's Admin API: a real HTTP server on loopback, in a thread.

Serves, for one generated shop (`Store`):

- `POST /admin/api/<version>/graphql.json`: GraphQL on Shopify's real schema (see `api.py`),
  with the `X-Shopify-Access-Token` checked, query cost reported in `extensions.cost`, a leaky
  bucket (`THROTTLED` errors when it runs dry), `MAX_COST_EXCEEDED` over 1,000 points, and
  faults on demand (`fail_next(429 | 5xx)`, `drop_next()`);
- `GET /admin/oauth/authorize`: approves at once (as a merchant clicking "Install") and
  redirects to the app's callback with a signed query;
- `POST /admin/oauth/access_token`: the code grant, token exchange (an HS256 session token in)
  and the refresh grant; tokens expire (`token_ttl_s`) and refreshing revokes the old one;
- `GET /bulk/<file>`: bulk results, optionally slowed (`download_rate`) or cut short.

`webhook(topic, payload)` signs a delivery the way Shopify does (base64 HMAC-SHA256 of the body
with the app's secret) for the test to post to the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from graphql import execute_sync, parse, validate
from graphql.error import GraphQLSyntaxError

from tests.shopify_standin.api import MAX_QUERY_COST, AdminApi, admin_schema, operation_cost
from tests.shopify_standin.store import Store

API_VERSION = "2026-10"
DEFAULT_SCOPES = ["read_all_orders", "read_customers", "read_orders", "read_products", "write_customers"]
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyStandIn:
    """The server and its state; use as a context manager (`with ShopifyStandIn(...) as shopify`)."""

    def __init__(
        self,
        store: Store,
        api_key: str,
        api_secret: str,
        *,
        scopes: list[str] | None = None,
        bucket_max: float = 2000.0,
        restore_rate: float = 2000.0,
        token_ttl_s: float = 3600.0,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.api_secret = api_secret
        self.granted_scopes = list(scopes or DEFAULT_SCOPES)
        self.bucket_max = bucket_max
        self.available = bucket_max
        self.restore_rate = restore_rate
        self._bucket_at = time.monotonic()
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, float | None] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.codes: set[str] = set()
        self.faults: deque[tuple[str, int]] = deque()
        self.forced_throttles = 0
        self.seen_tokens: list[str] = []
        self.download_rate: float | None = None
        self.cut_download_after: int | None = None
        self.log: list[dict[str, Any]] = []
        self.stats = {"throttled": 0, "graphql": 0, "refreshes": 0, "grants": 0, "exchanges": 0}
        self._lock = threading.RLock()
        self._dir = tempfile.TemporaryDirectory(prefix="shopify-standin-")
        self.api = AdminApi(store, self.granted_scopes, Path(self._dir.name), lambda: self.origin)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> ShopifyStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    # --- test controls ----------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` GraphQL requests with `status` (429 carries Retry-After)."""
        for _ in range(times):
            self.faults.append(("status", status))

    def drop_next(self, times: int = 1) -> None:
        """Close the connection of the next `times` GraphQL requests without an answer."""
        for _ in range(times):
            self.faults.append(("drop", 0))

    def hang_next(self, seconds: float = 2.0) -> None:
        """Answer the next GraphQL request only after `seconds` (past the client's timeout)."""
        self.faults.append(("hang", int(seconds * 1000)))

    def drain_bucket(self) -> None:
        """Empty the cost bucket: the next query is throttled until it refills."""
        with self._lock:
            self.available = 0.0
            self._bucket_at = time.monotonic()

    def throttle_next(self, times: int = 1) -> None:
        """Throttle the next `times` queries as if another app had emptied the shared bucket."""
        with self._lock:
            self.forced_throttles += times

    def issue_token(self, expiring: bool = True) -> str:
        """A valid access token (for tests that start after the install)."""
        return self._grant(expiring)["access_token"]

    def expire_tokens(self) -> None:
        """Make every access token lapse now (the app must refresh)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = time.time() - 1

    def session_token(self, secret: str | None = None, audience: str | None = None, **claims: Any) -> str:
        """An App Bridge session token for the store (HS256 with the app secret)."""
        now = int(time.time())
        body = {
            "iss": f"https://{self.store.domain}/admin",
            "dest": f"https://{self.store.domain}",
            "aud": audience or self.api_key,
            "sub": "42",
            "exp": now + 60,
            "nbf": now - 1,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "sid": "session-1",
            **claims,
        }
        return jwt.encode(body, secret or self.api_secret, algorithm="HS256")

    def sign_query(self, params: dict[str, str], secret: str | None = None) -> dict[str, str]:
        """`params` with Shopify's `hmac` (hex HMAC-SHA256 of the sorted `k=v&...` message)."""
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
        digest = hmac.new((secret or self.api_secret).encode(), message.encode(), hashlib.sha256).hexdigest()
        return {**params, "hmac": digest}

    def install_query(self, **extra: str) -> dict[str, str]:
        """The signed query Shopify sends to the app's install URL."""
        return self.sign_query({"shop": self.store.domain, "timestamp": str(int(time.time())), **extra})

    def webhook(
        self, topic: str, payload: dict[str, Any], webhook_id: str | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery: (body, headers)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        digest = hmac.new((secret or self.api_secret).encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": self.store.domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        return body, headers

    # --- tokens -----------------------------------------------------------------------------

    def _grant(self, expiring: bool) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        with self._lock:
            self.tokens[token] = time.time() + self.token_ttl_s if expiring else None
            self.stats["grants"] += 1
            answer: dict[str, Any] = {"access_token": token, "scope": ",".join(self.granted_scopes)}
            if expiring:
                refresh = "shprt_" + secrets.token_hex(16)
                self.refresh_tokens[refresh] = token
                answer.update(
                    expires_in=int(self.token_ttl_s),
                    refresh_token=refresh,
                    refresh_token_expires_in=90 * 86400,
                )
        return answer

    def token_valid(self, token: str | None) -> bool:
        with self._lock:
            if token is None or token not in self.tokens:
                return False
            expires = self.tokens[token]
            return expires is None or expires > time.time()

    def oauth_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The access-token endpoint's answer (status, JSON)."""
        if body.get("client_id") != self.api_key or body.get("client_secret") != self.api_secret:
            return 401, {"error": "invalid_client", "error_description": "Client credentials are invalid"}
        expiring = str(body.get("expiring", "0")) == "1"
        grant = body.get("grant_type")
        if grant == "refresh_token":
            with self._lock:
                old_access = self.refresh_tokens.pop(str(body.get("refresh_token")), None)
                if old_access is None:
                    return 400, {"error": "invalid_grant", "error_description": "refresh token is invalid"}
                self.tokens.pop(old_access, None)  # the previous access token stops working
                self.stats["refreshes"] += 1
            return 200, self._grant(expiring=True)
        if grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            try:
                claims = jwt.decode(
                    str(body.get("subject_token")),
                    self.api_secret,
                    algorithms=["HS256"],
                    audience=self.api_key,
                )
            except jwt.PyJWTError:
                return 400, {
                    "error": "invalid_subject_token",
                    "error_description": "session token is invalid",
                }
            if urlsplit(str(claims.get("dest"))).netloc != self.store.domain:
                return 400, {"error": "invalid_subject_token", "error_description": "wrong shop"}
            self.stats["exchanges"] += 1
            return 200, self._grant(expiring)
        code = str(body.get("code") or "")
        with self._lock:
            if code not in self.codes:
                return 400, {
                    "error": "invalid_request",
                    "error_description": "authorization code was not found",
                }
            self.codes.discard(code)
        return 200, self._grant(expiring)

    # --- GraphQL ----------------------------------------------------------------------------

    def _refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.bucket_max, self.available + (now - self._bucket_at) * self.restore_rate)
        self._bucket_at = now

    def _cost(self, requested: float, actual: float | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.bucket_max,
                "currentlyAvailable": round(self.available),
                "restoreRate": self.restore_rate,
            },
        }

    def graphql(self, body: dict[str, Any]) -> dict[str, Any] | tuple[str, int]:
        """Answer one GraphQL request: the JSON Shopify sends with HTTP 200, or an injected fault
        (after the throttle check, so a drained bucket throttles before faults play out)."""
        self.stats["graphql"] += 1
        query = body.get("query")
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        if not isinstance(query, str):
            return {"errors": [{"message": "Parameter Missing or Invalid"}]}
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            return {"errors": [{"message": exc.message, "extensions": {"code": "PARSE_ERROR"}}]}
        schema = admin_schema()
        errors = validate(schema, document)
        if errors:
            return {"errors": [e.formatted for e in errors]}
        requested = operation_cost(schema, document, variables, operation_name)
        with self._lock:
            self._refill()
            if requested > MAX_QUERY_COST:
                message = (
                    f"Query cost is {requested:g}, which exceeds the single query max cost limit (1000)."
                )
                return {
                    "errors": [
                        {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested}}
                    ],
                    "extensions": {"cost": self._cost(requested, None)},
                }
            if self.forced_throttles:
                self.forced_throttles -= 1
                self.available = 0.0
            if self.available < requested:
                self.stats["throttled"] += 1
                return {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": self._cost(requested, None)},
                }
            if self.faults:
                return self.faults.popleft()
            self.available -= requested
        with self.api.lock:
            result = execute_sync(
                schema, document, self.api.root(), variable_values=variables, operation_name=operation_name
            )
        actual = operation_cost(schema, document, variables, operation_name, result.data)
        with self._lock:
            self.available = min(self.bucket_max, self.available + max(requested - actual, 0))
            answer: dict[str, Any] = {
                "data": result.data,
                "extensions": {"cost": self._cost(requested, actual)},
            }
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        self.log.append({"operation": operation_name, "requested": requested, "actual": actual})
        return answer

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """The merchant approves at once: (status, redirect location)."""
        if query.get("client_id") != self.api_key or not query.get("redirect_uri"):
            return 400, ""
        code = secrets.token_hex(16)
        with self._lock:
            self.codes.add(code)
        host = base64.b64encode(
            f"admin.shopify.com/store/{self.store.domain.split('.')[0]}".encode()
        ).decode()
        params = self.sign_query(
            {
                "code": code,
                "host": host.rstrip("="),
                "shop": self.store.domain,
                "state": query.get("state", ""),
                "timestamp": str(int(time.time())),
            }
        )
        return 302, f"{query['redirect_uri']}?{urlencode(params)}"

    @contextmanager
    def bulk_file(self, name: str) -> Iterator[Path | None]:
        path = Path(self._dir.name) / name
        yield path if path.is_file() and path.parent == Path(self._dir.name) else None


def _handler(standin: ShopifyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
            return

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", str(uuid.uuid4()))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict[str, Any]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "json" in (self.headers.get("Content-Type") or ""):
                return json.loads(raw or b"{}")
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/admin/oauth/access_token":
                status, payload = standin.oauth_token(self._body())
                return self._send(status, payload)
            if path != f"/admin/api/{API_VERSION}/graphql.json":
                return self._send(404, {"errors": "Not Found"})
            body = self._body()
            standin.seen_tokens.append(self.headers.get("X-Shopify-Access-Token") or "")
            if not standin.token_valid(self.headers.get("X-Shopify-Access-Token")):
                return self._send(401, {"errors": INVALID_TOKEN})
            answer = standin.graphql(body)
            if isinstance(answer, tuple):  # an injected fault
                kind, status = answer
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if kind == "hang":  # the client gives up first; then the connection closes
                    time.sleep(status / 1000)
                    self.close_connection = True
                    return None
                retry = {"Retry-After": "0.05"} if status == 429 else {}
                return self._send(status, {"errors": "injected fault"}, retry)
            return self._send(200, answer)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/admin/oauth/authorize":
                status, location = standin.authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if parts.path.startswith("/bulk/"):
                return self._bulk(parts.path.rsplit("/", 1)[1])
            return self._send(404, {"errors": "Not Found"})

        def _bulk(self, name: str) -> None:
            with standin.bulk_file(name) as path:
                if path is None:
                    return self._send(404, {"errors": "Not Found"})
                size = path.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                sent = 0
                started = time.monotonic()
                with path.open("rb") as stream:
                    if standin.cut_download_after is None and not standin.download_rate:
                        # As a CDN serves it: straight from the file to the socket, in the kernel.
                        self.wfile.flush()
                        self.connection.sendfile(stream)
                        return None
                    while chunk := stream.read(64 * 1024):
                        if (
                            standin.cut_download_after is not None
                            and sent + len(chunk) > standin.cut_download_after
                        ):
                            self.wfile.write(chunk[: max(standin.cut_download_after - sent, 0)])
                            self.wfile.flush()
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return None
                        self.wfile.write(chunk)
                        sent += len(chunk)
                        if standin.download_rate:
                            ahead = sent / standin.download_rate - (time.monotonic() - started)
                            if ahead > 0:
                                time.sleep(ahead)
            return None

    return Handler
