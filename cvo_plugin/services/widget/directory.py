"""Which shop a widget request is for, and what the hot path needs to know about it.

The widget API is the busiest route of the app, so a shop's facts are read once and kept in
the process for `ttl_s` seconds (unknown keys too, so random keys cannot hammer the database).
A new cross-sell computation changes `set_id`, which is part of every cache key: the widget
shows it once the entry here expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import CrosssellSet, Shop
from cvo_plugin.services.crosssell.settings import crosssell_settings
from cvo_plugin.services.widget_settings import WidgetSettings, widget_settings

# Extra storefront origins (a custom domain in front of a myshopify domain, a WooCommerce
# store's second host): `Shop.settings["widget_origins"] = ["https://shop.example.com"]`.
ORIGINS_SETTING = "widget_origins"
MAX_ITEMS = 10


@dataclass(frozen=True)
class WidgetShop:
    """A shop as the widget API sees it."""

    id: int
    domain: str
    platform: str
    public_key: str
    currency: str
    active: bool
    settings: WidgetSettings
    origins: frozenset[str]
    set_id: int | None
    default_items: int


def _origin(value: str) -> str | None:
    """`scheme://host[:port]` of a URL or bare host, lower-cased; None when there is no host."""
    text = value.strip().lower()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def shop_origins(shop: Shop) -> frozenset[str]:
    """The storefront origins allowed to call the widget API for `shop` (CORS)."""
    found = set()
    main = _origin(shop.domain)
    if main is not None and shop.platform in ("shopify", "woocommerce"):
        found.add(main)
        host = main.split("://", 1)[1]
        if shop.platform == "woocommerce":
            found.add(f"https://www.{host}" if not host.startswith("www.") else f"https://{host[4:]}")
    for extra in shop.setting(ORIGINS_SETTING) or ():
        origin = _origin(str(extra))
        if origin is not None:
            found.add(origin)
    return frozenset(found)


def load_widget_shop(
    session: Session, *, public_key: str | None = None, domain: str | None = None, platform: str | None = None
) -> WidgetShop | None:
    """The shop with this public key, or with this domain (and platform); None when unknown."""
    query = select(Shop)
    if public_key is not None:
        query = query.where(Shop.public_key == public_key)
    elif domain is not None:
        query = query.where(Shop.domain == domain)
        if platform is not None:
            query = query.where(Shop.platform == platform)
    else:
        raise ValueError("give a public key or a domain")
    shop = session.scalars(query).first()
    if shop is None:
        return None
    set_id = session.scalar(
        select(CrosssellSet.id).where(CrosssellSet.shop_id == shop.id, CrosssellSet.is_current.is_(True))
    )
    return WidgetShop(
        id=shop.id,
        domain=shop.domain,
        platform=shop.platform,
        public_key=shop.public_key,
        currency=shop.currency,
        active=bool(shop.is_active) and shop.uninstalled_at is None,
        settings=widget_settings(shop),
        origins=shop_origins(shop),
        set_id=set_id,
        default_items=min(crosssell_settings(shop).max_recommendations, MAX_ITEMS),
    )


class ShopDirectory:
    """Shops by public key or domain, kept in this process for `ttl_s` seconds."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        ttl_s: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[tuple[str, str], tuple[float, WidgetShop | None]] = {}
        self._lock = threading.Lock()

    def by_key(self, public_key: str) -> WidgetShop | None:
        """The shop whose public widget key this is."""
        return self._get(("key", public_key), lambda s: load_widget_shop(s, public_key=public_key))

    def by_domain(self, domain: str, platform: str) -> WidgetShop | None:
        """The shop of `platform` with this domain."""
        return self._get((platform, domain), lambda s: load_widget_shop(s, domain=domain, platform=platform))

    def peek_key(self, public_key: str) -> WidgetShop | None:
        """The shop of this key if this process knows it now (never reads the database)."""
        entry = self._entries.get(("key", public_key))
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    def forget(self) -> None:
        """Drop every entry (tests; after changing a shop's settings in this process)."""
        with self._lock:
            self._entries.clear()

    def _get(self, key: tuple[str, str], load: Callable[[Session], WidgetShop | None]) -> WidgetShop | None:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        with self.sessions() as session:
            shop = load(session)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (now + self.ttl_s, shop)
        return shop
