"""Job functions for the task-queue tests (importable by RQ workers by dotted path)."""

from __future__ import annotations

import time

from jobs.runtime import job_run


def count_to(shop_id: int, n: int = 4, pause: float = 0.0) -> dict[str, int]:
    """Report progress n times and return how far it counted."""
    with job_run("count", shop_id) as run:
        for i in range(n):
            time.sleep(pause)
            run.progress((i + 1) / n, f"step {i + 1} of {n}")
        return {"shop_id": shop_id, "counted": n}


def explode(shop_id: int) -> None:
    """Fail with a message."""
    with job_run("explode", shop_id):
        raise ValueError("the data could not be read")


def flaky(shop_id: int, attempts_file: str, fail_times: int) -> dict[str, int]:
    """Fail the first `fail_times` attempts (each attempt appends a line to `attempts_file`)."""
    with job_run("flaky", shop_id):
        with open(attempts_file, "a") as stream:
            stream.write("attempt\n")
        with open(attempts_file) as stream:
            attempt = len(stream.readlines())
        if attempt <= fail_times:
            raise ConnectionError(f"the store did not answer (attempt {attempt})")
        return {"attempts": attempt}


def sync_file(shop_id: int, path: str, intervals_key: str) -> dict[str, int]:
    """A stand-in for a platform sync: store a lines-csv file through the write path (the same
    file again changes nothing), record when it ran (a Redis list), then queue the shop's
    segment computation as a real sync queues its computations."""
    import json
    import os

    from cvo_plugin.models import Shop
    from cvo_plugin.runtime import redis_client
    from cvo_plugin.services.imports import import_orders
    from cvo_plugin.tasks import COMPUTE_SEGMENTS, QUEUE_ANALYTICS, TaskQueue
    from jobs.runtime import current_settings

    with job_run("sync", shop_id) as run:
        started = time.time()
        with run.database.session() as session:
            shop = session.get(Shop, shop_id)
            assert shop is not None
            summary = import_orders(session, shop, path, "lines-csv")
        settings = current_settings()
        redis = redis_client(settings.redis_url or "")
        redis.rpush(intervals_key, json.dumps([shop_id, started, time.time(), os.getpid()]))
        TaskQueue(settings, run.database, redis=redis).enqueue(
            COMPUTE_SEGMENTS, shop_id, kind="segments", queue=QUEUE_ANALYTICS
        )
        return {"orders": summary.counts.orders}
