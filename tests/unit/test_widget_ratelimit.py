"""The widget's rate limiter on its own (no Redis): windows, scopes, and batching rules."""

from __future__ import annotations

from cvo_plugin.services.widget.cache import RedisGuard
from cvo_plugin.services.widget.ratelimit import Limit, RateLimiter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_limits_per_key_and_window() -> None:
    clock = Clock(1_000_000.0)
    limiter = RateLimiter(RedisGuard(None), window_s=60, clock=clock)
    ip, shop = Limit("ip", "10.0.0.1", 3), Limit("shop", "1", 5)
    assert [limiter.check([ip, shop]).allowed for _ in range(3)] == [True, True, True]
    refused = limiter.check([ip, shop])
    assert (refused.allowed, refused.scope) == (False, "ip")
    assert 1 <= refused.retry_after_s <= 61
    other_ip = Limit("ip", "10.0.0.2", 3)
    assert limiter.check([other_ip, shop]).allowed  # the shop's fifth request
    refused = limiter.check([Limit("ip", "10.0.0.3", 3), shop])
    assert (refused.allowed, refused.scope) == (False, "shop")
    clock.now += 60  # a new window starts from zero
    assert limiter.check([ip, shop]).allowed
