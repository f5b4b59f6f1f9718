"""`cvo worker`: an RQ worker for the app's queues, with RQ's scheduler."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from cvo_plugin.job_recovery import recover_abandoned
from cvo_plugin.runtime import get_settings, redis_client
from cvo_plugin.tasks import QUEUES, job_modules, schedule_tick


@click.command("worker")
@click.option(
    "--queues", default=",".join(QUEUES), show_default=True, help="Comma-separated queues, in priority order."
)
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--name", default=None, help="Worker name (default: host and pid).")
@with_appcontext
def worker(queues: str, burst: bool, name: str | None) -> None:
    """Run an RQ worker with the scheduler (needs REDIS_URL)."""
    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run in-process and no worker is needed."
        )
    import importlib

    from rq import Queue, Worker

    for module in job_modules():  # once here rather than in every forked work-horse
        importlib.import_module(module)
    redis = redis_client(settings.redis_url)
    recovered = recover_abandoned(redis)
    if recovered:
        click.echo(f"handed {recovered} job(s) of dead workers back to RQ")
    schedule_tick(redis)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    rq_worker = Worker([Queue(q, connection=redis) for q in names], connection=redis, name=name)
    rq_worker.work(with_scheduler=True, burst=burst)


def register(cli: click.Group) -> None:
    cli.add_command(worker)
