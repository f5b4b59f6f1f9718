"""A local stand-in for a WooCommerce store's REST API v3, over real HTTPS on loopback.

It serves `/wp-json/wc/v3/` the way WooCommerce does (see PLATFORMS.md 9-10 and
`woocommerce-rest-api-docs`): HTTP Basic key checks with WooCommerce's error bodies, read/write
permissions, pagination (`per_page` <= 100, `X-WP-Total`, `X-WP-TotalPages`, `Link`),
`modified_after`/`modified_before` with `dates_are_gmt`, orders, refunds, products, variations,
customers (and their meta through `customers/batch`) and webhooks (creating one pings its
address). On demand it answers 429 or 500, drops a connection in the middle of an answer, or
holds a request until released.

Changes made through its methods (`update_order`, `delete_product`, ...) bump the record's
`date_modified` and, like WooCommerce, deliver signed webhooks to every active subscription.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.woocommerce_standin.store import SITE_OFFSET, Store, now_utc
from tests.woocommerce_standin.tls import CertificateFiles

TOPICS = {
    f"{resource}.{event}"
    for resource in ("order", "product", "customer", "coupon")
    for event in ("created", "updated", "deleted", "restored")
}
USER_AGENT = "WooCommerce/9.8.1 Hookshot (WordPress/6.8.1)"


@dataclass
class ApiKey:
    """A REST API key pair, its permissions and its WordPress user's role."""

    key: str
    secret: str
    permissions: str = "read_write"  # read, write, read_write
    role: str = "administrator"  # administrator, shop_manager, subscriber, ...


@dataclass
class Request:
    """A request the stand-in received."""

    method: str
    route: str
    params: dict[str, str]
    key: str | None
    auth: str | None  # basic, query or None
    status: int = 0


@dataclass
class Fault:
    """Misbehaviour for the next `times` requests that `match`."""

    kind: str  # "429", "500", "drop", "hold"
    times: int
    match: Callable[[Request], bool]
    retry_after: str | None = None
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as sent, with the receiver's answer."""

    webhook_id: int
    topic: str
    delivery_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int
    response: str


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data


def _parse_date(value: str, gmt: bool) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400, "rest_invalid_param", "Invalid parameter(s): date", params={"date": value}
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if gmt else SITE_OFFSET)
    return parsed.astimezone(UTC)


