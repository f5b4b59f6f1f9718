"""Jobs whose worker died: hand them back to RQ at once instead of after its heartbeat timeout.

RQ notices an abandoned job (its worker was killed with SIGKILL, its host died) only when the
job's execution heartbeat expires, a minute or more later, and only in a worker's maintenance
pass (every ten minutes). `recover_abandoned` runs when a worker starts and on every scheduler
tick: an execution whose worker is gone (its registration expired, or its process no longer
exists on this host) is marked expired, and RQ's own clean-up then retries the job (it still
has retries) or moves it to the failed-job registry. The retry resumes from the job's last
checkpoint, and `jobs.runtime.exclusive` keeps it from overlapping a work-horse that outlived
its worker.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable

from redis import Redis

from cvo_plugin.tasks import QUEUES

log = logging.getLogger(__name__)

WORKER_KEY_PREFIX = "rq:worker:"
SCHEDULER_KEY_PREFIX = "rq:scheduler:"
SCHEDULER_LOCK_PREFIX = "rq:scheduler-lock:"
# Delete a scheduler lock only if it still names the dead scheduler (another may have taken it).
_RELEASE_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def _process_exists(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def worker_is_gone(
    redis: Redis,
    worker_name: str | None,
    hostname: str | None = None,
    process_exists: Callable[[int], bool] = _process_exists,
    prefix: str = WORKER_KEY_PREFIX,
) -> bool:
    """Whether the worker (or, with `prefix=SCHEDULER_KEY_PREFIX`, the scheduler) named
    `worker_name` no longer runs: its registration is gone, or it was on this host and its
    process no longer exists. Unknown names count as gone."""
    if not worker_name:
        return True
    data = {_text(k): _text(v) for k, v in redis.hgetall(prefix + worker_name).items()}
    if not data:
        return True
    host = hostname if hostname is not None else socket.gethostname()
    pid = data.get("pid")
    if data.get("hostname") == host and pid and pid.isdigit():
        return not process_exists(int(pid))
    return False  # on another host and still registered: alive as far as we can tell


def abandoned_executions(redis: Redis, queues: Iterable[str] = QUEUES) -> list[tuple[str, str]]:
    """(queue, `job_id:execution_id`) of every started job whose worker is gone."""
    from rq.registry import StartedJobRegistry

    found: list[tuple[str, str]] = []
    for name in queues:
        registry = StartedJobRegistry(name, connection=redis)
        for member in redis.zrange(registry.key, 0, -1):
            composite = _text(member) or ""
            worker = _text(redis.hget(f"rq:execution:{composite}", "worker_name"))
            if worker_is_gone(redis, worker):
                found.append((name, composite))
    return found


def release_dead_scheduler_locks(redis: Redis, queues: Iterable[str] = QUEUES) -> list[str]:
    """Free the scheduler locks held by schedulers that are gone (queues whose lock was freed).

    RQ's scheduler holds a lock per queue for a minute after its last refresh; a killed one
    would leave scheduled jobs (retries, the scheduler tick) waiting until it expires.
    """
    freed = []
    for name in queues:
        owner = _text(redis.get(SCHEDULER_LOCK_PREFIX + name))
        if owner and worker_is_gone(redis, owner, prefix=SCHEDULER_KEY_PREFIX):
            if redis.eval(_RELEASE_IF_OWNER, 1, SCHEDULER_LOCK_PREFIX + name, owner):
                freed.append(name)
    return freed


def recover_abandoned(redis: Redis, queues: Iterable[str] = QUEUES) -> int:
    """Retry (or fail, without retries left) every started job whose worker is gone, and free
    the scheduler locks of dead schedulers; returns how many jobs were handed back."""
    from rq.registry import StartedJobRegistry

    release_dead_scheduler_locks(redis, queues)
    abandoned = abandoned_executions(redis, queues)
    for name, composite in abandoned:
        registry = StartedJobRegistry(name, connection=redis)
        redis.zadd(registry.key, {composite: 0}, xx=True)  # expired: RQ's clean-up takes it from here
        job_id = composite.split(":")[0]
        log.warning("job %s on queue %s lost its worker; handing it back to RQ", job_id, name)
    for name in {n for n, _ in abandoned}:
        StartedJobRegistry(name, connection=redis).cleanup()
    return len(abandoned)
