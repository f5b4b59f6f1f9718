"""`cvo connect-woocommerce`: check a store's REST API keys, save it, register webhooks, backfill."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database, fraction_bar
from cvo_plugin.runtime import get_settings
from cvo_plugin.services.woocommerce_connect import ConnectError, connect_woocommerce
from cvo_plugin.tasks import TaskQueue


@click.command("connect-woocommerce")
@click.option("--url", required=True, help="The store's address, e.g. https://shop.example.com.")
@click.option("--key", required=True, help="REST API consumer key (ck_...).")
@click.option(
    "--secret",
    prompt="Consumer secret",
    hide_input=True,
    help="REST API consumer secret (cs_...); asked for when not given.",
)
@with_appcontext
def connect_woocommerce_command(url: str, key: str, secret: str) -> None:
    """Connect a WooCommerce store with Read/Write REST API keys and read its data."""
    settings = get_settings()
    queue = TaskQueue(settings, database())
    try:
        with fraction_bar("first sync") as update:
            result = connect_woocommerce(database(), settings, url, key, secret, queue=queue, listener=update)
    except ConnectError as exc:
        raise click.ClickException(exc.message) from None
    action = "Connected" if result.created else "Reconnected"
    click.echo(f"{action} {result.domain} ({len(result.webhooks)} webhooks registered).")
    if result.sync_error:
        click.echo(f"The first sync stopped: {result.sync_error}", err=True)
        click.echo(f"It resumes with `cvo sync {result.domain}` or the next scheduled sync.", err=True)
        raise click.exceptions.Exit(1)
    handle = result.sync
    if handle is None:
        return
    if handle.joined:
        click.echo(f"sync: joined the run already under way ({handle.id})")
    elif handle.status == "queued":
        click.echo(f"sync: queued as {handle.id}; `cvo worker` runs it")
    else:
        summary = handle.result or {}
        read = summary.get("read", {})
        click.echo(
            "sync: "
            + ", ".join(f"{read.get(r, 0):,} {r}" for r in ("orders", "customers", "products"))
            + " read"
        )


def register(cli: click.Group) -> None:
    cli.add_command(connect_woocommerce_command)
