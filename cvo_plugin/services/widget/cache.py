"""The widget API's response cache: in the process first, then Redis when it is set.

A cached entry is the response body (JSON bytes) and its ETag. Entries live `ttl_s` seconds in
Redis (shared by every web process) and `local_ttl_s` in the process (no network at all on the
hottest path). When Redis fails, `RedisGuard` stops using it for `pause_s` seconds, so a Redis
outage costs one failed call per pause instead of one per request; answers then come from the
process cache or the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")
KEY_PREFIX = "cvo:widget:"


class RedisGuard:
    """Runs Redis calls, and skips Redis for `pause_s` seconds after one fails."""

    def __init__(
        self, redis: Redis | None, pause_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.redis = redis
        self.pause_s = pause_s
        self.clock = clock
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return self.redis is not None and self.clock() >= self._down_until

    def call(self, action: Callable[[Redis], T]) -> T | None:
        """`action(redis)`, or None when Redis is unset, paused or fails (it is then paused)."""
        if self.redis is None or self.clock() < self._down_until:
            return None
        try:
            return action(self.redis)
        except (RedisError, OSError) as exc:
            self._down_until = self.clock() + self.pause_s
            log.warning("Redis unavailable for the widget (%s); using the database", type(exc).__name__)
            return None


@dataclass(frozen=True)
class Cached:
    """A response body and its ETag."""

    etag: str
    body: bytes


def etag_of(body: bytes) -> str:
    """A strong ETag for a body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


class LocalCache:
    """A small LRU of entries with an expiry, safe across threads."""

    def __init__(self, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self.clock():
            with self._lock:
                self._items.pop(key, None)
            return None
        return item[1]

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        with self._lock:
            self._items[key] = (self.clock() + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class ResponseCache:
    """Widget responses by key: the process cache, then Redis (`guard`), else a miss."""

    def __init__(self, guard: RedisGuard, ttl_s: int = 300, local_ttl_s: float = 15.0) -> None:
        self.guard = guard
        self.ttl_s = ttl_s
        self.local_ttl_s = local_ttl_s
        self.local = LocalCache()

    def get(self, key: str) -> Cached | None:
        found = self.local.get(key)
        if found is not None:
            return found
        raw = self.guard.call(lambda r: r.get(KEY_PREFIX + key))
        if not raw:
            return None
        etag, _, body = bytes(raw).partition(b"\n")
        cached = Cached(etag.decode(), body)
        self.local.set(key, cached, self.local_ttl_s)
        return cached

    def put(self, key: str, body: bytes) -> Cached:
        cached = Cached(etag_of(body), body)
        self.local.set(key, cached, self.local_ttl_s)
        self.guard.call(lambda r: r.set(KEY_PREFIX + key, cached.etag.encode() + b"\n" + body, ex=self.ttl_s))
        return cached
