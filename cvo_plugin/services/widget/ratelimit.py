"""Fixed-window rate limits for the widget API: per client IP and per shop.

With Redis the counters are shared by every web process. To keep Redis off the hot path, each
process counts locally and adds its count to Redis (one pipelined round trip for every key due)
when a key is first seen in a window, every `sync_s` seconds, and on every request once the
shared total nears half the limit, so a limit is enforced exactly where it matters and in
batches far below it. Without Redis, or while it is down, each process counts on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cvo_plugin.services.widget.cache import RedisGuard

PREFIX = "cvo:rl:"


@dataclass(frozen=True)
class Limit:
    """At most `requests` per window for one key (`scope:value`)."""

    scope: str
    value: str
    requests: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    scope: str | None = None
    retry_after_s: int = 0


@dataclass
class _Count:
    shared: int | None = None  # the total in Redis at the last sync (None: never synced)
    pending: int = 0  # counted here since
    synced_at: float = field(default=0.0)


class RateLimiter:
    """Counts requests per key and window; `check` says whether one more is allowed."""

    def __init__(
        self,
        guard: RedisGuard,
        window_s: int = 60,
        sync_s: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.guard = guard
        self.window_s = window_s
        self.sync_s = sync_s
        self.clock = clock
        self._counts: dict[str, _Count] = {}
        self._window = -1
        self._lock = threading.Lock()

    def check(self, limits: Sequence[Limit]) -> Verdict:
        """Count one request against each limit; refused if any is over."""
        now = self.clock()
        window = int(now // self.window_s)
        retry = int((window + 1) * self.window_s - now) + 1
        with self._lock:
            if window != self._window:
                self._counts = {}
                self._window = window
            due: list[tuple[str, _Count]] = []
            counts = []
            for limit in limits:
                key = f"{PREFIX}{limit.scope}:{limit.value}:{window}"
                count = self._counts.get(key)
                if count is None:
                    count = self._counts[key] = _Count()
                count.pending += 1
                counts.append(count)
                if (
                    count.shared is None
                    or now - count.synced_at >= self.sync_s
                    or 2 * (count.shared + count.pending) >= limit.requests
                ):
                    due.append((key, count))
            if due:
                self._sync(due, now)
            for limit, count in zip(limits, counts, strict=True):
                if (count.shared or 0) + count.pending > limit.requests:
                    return Verdict(False, limit.scope, retry)
        return Verdict(True)

    def _sync(self, due: list[tuple[str, _Count]], now: float) -> None:
        """Add the pending counts to Redis and read back the totals (unchanged if Redis is down)."""

        def push(redis: Any) -> list[int]:
            pipe = redis.pipeline(transaction=False)
            for key, count in due:
                pipe.incrby(key, count.pending)
                pipe.expire(key, self.window_s + 5, nx=True)
            results = pipe.execute()
            return [int(results[2 * i]) for i in range(len(due))]

        totals = self.guard.call(push)
        if totals is None:
            return
        for (_key, count), total in zip(due, totals, strict=True):
            count.shared, count.pending, count.synced_at = total, 0, now
