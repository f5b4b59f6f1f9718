"""Fixed-window rate limits for the widget API: per client IP and per shop.

With Redis the counters are shared by every web process (one pipelined round trip counts both
limits); without Redis, or while it is down, each process counts on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cvo_plugin.services.widget.cache import RedisGuard

PREFIX = "cvo:rl:"


@dataclass(frozen=True)
class Limit:
    """At most `requests` per `window_s` seconds for one key (`scope:value`)."""

    scope: str
    value: str
    requests: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    scope: str | None = None
    retry_after_s: int = 0


class RateLimiter:
    """Counts requests per key and window; `check` says whether one more is allowed."""

    def __init__(self, guard: RedisGuard, window_s: int = 60, clock: Callable[[], float] = time.time) -> None:
        self.guard = guard
        self.window_s = window_s
        self.clock = clock
        self._local: dict[str, int] = {}
        self._local_window = -1
        self._lock = threading.Lock()

    def check(self, limits: Sequence[Limit]) -> Verdict:
        """Count one request against each limit; refused if any is over."""
        now = self.clock()
        window = int(now // self.window_s)
        keys = [f"{PREFIX}{limit.scope}:{limit.value}:{window}" for limit in limits]
        counts = self.guard.call(lambda r: self._count_redis(r, keys))
        if counts is None:
            counts = self._count_local(keys, window)
        retry = int((window + 1) * self.window_s - now) + 1
        for limit, count in zip(limits, counts, strict=True):
            if count > limit.requests:
                return Verdict(False, limit.scope, retry)
        return Verdict(True)

    def _count_redis(self, redis: object, keys: list[str]) -> list[int]:
        pipe = redis.pipeline(transaction=False)  # type: ignore[attr-defined]
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, self.window_s + 5, nx=True)
        results = pipe.execute()
        return [int(results[2 * i]) for i in range(len(keys))]

    def _count_local(self, keys: list[str], window: int) -> list[int]:
        with self._lock:
            if window != self._local_window:
                self._local = {}
                self._local_window = window
            counts = []
            for key in keys:
                self._local[key] = self._local.get(key, 0) + 1
                counts.append(self._local[key])
            return counts
