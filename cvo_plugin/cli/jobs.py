"""`cvo sync` and `cvo compute`: run a shop's sync or computations (on RQ, or here with a progress bar)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database, fraction_bar, load_shop_id
from cvo_plugin.models import Shop
from cvo_plugin.runtime import get_settings
from cvo_plugin.tasks import COMPUTE_STEPS, QUEUE_SYNC, SYNC_BY_PLATFORM, JobHandle, TaskQueue


def _report(handle: JobHandle, what: str) -> None:
    if handle.joined:
        click.echo(f"{what}: joined the run already under way ({handle.id})")
    elif handle.status == "queued":
        click.echo(f"{what}: queued as {handle.id}; `cvo worker` runs it")
    else:
        click.echo(f"{what}: {handle.status}")


@click.command("sync")
@click.argument("shop")
@click.option(
    "--full", is_flag=True, help="Read everything again instead of what changed since the last sync."
)
@with_appcontext
def sync(shop: str, full: bool) -> None:
    """Sync SHOP's orders, customers and products from its platform."""
    shop_id = load_shop_id(shop)
    with database().session() as session:
        platform = session.get(Shop, shop_id).platform  # type: ignore[union-attr]
    func = SYNC_BY_PLATFORM.get(platform)
    if func is None:
        raise click.ClickException(
            f"{shop} is a {platform} shop: its data comes from imported files, not a sync"
        )
    queue = TaskQueue(get_settings(), database())
    with fraction_bar(f"syncing {shop}") as update:
        handle = queue.enqueue(func, shop_id, kind="sync", queue=QUEUE_SYNC, kwargs={"full": full},
                               timeout=6 * 3600, listener=update)  # fmt: skip
    _report(handle, "sync")


@click.command("compute")
@click.argument("shop")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Compute as the shop stood at the end of this day (UTC); later orders are ignored.",
)
@with_appcontext
def compute(shop: str, as_of: object) -> None:
    """Compute everything for SHOP (segments, CLV, channels, cross-sells, ...)."""
    shop_id = load_shop_id(shop)
    if not COMPUTE_STEPS:
        raise click.ClickException("no computations are installed")
    day = as_of.date().isoformat() if isinstance(as_of, date) else None  # datetime is a date
    queue = TaskQueue(get_settings(), database())
    for step in COMPUTE_STEPS:
        kwargs = {"as_of": day} if day else {}
        with fraction_bar(step.label) as update:
            handle = queue.enqueue(step.func, shop_id, kind=step.kind, queue=step.queue, kwargs=kwargs,
                                   timeout=step.timeout, listener=update)  # fmt: skip
        _report(handle, step.label)


def register(cli: click.Group) -> None:
    cli.add_command(sync)
    cli.add_command(compute)
