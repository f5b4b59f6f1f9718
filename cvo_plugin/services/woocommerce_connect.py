"""Connecting a WooCommerce store: check the keys with real calls, save the shop, register the
webhooks, queue the backfill. `cvo connect-woocommerce` and the web form both call
`connect_woocommerce`.

This use case spans calls to the store, so it takes the `Database` and keeps each transaction
short instead of holding one open across the network: the shop is saved (and committed) only
after every check passed and before the webhooks are registered, because WooCommerce pings the
new webhook's address while it registers it and the ping must find the shop.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.woocommerce.client import (
    AuthError,
    CertificateError,
    NotFound,
    Permanent,
    RetryPolicy,
    Transient,
    Unreachable,
    WooClient,
    WooCommerceError,
    normalize_store_url,
)
from cvo_plugin.config import Settings
from cvo_plugin.crypto import TokenBox
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.services.shops import normalize_shop_name
from cvo_plugin.services.woocommerce_data import PLATFORM, webhook_secret
from cvo_plugin.services.woocommerce_webhooks import TOPICS
from cvo_plugin.tasks import JobHandle, ProgressListener, TaskQueue, enqueue_sync

KEYS_PAGE = "WooCommerce › Settings › Advanced › REST API"
WEBHOOK_PATH = "/woocommerce/webhooks/"
# A merchant waits on these calls: retry a hiccup once or twice, not for half a minute.
CONNECT_RETRY = RetryPolicy(max_retries=2, base_s=0.5, cap_s=2.0, max_retry_after_s=5.0)


class ConnectError(Exception):
    """The store cannot be connected; `field` names the form field at fault (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class StoreCheck:
    """What the checks learnt about the store."""

    url: str
    domain: str
    currency: str | None


@dataclass(frozen=True)
class ConnectResult:
    """A connected store: its shop, webhooks and the queued backfill."""

    shop_id: int
    domain: str
    created: bool
    webhooks: dict[str, int] = field(default_factory=dict)
    sync: JobHandle | None = None
    sync_error: str | None = None


def connect_woocommerce(
    database: Database,
    settings: Settings,
    url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    queue: TaskQueue | None = None,
    listener: ProgressListener | None = None,
) -> ConnectResult:
    """Check the keys, save the shop (secrets encrypted), register the webhooks, queue the sync.

    Connecting the same store again updates its shop and webhooks (never duplicates them).
    """
    consumer_key, consumer_secret = (consumer_key or "").strip(), (consumer_secret or "").strip()
    try:
        base_url = normalize_store_url(url)
    except ValueError as exc:  # InsecureStoreURL included
        raise ConnectError(str(exc), "url") from None
    _check_key_format(consumer_key, consumer_secret)
    if settings.is_production:
        _refuse_private_address(base_url)
    client = WooClient(
        base_url, consumer_key, consumer_secret, ca_bundle=settings.woocommerce_ca_bundle, retry=CONNECT_RETRY
    )
    check = check_store(client, base_url)

    box = TokenBox(settings.token_encryption_key)
    with database.session() as session:
        shop, created = _save_shop(session, box, check, consumer_key, consumer_secret)
        shop_id, public_key = shop.id, shop.public_key
        secret = webhook_secret(settings, shop)
    assert secret is not None
    delivery_url = f"{settings.app_url}{WEBHOOK_PATH}{public_key}"
    try:
        webhooks = register_webhooks(client, delivery_url, secret, f"{settings.app_url}{WEBHOOK_PATH}")
    except WooCommerceError as exc:
        raise ConnectError(
            f"The keys work, but the webhooks could not be registered ({_describe(exc)}). "
            "Connect again to finish; your store's data is not changed.",
            None,
        ) from None
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.settings = {
            **(shop.settings or {}),
            PLATFORM: {**(shop.settings or {}).get(PLATFORM, {}), "webhooks": webhooks},
        }

    handle, sync_error = None, None
    queue = queue or TaskQueue(settings, database)
    try:
        handle = enqueue_sync(queue, shop_id, PLATFORM, listener=listener)
    except Exception as exc:  # noqa: BLE001 - an in-process sync failed; the connection stands
        sync_error = str(exc) or type(exc).__name__
    return ConnectResult(shop_id, check.domain, created, webhooks, handle, sync_error)


# --- checks ------------------------------------------------------------------------------------


def _check_key_format(key: str, secret: str) -> None:
    if not key:
        raise ConnectError("Enter the consumer key (it starts with ck_).", "key")
    if not secret:
        raise ConnectError("Enter the consumer secret (it starts with cs_).", "secret")
    if not key.startswith("ck_") or len(key) > 200:
        raise ConnectError(f"A consumer key starts with ck_; copy it from {KEYS_PAGE}.", "key")
    if not secret.startswith("cs_") or len(secret) > 200:
        raise ConnectError(f"A consumer secret starts with cs_; copy it from {KEYS_PAGE}.", "secret")


def _refuse_private_address(url: str) -> None:
    """In production, refuse stores on loopback, private or link-local addresses: the form is
    public, and must not become a way to probe the app's own network."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise ConnectError(f"Could not find {host}: check the store's address.", "url") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise ConnectError(
                f"{host} points to a private or local network address; use the store's public address.",
                "url",
            )


def check_store(client: WooClient, url: str) -> StoreCheck:
    """Real calls that prove the address, the keys and their permissions; `ConnectError` says
    what is wrong in words a merchant can act on."""
    try:
        index = client.get("")
    except AuthError as exc:
        raise _key_error(exc) from None
    except NotFound as exc:
        if exc.code == "rest_no_route":
            raise ConnectError(
                f"{url} is a WordPress site without the WooCommerce REST API: is WooCommerce "
                "(3.5 or later) installed and active?",
                "url",
            ) from None
        raise ConnectError(
            f"{url} has no WordPress REST API at /wp-json/: check the address. If it is right, "
            "choose any permalink setting but “Plain” in WordPress › Settings › Permalinks.",
            "url",
        ) from None
    except WooCommerceError as exc:
        raise _site_error(exc, url) from None
    if not isinstance(index, dict) or index.get("namespace") != "wc/v3":
        raise ConnectError(f"{url} does not answer like a WooCommerce store (no wc/v3 API).", "url")

    for endpoint, what in (("orders", "orders"), ("products", "products"), ("customers", "customers")):
        try:
            client.get(endpoint, {"per_page": 1})
        except AuthError as exc:
            raise _key_error(exc, what) from None
        except WooCommerceError as exc:
            raise _site_error(exc, url) from None
    _check_write_permission(client, url)
    return StoreCheck(url=url, domain=normalize_shop_name(url), currency=_currency(client))


def _check_write_permission(client: WooClient, url: str) -> None:
    """Webhook registration needs write access. An empty webhook is refused by validation
    (400) when the keys may write, and by authentication (401) when they may only read, so
    this probe creates nothing."""
    try:
        created = client.post("webhooks", {})
    except AuthError as exc:
        raise _key_error(exc, "webhooks", writing=True) from None
    except Permanent as exc:
        if exc.status == 400:
            return
        raise _site_error(exc, url) from None
    except WooCommerceError as exc:
        raise _site_error(exc, url) from None
    if isinstance(created, dict) and isinstance(created.get("id"), int):  # a lenient store
        client.delete(f"webhooks/{created['id']}", {"force": "true"})


def _currency(client: WooClient) -> str | None:
    """The store's currency (settings need a manager's keys; else the latest order's)."""
    try:
        current = client.get("data/currencies/current")
        if isinstance(current, dict) and isinstance(current.get("code"), str):
            return current["code"].upper()[:3]
    except WooCommerceError:
        pass
    try:
        orders = client.get("orders", {"per_page": 1})
    except WooCommerceError:
        return None
    if orders and isinstance(orders[0], dict) and isinstance(orders[0].get("currency"), str):
        return orders[0]["currency"].upper()[:3]
    return None


def _describe(exc: WooCommerceError) -> str:
    return exc.message if exc.status is None else f"HTTP {exc.status}: {exc.message}"


def _key_error(exc: AuthError, what: str = "the store", writing: bool = False) -> ConnectError:
    text = exc.message.lower()
    if "write permission" in text or (writing and exc.status == 401 and "permission" in text):
        return ConnectError(
            "These keys are read-only. The app needs Read/Write keys to register its webhooks "
            f"(it never changes your orders, products or customers): create new keys in {KEYS_PAGE}.",
            "key",
        )
    if "read permission" in text:
        return ConnectError(
            f"These keys are write-only: create Read/Write keys in {KEYS_PAGE}.",
            "key",
        )
    if exc.status == 403:
        return ConnectError(
            f"The keys work, but their WordPress user may not access {what}: create the keys for an "
            "administrator or shop manager.",
            "key",
        )
    field = "secret" if "secret" in text else "key"
    return ConnectError(
        f"WooCommerce did not accept these keys ({exc.message}). Check the consumer key and secret "
        f"in {KEYS_PAGE}.",
        field,
    )


def _site_error(exc: WooCommerceError, url: str) -> ConnectError:
    if isinstance(exc, CertificateError):
        return ConnectError(
            f"{url} has an HTTPS certificate that cannot be verified (expired, self-signed or for "
            "another name). Fix the certificate and try again.",
            "url",
        )
    if isinstance(exc, Unreachable):
        return ConnectError(f"Could not reach {url}: check the address and that the site is online.", "url")
    if isinstance(exc, Transient):
        return ConnectError(
            f"{url} is not answering properly right now ({_describe(exc)}); try again in a few minutes.",
            "url",
        )
    return ConnectError(f"{url} refused the check ({_describe(exc)}).", "url")


# --- saving and webhooks --------------------------------------------------------------------------


def _save_shop(
    session: Session, box: TokenBox, check: StoreCheck, consumer_key: str, consumer_secret: str
) -> tuple[Shop, bool]:
    shop = session.scalars(select(Shop).where(Shop.platform == PLATFORM, Shop.domain == check.domain)).first()
    created = shop is None
    now = datetime.now(UTC)
    if shop is None:
        shop = Shop(platform=PLATFORM, domain=check.domain, name=check.domain, timezone="UTC", settings={})
        session.add(shop)
    if check.currency:
        shop.currency = check.currency
    shop.access_token_enc = box.encrypt(consumer_key)
    shop.api_secret_enc = box.encrypt(consumer_secret)
    if shop.webhook_secret_enc is None:
        shop.webhook_secret_enc = box.encrypt(secrets.token_urlsafe(32))
    shop.scopes = "read_write"
    shop.is_active = True
    shop.uninstalled_at = None
    shop.installed_at = shop.installed_at or now
    shop.settings = {
        **(shop.settings or {}),
        PLATFORM: {
            **(shop.settings or {}).get(PLATFORM, {}),
            "url": check.url,
            "key_hint": f"…{consumer_key[-4:]}",
            "connected_at": now.isoformat(),
        },
    }
    session.flush()
    return shop, created


def register_webhooks(client: WooClient, delivery_url: str, secret: str, app_prefix: str) -> dict[str, int]:
    """Make the store have exactly one active webhook per topic pointing at `delivery_url`.

    Existing ones are updated (secret, status `active`: WooCommerce disables a webhook after
    repeated failures), duplicates and ones left from an earlier connection of this app
    (another address under `app_prefix`) are deleted.
    """
    existing = [w for w in client.list_all("webhooks") if isinstance(w, dict)]
    ours = [w for w in existing if w.get("delivery_url") == delivery_url]
    stale = [
        w
        for w in existing
        if str(w.get("delivery_url", "")).startswith(app_prefix) and w.get("delivery_url") != delivery_url
    ]
    ids: dict[str, int] = {}
    for topic in TOPICS:
        matches = [w for w in ours if w.get("topic") == topic]
        body = {
            "name": f"CVO: {topic}",
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret,
            "status": "active",
        }
        if matches:
            ids[topic] = int(client.put(f"webhooks/{int(matches[0]['id'])}", body)["id"])
            stale.extend(matches[1:])
        else:
            ids[topic] = int(client.post("webhooks", body)["id"])
    stale.extend(w for w in ours if w.get("topic") not in TOPICS)
    for webhook in stale:
        client.delete(f"webhooks/{int(webhook['id'])}", {"force": "true"})
    return ids