class StandIn:
    """The stand-in server; use as a context manager (`with StandIn(store, certs) as woo:`)."""

    def __init__(
        self,
        store: Store,
        certs: CertificateFiles,
        *,
        woocommerce_active: bool = True,
        wordpress: bool = True,
    ) -> None:
        self.store = store
        self.certs = certs
        self.woocommerce_active = woocommerce_active
        self.wordpress = wordpress
        self.keys: dict[str, ApiKey] = {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.meta_writes: list[tuple[int, dict[str, Any]]] = []  # customers/batch updates, in order
        self.deliveries: list[Delivery] = []
        self.pings: list[tuple[int, str, int]] = []
        self.ca_bundle = str(certs.ca_bundle)
        self.lock = threading.RLock()
        self._delivery_seq = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> StandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.certs.server_cert), str(self.certs.server_key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="woocommerce-standin", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for fault in self.faults:
            fault.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # --- keys and faults -------------------------------------------------------------------------

    def add_key(self, permissions: str = "read_write", role: str = "administrator") -> ApiKey:
        key = ApiKey("ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20), permissions, role)
        self.keys[key.key] = key
        return key

    def fail(
        self,
        kind: str,
        times: int = 1,
        match: Callable[[Request], bool] | None = None,
        retry_after: str | None = None,
    ) -> Fault:
        """Misbehave (`429`, `500`, `drop`, `hold`) on the next `times` matching requests."""
        fault = Fault(kind, times, match or (lambda request: True), retry_after)
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match(request):
                    fault.times -= 1
                    return fault
        return None

    def calls(self, route_prefix: str = "", method: str = "GET") -> list[Request]:
        """The requests received for routes starting with `route_prefix`."""
        with self.lock:
            return [r for r in self.requests if r.route.startswith(route_prefix) and r.method == method]

    # --- routing ---------------------------------------------------------------------------------

    def handle(
        self, method: str, route: str, params: dict[str, str], body: Any, request: Request
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, extra headers) for one authenticated API request."""
        parts = route.split("/") if route else []
        with self.lock:
            if not parts:
                return 200, self._index(), {}
            head = parts[0]
            readers = {"orders": self._orders, "products": self._products, "customers": self._customers}
            if head in readers and method == "GET":
                return readers[head](parts[1:], params)
            if head == "webhooks":
                return self._webhooks(method, parts[1:], params, body, request)
            if parts == ["customers", "batch"] and method == "POST":
                return self._customers_batch(body)
            if parts == ["data", "currencies", "current"] and method == "GET":
                self._need_manager(request, method)
                return 200, {"code": self.store.currency, "name": "Euro", "symbol": "&euro;"}, {}
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _need_manager(self, request: Request, method: str) -> None:
        key = self.keys.get(request.key or "")
        if key is None or key.role not in ("administrator", "shop_manager"):
            if method == "GET":
                raise ApiError(403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            raise ApiError(
                403, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."
            )

    def _index(self) -> dict[str, Any]:
        routes = ["/wc/v3", "/wc/v3/orders", "/wc/v3/products", "/wc/v3/customers", "/wc/v3/webhooks"]
        return {"namespace": "wc/v3", "routes": {r: {"methods": ["GET"]} for r in routes}}

    def _page(
        self, items: list[Any], params: dict[str, str], render: Callable[[Any], Any], route: str
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = self._int(params, "per_page", 10, 1, 100)
        page = self._int(params, "page", 1, 1, None)
        total = len(items)
        pages = math.ceil(total / per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        base = f"{self.url}/wp-json/wc/v3/{route}"
        if page > 1:
            links.append(
                f'<{base}?{urlencode({**params, "page": min(page - 1, max(pages, 1))})}>; rel="prev"'
            )
        if page < pages:
            links.append(f'<{base}?{urlencode({**params, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, [render(item) for item in chunk], headers

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int, lo: int, hi: int | None) -> int:
        if name not in params:
            return default
        try:
            value = int(params[name])
        except ValueError:
            raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
        if value < lo or (hi is not None and value > hi):
            bounds = f"between {lo} (inclusive) and {hi} (inclusive)" if hi else f"at least {lo}"
            raise ApiError(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                params={name: f"{name} must be {bounds}"},
            )
        return value

    def _filter_dates(self, items: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        gmt = params.get("dates_are_gmt", "false").lower() in ("1", "true")
        for name, column, later in (
            ("modified_after", "modified", True),
            ("modified_before", "modified", False),
            ("after", "created", True),
            ("before", "created", False),
        ):
            if name in params:
                bound = _parse_date(params[name], gmt)
                items = [i for i in items if (i[column] > bound if later else i[column] < bound)]
        return items

    def _sort(
        self, items: list[dict[str, Any]], params: dict[str, str], default_by: str, default_order: str
    ) -> list[dict[str, Any]]:
        by = params.get("orderby", default_by)
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda i: i["id"],
            "date": lambda i: (i["created"], i["id"]),
            "registered_date": lambda i: (i["created"], i["id"]),
            "modified": lambda i: (i["modified"], i["id"]),
            "title": lambda i: (i.get("name", ""), i["id"]),
            "name": lambda i: (f"{i.get('first_name', '')} {i.get('last_name', '')}", i["id"]),
        }
        if by not in keys:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        order = params.get("order", default_order)
        return sorted(items, key=keys[by], reverse=order == "desc")

    # --- orders -------------------------------------------------------------------------------

    def _orders(self, parts: list[str], params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        store = self.store
        if not parts:
            items = list(store.orders.values())
            status = params.get("status", "any")
            if status != "any":
                wanted = set(status.split(","))
                items = [o for o in items if o["status"] in wanted]
            if "customer" in params:
                items = [o for o in items if o["customer_id"] == int(params["customer"])]
            items = self._sort(self._filter_dates(items, params), params, "date", "desc")
            return self._page(items, params, lambda o: store.order_json(o, self.url), "orders")
        order = store.orders.get(int(parts[0])) if parts[0].isdigit() else None
        if order is None:
            raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        if parts[1:] == ["refunds"]:
            return self._page(
                store.refunds_json(order, self.url), params, lambda r: r, f"orders/{order['id']}/refunds"
            )
        if len(parts) == 1:
            return 200, store.order_json(order, self.url), {}
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    # --- products -----------------------------------------------------------------------------

    def _products(self, parts: list[str], params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        store = self.store
        if not parts:
            items = list(store.products.values())
            if params.get("status", "any") != "any":
                items = [p for p in items if p["status"] == params["status"]]
            if "type" in params:
                items = [p for p in items if p["type"] == params["type"]]
            items = self._sort(self._filter_dates(items, params), params, "date", "desc")
            return self._page(items, params, lambda p: store.product_json(p, self.url), "products")
        pid = int(parts[0]) if parts[0].isdigit() else 0
        if parts[1:] == ["variations"]:
            product = store.products.get(pid)
            if product is None:
                raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            items = [store.variations[v] for v in product["variations"] if v in store.variations]
            items = self._sort(self._filter_dates(items, params), params, "date", "desc")
            route = f"products/{pid}/variations"
            return self._page(items, params, lambda v: store.variation_json(v, self.url), route)
        if len(parts) == 1:
            if pid in store.products:
                return 200, store.product_json(store.products[pid], self.url), {}
            if pid in store.variations:
                return 200, store.variation_json(store.variations[pid], self.url, as_product=True), {}
        raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")

    # --- customers ----------------------------------------------------------------------------

    def _customers(self, parts: list[str], params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        store = self.store
        if not parts:
            role = params.get("role", "customer")
            items = [
                c for c in store.customers.values() if role == "all" or c.get("role", "customer") == role
            ]
            if "email" in params:
                items = [c for c in items if c["email"] == params["email"]]
            items = self._sort(items, params, "name", "asc")
            return self._page(items, params, lambda c: store.customer_json(c, self.url), "customers")
        customer = store.customers.get(int(parts[0])) if parts[0].isdigit() else None
        if customer is None or len(parts) != 1:
            raise ApiError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return 200, store.customer_json(customer, self.url), {}

    def _customers_batch(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        """`POST customers/batch` with `update` items (meta_data merged by key, like WooCommerce)."""
        updates = body.get("update") if isinstance(body, dict) else None
        if not isinstance(updates, list) or len(updates) > 100:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): update")
        answered = []
        for item in updates:
            customer = self.store.customers.get(item.get("id")) if isinstance(item, dict) else None
            if customer is None:
                answered.append(
                    {
                        "id": item.get("id") if isinstance(item, dict) else None,
                        "error": {
                            "code": "woocommerce_rest_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 400},
                        },
                    }
                )
                continue
            meta = customer.setdefault("meta", {})
            for entry in item.get("meta_data") or ():
                meta[str(entry["key"])] = entry.get("value")
            self._touch(customer)
            self.meta_writes.append((customer["id"], dict(meta)))
            answered.append(self.store.customer_json(customer, self.url))
        return 200, {"update": answered}, {}

    # --- webhooks -----------------------------------------------------------------------------

    def _webhook_json(self, hook: dict[str, Any]) -> dict[str, Any]:
        resource, event = hook["topic"].split(".")
        return {
            "id": hook["id"],
            "name": hook["name"],
            "status": hook["status"],
            "topic": hook["topic"],
            "resource": resource,
            "event": event,
            "hooks": [f"woocommerce_{event}_{resource}"],
            "delivery_url": hook["delivery_url"],
            "date_created": hook["created"].astimezone(SITE_OFFSET).replace(tzinfo=None).isoformat(),
            "date_created_gmt": hook["created"].replace(tzinfo=None).isoformat(),
            "date_modified": hook["modified"].astimezone(SITE_OFFSET).replace(tzinfo=None).isoformat(),
            "date_modified_gmt": hook["modified"].replace(tzinfo=None).isoformat(),
            "_links": {"self": [{"href": f"{self.url}/wp-json/wc/v3/webhooks/{hook['id']}"}]},
        }

    def _webhooks(
        self, method: str, parts: list[str], params: dict[str, str], body: Any, request: Request
    ) -> tuple[int, Any, dict[str, str]]:
        self._need_manager(request, method)
        hooks = self.store.webhooks
        if not parts and method == "GET":
            items = sorted(hooks.values(), key=lambda h: h["id"])
            if params.get("status", "all") != "all":
                items = [h for h in items if h["status"] == params["status"]]
            return self._page(items, params, self._webhook_json, "webhooks")
        if not parts and method == "POST":
            body = body if isinstance(body, dict) else {}
            missing = [name for name in ("topic", "delivery_url") if not body.get(name)]
            if missing:
                raise ApiError(
                    400,
                    "rest_missing_callback_param",
                    f"Missing parameter(s): {', '.join(missing)}",
                    params=missing,
                )
            self._check_webhook(body)
            now = now_utc()
            hook = {
                "id": self.store.post_id(),
                "name": body.get("name") or f"Webhook created on {now:%b %d, %Y}",
                "status": "active",
                "topic": body["topic"].lower(),
                "delivery_url": body["delivery_url"],
                "secret": body.get("secret") or secrets.token_urlsafe(37),
                "created": now,
                "modified": now,
                "failure_count": 0,
            }
            hooks[hook["id"]] = hook
            self._ping(hook)
            return (
                201,
                self._webhook_json(hook),
                {"Location": f"{self.url}/wp-json/wc/v3/webhooks/{hook['id']}"},
            )
        hook = hooks.get(int(parts[0])) if parts and parts[0].isdigit() else None
        if hook is None:
            raise ApiError(404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
        if method == "PUT" and isinstance(body, dict):
            self._check_webhook(body)
            for name in ("name", "topic", "delivery_url", "secret", "status"):
                if body.get(name):
                    hook[name] = body[name]
            if body.get("status") == "active":
                hook["failure_count"] = 0
            hook["modified"] = now_utc()
            return 200, self._webhook_json(hook), {}
        if method == "DELETE":
            if params.get("force") not in ("true", "1"):
                raise ApiError(
                    501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing."
                )
            del hooks[hook["id"]]
            return 200, self._webhook_json(hook), {}
        if method == "GET":
            return 200, self._webhook_json(hook), {}
        raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    @staticmethod
    def _check_webhook(body: dict[str, Any]) -> None:
        if body.get("topic") and body["topic"].lower() not in TOPICS:
            raise ApiError(
                400,
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        if body.get("delivery_url") and not str(body["delivery_url"]).startswith(("http://", "https://")):
            raise ApiError(
                400,
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            )

    def _ping(self, hook: dict[str, Any]) -> None:
        """WooCommerce pings a new webhook's address (unsigned form post) before answering."""
        try:
            answer = requests.post(
                hook["delivery_url"],
                data=f"webhook_id={hook['id']}",
                headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
                timeout=10,
                allow_redirects=False,
            )
            self.pings.append((hook["id"], hook["delivery_url"], answer.status_code))
        except requests.RequestException:
            self.pings.append((hook["id"], hook["delivery_url"], 0))

    # --- changes and webhook deliveries --------------------------------------------------------

    def payload(self, topic: str, resource_id: int) -> dict[str, Any]:
        """What WooCommerce sends for `topic` about `resource_id`."""
        resource, event = topic.split(".")
        if event == "deleted":
            return {"id": resource_id}
        store = self.store
        if resource == "order":
            return store.order_json(store.orders[resource_id], self.url)
        if resource == "customer":
            return store.customer_json(store.customers[resource_id], self.url)
        if resource_id in store.variations:
            return store.variation_json(store.variations[resource_id], self.url, as_product=True)
        return store.product_json(store.products[resource_id], self.url)

    def deliver(self, topic: str, resource_id: int, body: bytes | None = None) -> list[Delivery]:
        """Deliver `topic` to every active webhook subscribed to it (signed, with WooCommerce's
        headers and a fresh delivery id); `body` overrides the payload bytes."""
        with self.lock:
            data = (
                body
                if body is not None
                else json.dumps(self.payload(topic, resource_id), separators=(",", ":")).encode()
            )
            hooks = [
                h for h in self.store.webhooks.values() if h["topic"] == topic and h["status"] == "active"
            ]
        sent = []
        for hook in hooks:
            delivery_id = hashlib.md5(
                f"{hook['id']}:{next(self._delivery_seq)}:{secrets.token_hex(4)}".encode()
            ).hexdigest()
            resource, event = topic.split(".")
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-WC-Webhook-Source": f"{self.url}/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": sign(data, hook["secret"]),
                "X-WC-Webhook-ID": str(hook["id"]),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            sent.append(self.send(hook["id"], topic, delivery_id, hook["delivery_url"], data, headers))
        return sent

    def send(
        self, webhook_id: int, topic: str, delivery_id: str, url: str, body: bytes, headers: dict[str, str]
    ) -> Delivery:
        """POST one delivery and record the answer (WooCommerce disables a webhook after failures)."""
        try:
            answer = requests.post(url, data=body, headers=headers, timeout=60, allow_redirects=False)
            status, text = answer.status_code, answer.text
        except requests.RequestException as exc:
            status, text = 0, str(exc)
        delivery = Delivery(webhook_id, topic, delivery_id, url, body, dict(headers), status, text)
        with self.lock:
            self.deliveries.append(delivery)
            hook = self.store.webhooks.get(webhook_id)
            if hook is not None:
                if 200 <= status <= 302:
                    hook["failure_count"] = 0
                else:
                    hook["failure_count"] += 1
                    if hook["failure_count"] > 5:
                        hook["status"] = "disabled"
        return delivery

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivery again, byte for byte (same delivery id)."""
        return self.send(
            delivery.webhook_id,
            delivery.topic,
            delivery.delivery_id,
            delivery.url,
            delivery.body,
            delivery.headers,
        )

    def _touch(self, record: dict[str, Any]) -> None:
        now = now_utc()
        record["modified"] = now if now > record["modified"] else record["modified"] + timedelta(seconds=1)

    def update_order(self, order_id: int, deliver: bool = True, **changes: Any) -> list[Delivery]:
        """Change an order (status, billing, ...) and deliver `order.updated`."""
        with self.lock:
            order = self.store.orders[order_id]
            order.update(changes)
            self._touch(order)
        return self.deliver("order.updated", order_id) if deliver else []

    def refund_order(
        self, order_id: int, line_index: int = 0, quantity: int = 1, deliver: bool = True
    ) -> list[Delivery]:
        """Refund units of one line (WooCommerce fires `order.updated` for refunds)."""
        with self.lock:
            order = self.store.orders[order_id]
            line = order["lines"][line_index]
            done = sum(
                r["quantity"] for f in order["refunds"] for r in f["lines"] if r["line_id"] == line["id"]
            )
            if done + quantity > line["quantity"]:
                raise ValueError("WooCommerce refunds at most the quantity bought")
            order["refunds"].append(
                {
                    "id": self.store.post_id(),
                    "reason": "",
                    "amount": line["price"] * quantity,
                    "lines": [{"line_id": line["id"], "quantity": quantity}],
                    "created": now_utc(),
                }
            )
            self._touch(order)
        return self.deliver("order.updated", order_id) if deliver else []

    def create_order(
        self, template_id: int, deliver: bool = True, **changes: Any
    ) -> tuple[int, list[Delivery]]:
        """A new order copied from `template_id` (new ids, now as its dates)."""
        with self.lock:
            source = self.store.orders[template_id]
            oid = self.store.post_id()
            now = now_utc()
            order = deepcopy(source)
            order.update(
                id=oid,
                created=now,
                modified=now,
                paid=now,
                refunds=[],
                coupons=[],
                lines=[
                    {**line, "id": self.store.item_id(), "discount": Decimal(0)} for line in source["lines"]
                ],
            )
            order.update(changes)
            self.store.orders[oid] = order
        return oid, (self.deliver("order.created", oid) if deliver else [])

    def delete_order(self, order_id: int, deliver: bool = True) -> list[Delivery]:
        """Trash an order (gone from `status=any` lists) and deliver `order.deleted`."""
        with self.lock:
            self.store.trashed_orders[order_id] = self.store.orders.pop(order_id)
        return self.deliver("order.deleted", order_id) if deliver else []

    def update_product(self, product_id: int, deliver: bool = True, **changes: Any) -> list[Delivery]:
        """Change a product or a variation and deliver `product.updated`."""
        with self.lock:
            record = self.store.products.get(product_id) or self.store.variations[product_id]
            record.update(changes)
            self._touch(record)
        return self.deliver("product.updated", product_id) if deliver else []

    def delete_product(self, product_id: int, deliver: bool = True) -> list[Delivery]:
        """Trash a product (or a variation) and deliver `product.deleted`."""
        with self.lock:
            if product_id in self.store.products:
                self.store.trashed_products[product_id] = self.store.products.pop(product_id)
            else:
                variation = self.store.variations[product_id]
                variation["status"] = "trash"
                self._touch(variation)
        return self.deliver("product.deleted", product_id) if deliver else []

    def update_customer(self, customer_id: int, deliver: bool = True, **changes: Any) -> list[Delivery]:
        """Change a customer and deliver `customer.updated`."""
        with self.lock:
            customer = self.store.customers[customer_id]
            customer.update(changes)
            self._touch(customer)
        return self.deliver("customer.updated", customer_id) if deliver else []


def sign(body: bytes, secret: str) -> str:
    """WooCommerce's webhook signature: base64 of HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class _Handler(BaseHTTPRequestHandler):
    owner: StandIn
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between headers and body
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        return

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        owner = self.owner
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not parts.path.startswith("/wp-json") or not owner.wordpress:
            self._send(404, b"<html><body><h1>Not Found</h1></body></html>", {"Content-Type": "text/html"})
            return
        route = parts.path[len("/wp-json") :].strip("/")
        key, auth, secret = self._credentials(params)
        request = Request(
            method,
            route[len("wc/v3") :].strip("/") if route.startswith("wc/v3") else route,
            {k: v for k, v in params.items() if k not in ("consumer_key", "consumer_secret")},
            key,
            auth,
        )
        with owner.lock:
            owner.requests.append(request)
        fault = owner._take_fault(request)
        if fault is not None and fault.kind == "hold":
            fault.holding.set()
            fault.released.wait(30)
        try:
            if fault is not None and fault.kind in ("429", "500"):
                status = int(fault.kind)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                message = (
                    "Too many requests, slow down."
                    if status == 429
                    else "There has been a critical error on this website."
                )
                raise _Raw(
                    status,
                    {
                        "code": "too_many_requests" if status == 429 else "internal_server_error",
                        "message": message,
                        "data": {"status": status},
                    },
                    headers,
                )
            if route == "":
                status, body, headers = (
                    200,
                    {
                        "name": "Stand-in store",
                        "namespaces": ["wp/v2"] + (["wc/v3"] if owner.woocommerce_active else []),
                    },
                    {},
                )
            elif not route.startswith("wc/v3") or not owner.woocommerce_active:
                raise ApiError(
                    404, "rest_no_route", "No route was found matching the URL and request method."
                )
            else:
                self._authenticate(owner, request, key, secret, method)
                payload = json.loads(raw) if raw else None
                status, body, headers = owner.handle(method, request.route, request.params, payload, request)
        except ApiError as exc:
            status, headers = exc.status, {}
            body = {"code": exc.code, "message": exc.message, "data": {"status": exc.status, **exc.data}}
        except _Raw as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        request.status = status
        data = json.dumps(body, default=str).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8", **headers}
        if fault is not None and fault.kind == "drop":
            self._send(status, data, headers, cut=True)
            return
        self._send(status, data, headers)

    def _credentials(self, params: dict[str, str]) -> tuple[str | None, str | None, str | None]:
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, "basic", None
            return user, "basic", password
        if "consumer_key" in params:
            return params["consumer_key"], "query", params.get("consumer_secret")
        return None, None, None

    @staticmethod
    def _authenticate(
        owner: StandIn, request: Request, key: str | None, secret: str | None, method: str
    ) -> None:
        if key is None:
            if request.route == "":
                return
            raise ApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        known = owner.keys.get(key)
        if known is None:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not hmac.compare_digest(known.secret, secret or ""):
            raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if method == "GET" and known.permissions == "write":
            raise ApiError(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
            )
        if method != "GET" and known.permissions == "read":
            raise ApiError(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
            )
        if known.role not in ("administrator", "shop_manager") and request.route != "":
            raise ApiError(403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def _send(self, status: int, data: bytes, headers: dict[str, str], cut: bool = False) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if cut else data)
            self.wfile.flush()
        except OSError:  # the client went away (a killed process)
            pass
        if cut:
            self.close_connection = True


class _Raw(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


def iter_deliveries(deliveries: list[Delivery], topic: str) -> Iterator[Delivery]:
    """The deliveries of one topic."""
    return (d for d in deliveries if d.topic == topic)
