"""`cvo recommend`: a product's cross-sells, or a cart's add-ons, as a table or JSON."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database, load_shop_id
from cvo_plugin.services.crosssell import LISTS, RecommendationList, UnknownProductError, recommend

_HEADINGS = {
    "addons": "Frequently bought together",
    "upsell": "Upsells (same type, higher price)",
    "downsell": "Downsells (same type, lower price)",
}


def _number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _table(result: RecommendationList) -> str:
    """A readable table of one list."""
    header = ("#", "product", "title", "why", "orders", "support", "conf.", "lift", "price")
    rows = [
        (
            str(item.rank),
            item.product.platform_id,
            item.product.title,
            item.label,
            _number(item.orders_together),
            _number(item.support, 4),
            _number(item.confidence),
            _number(item.lift, 2),
            "-" if item.product.price is None else f"{item.product.price:.2f} {result.currency}",
        )
        for item in result.items
    ]
    if not rows:
        return "  (none)"
    widths = [min(max(len(r[i]) for r in [header, *rows]), 40) for i in range(len(header))]
    right = {0, 4, 5, 6, 7, 8}

    def line(cells: tuple[str, ...]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            cell = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            parts.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return "  " + "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


@click.command("recommend")
@click.argument("shop")
@click.argument("product_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (CONTRACT.md) instead of a table.")
@click.option(
    "--list",
    "list_kind",
    type=click.Choice(["all", *LISTS]),
    default="all",
    show_default=True,
    help="Which list: add-ons (frequently bought together), upsells, downsells, or all of them.",
)
@click.option("--limit", type=click.IntRange(1, 100), default=None, help="Most items per list.")
@with_appcontext
def recommend_command(
    shop: str, product_ids: tuple[str, ...], as_json: bool, list_kind: str, limit: int | None
) -> None:
    """The cross-sells for PRODUCT_ID in SHOP, or the add-ons of a cart of several products.

    Product ids are the platform's (Shopify or WooCommerce ids, or the ids of imported files).
    """
    shop_id = load_shop_id(shop)
    cart = len(set(product_ids)) > 1
    if cart and list_kind in ("upsell", "downsell"):
        raise click.UsageError("upsells and downsells are for one product; a cart gets add-ons")
    kinds = (
        ["addons"] if cart or list_kind == "addons" else list(LISTS) if list_kind == "all" else [list_kind]
    )
    results: list[RecommendationList] = []
    with database().session() as session:
        try:
            for kind in kinds:
                results.append(recommend(session, shop_id, list(product_ids), list_kind=kind, limit=limit))
        except (UnknownProductError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    if results[0].computed_at is None:
        click.echo(f"no cross-sells computed for {shop} yet: run `cvo compute {shop}`", err=True)
    if as_json:
        click.echo(json.dumps([item for result in results for item in result.as_json()], indent=2))
        return
    sources = ", ".join(f"{c.title} ({c.platform_id})" for c in results[0].sources)
    when = results[0].computed_at
    click.echo(f"{'Cart' if cart else 'Product'}: {sources}")
    if when is not None:
        click.echo(f"computed {when:%Y-%m-%d %H:%M} UTC")
    for result in results:
        heading = "Cart add-ons" if cart else _HEADINGS[result.list]
        click.echo(f"\n{heading}\n{_table(result)}")


def register(cli: click.Group) -> None:
    cli.add_command(recommend_command)
