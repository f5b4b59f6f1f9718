"""Telling dead workers and schedulers from live ones, and freeing what the dead ones hold."""

from __future__ import annotations

import os
import socket

import pytest
from redis import Redis

from cvo_plugin.job_recovery import (
    SCHEDULER_KEY_PREFIX,
    SCHEDULER_LOCK_PREFIX,
    WORKER_KEY_PREFIX,
    release_dead_scheduler_locks,
    worker_is_gone,
)

pytestmark = pytest.mark.redis


def test_dead_and_live_workers(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    here = socket.gethostname()
    redis.hset(WORKER_KEY_PREFIX + "alive", mapping={"pid": os.getpid(), "hostname": here})
    redis.hset(WORKER_KEY_PREFIX + "dead", mapping={"pid": 999_999_99, "hostname": here})
    redis.hset(WORKER_KEY_PREFIX + "elsewhere", mapping={"pid": 999_999_99, "hostname": "other-host"})
    assert not worker_is_gone(redis, "alive")
    assert worker_is_gone(redis, "dead")
    assert not worker_is_gone(redis, "elsewhere")  # registered on another host: trusted until it expires
    assert worker_is_gone(redis, "never-registered") and worker_is_gone(redis, None)
    assert worker_is_gone(redis, "alive", process_exists=lambda pid: False)


def test_only_a_dead_schedulers_lock_is_freed(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    here = socket.gethostname()
    redis.hset(SCHEDULER_KEY_PREFIX + "s-dead", mapping={"pid": 999_999_99, "hostname": here})
    redis.hset(SCHEDULER_KEY_PREFIX + "s-live", mapping={"pid": os.getpid(), "hostname": here})
    redis.set(SCHEDULER_LOCK_PREFIX + "sync", "s-dead")
    redis.set(SCHEDULER_LOCK_PREFIX + "analytics", "s-live")
    assert release_dead_scheduler_locks(redis, ["sync", "analytics", "default"]) == ["sync"]
    assert redis.get(SCHEDULER_LOCK_PREFIX + "sync") is None
    assert redis.get(SCHEDULER_LOCK_PREFIX + "analytics") == b"s-live"


@pytest.mark.parametrize("db_backend", ["postgresql"])  # SQLite runs jobs in one process: no lock
def test_one_execution_per_shop_and_kind_at_a_time(database_url: str, db_backend: str) -> None:
    """PostgreSQL's advisory lock: a second execution of (kind, shop) waits, then gives up."""
    import threading
    import time

    from cvo_plugin.db import Database
    from jobs.runtime import RunConflict, exclusive

    first, second = Database(database_url), Database(database_url)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with exclusive(first, "sync", 7):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(RunConflict):
            with exclusive(second, "sync", 7, wait_s=0.5):
                pass
        assert time.monotonic() - started >= 0.5
        with exclusive(second, "sync", 8, wait_s=0.5):  # another shop runs at once
            pass
        with exclusive(second, "segments", 7, wait_s=0.5):  # another kind too
            pass
    finally:
        release.set()
        thread.join(10)
    with exclusive(second, "sync", 7, wait_s=0.5):  # free again once the first ended
        pass
    first.dispose()
    second.dispose()
