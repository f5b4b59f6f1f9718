"""`cvo import-orders`, `cvo import-products`: files into a shop, atomically per file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database
from cvo_plugin.imports.reader import ImportFormatError
from cvo_plugin.services.imports import (
    ORDER_FORMATS,
    PRODUCT_FORMATS,
    import_orders,
    import_products,
)
from cvo_plugin.services.shops import get_or_create_shop


def _import(shop_name: str, files: tuple[Path, ...], fmt: str, products: bool) -> None:
    db = database()
    failed = False
    for path in files:
        size = max(os.path.getsize(path), 1)
        with click.progressbar(length=size, label=f"{path.name}", show_eta=True, file=sys.stderr) as bar:
            try:
                with db.session() as session:
                    shop = get_or_create_shop(session, shop_name)
                    run = import_products if products else import_orders
                    summary = run(session, shop, path, fmt, bar.update)
            except ImportFormatError as exc:
                failed = True
                click.echo("", err=True)
                click.echo(f"refused {exc} - nothing of this file was imported", err=True)
                continue
        click.echo(summary.describe())
    if failed:
        raise click.exceptions.Exit(1)


@click.command("import-orders")
@click.argument("shop")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--format", "fmt", type=click.Choice(sorted(ORDER_FORMATS)), required=True, help="File format.")
@with_appcontext
def import_orders_command(shop: str, files: tuple[Path, ...], fmt: str) -> None:
    """Import order FILES into SHOP (created if new, platform csv)."""
    _import(shop, files, fmt, products=False)


@click.command("import-products")
@click.argument("shop")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(PRODUCT_FORMATS)),
    default="shopify-products-csv",
    show_default=True,
)
@with_appcontext
def import_products_command(shop: str, file: Path, fmt: str) -> None:
    """Import the catalogue FILE (Shopify's Products > Export) into SHOP."""
    _import(shop, (file,), fmt, products=True)


def register(cli: click.Group) -> None:
    cli.add_command(import_orders_command)
    cli.add_command(import_products_command)
