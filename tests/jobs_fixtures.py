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
