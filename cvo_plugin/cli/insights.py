"""`cvo report` (the segment summary) and `cvo spend import` (marketing spend by channel and month)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from cvo_plugin.cli.common import database, load_shop_id
from cvo_plugin.models import Shop
from cvo_plugin.services.insights.read import NoSnapshotError
from cvo_plugin.services.insights.report import report as build_report
from cvo_plugin.services.insights.spend import ImportFormatError, import_spend


def _cell(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{100 * value:.1f}%"
    return str(value)


def _table(result: dict[str, Any]) -> str:
    header = (
        "segment",
        "customers",
        "% cust.",
        "revenue",
        "% rev.",
        "AOV",
        "orders/cust.",
        "days betw.",
        "avg CLV",
        "pred. 12m",
    )
    rows = [
        (
            s["name"],
            _cell(s["customers"]),
            _cell(s["share_customers"], "%"),
            _cell(s["revenue"]),
            _cell(s["share_revenue"], "%"),
            _cell(s["aov"]),
            _cell(s["orders_per_customer"]),
            _cell(s["days_between_orders"]),
            _cell(s["avg_clv"]),
            _cell(s["avg_predicted_clv"]),
        )
        for s in result["segments"]
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        f"{result['shop']} as of {result['as_of']}: {result['customers']} customers, "
        f"{result['orders']} orders, revenue {result['revenue']} {result['currency']}",
        "",
    ]
    for row in [header, *rows]:
        lines.append(
            "  ".join(
                str(v).ljust(w) if i == 0 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    model = result["clv_model"]
    lines.append("")
    if model["bgnbd"]:
        b = model["bgnbd"]
        lines.append(
            f"BG/NBD ({model['time_unit']}): r={b['r']:.4g} alpha={b['alpha']:.4g} "
            f"a={b['a']:.4g} b={b['b']:.4g}"
        )
    if model["gamma_gamma"]:
        g = model["gamma_gamma"]
        lines.append(f"Gamma-Gamma: p={g['p']:.4g} q={g['q']:.4g} v={g['v']:.4g}")
    lines.extend(f"note: {note}" for note in model["notes"])
    return "\n".join(lines)


@click.command("report")
@click.argument("shop")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (CONTRACT.md) instead of a table.")
@click.option("--customers", is_flag=True, help="With --json: add one `rfm` row per scored customer.")
@with_appcontext
def report(shop: str, as_json: bool, customers: bool) -> None:
    """The segment summary of SHOP (from its latest computation)."""
    shop_id = load_shop_id(shop)
    with database().session() as session:
        record = session.get(Shop, shop_id)
        assert record is not None
        try:
            result = build_report(session, record, include_customers=customers and as_json)
        except NoSnapshotError as exc:
            raise click.ClickException(str(exc).replace("SHOP", shop)) from None
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        click.echo("")
    else:
        click.echo(_table(result))


@click.group("spend")
def spend() -> None:
    """Marketing spend by channel and month (for CAC and LTV:CAC)."""


@spend.command("import")
@click.argument("shop")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def spend_import(shop: str, file: str) -> None:
    """Import a spend CSV (`channel,month,amount`, month YYYY-MM) into SHOP; atomic."""
    shop_id = load_shop_id(shop)
    try:
        with database().session() as session:
            record = session.get(Shop, shop_id)
            assert record is not None
            summary = import_spend(session, record, file)
    except ImportFormatError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from None
    click.echo(summary.describe())
    click.echo(f"run `cvo compute {shop}` to update CAC and LTV:CAC")


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(spend)
