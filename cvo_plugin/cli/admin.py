"""`cvo admin-link SHOP`: a one-time sign-in link to the admin, for shops outside Shopify's admin."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database
from cvo_plugin.runtime import get_settings
from cvo_plugin.services.admin.links import LINK_TTL, create_admin_link, signin_url
from cvo_plugin.services.shops import UnknownShopError, get_shop


def admin_link(shop_name: str) -> str:
    """A fresh sign-in URL for the admin of `shop_name` (inside an app context)."""
    with database().session() as session:
        try:
            shop = get_shop(session, shop_name)
        except UnknownShopError as exc:
            raise click.ClickException(str(exc)) from None
        if not shop.is_active:
            raise click.ClickException(f"shop {shop_name!r} is uninstalled; install it again first")
        token = create_admin_link(session, shop)
    return signin_url(get_settings().app_url, token)


@click.command("admin-link")
@click.argument("shop")
@with_appcontext
def admin_link_command(shop: str) -> None:
    """Print a one-time sign-in link to SHOP's admin (valid 15 minutes, works once)."""
    click.echo(admin_link(shop))
    click.echo(f"(works once, for {int(LINK_TTL.total_seconds() // 60)} minutes)", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(admin_link_command)
