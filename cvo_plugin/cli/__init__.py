"""The `cvo` command line: a Flask CLI group (`cvo --help` lists everything)."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from cvo_plugin.config import ConfigError


def _create_app():  # type: ignore[no-untyped-def]
    from cvo_plugin import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, load_dotenv=True)
def cli() -> None:
    """CVO plugin backend: import store data, compute customer value, serve the admin and widget."""


def _register() -> None:
    from cvo_plugin.cli import admin, db, demo, imports, insights, jobs, recommend, woocommerce, worker

    for module in (admin, db, demo, imports, insights, jobs, recommend, woocommerce, worker):
        module.register(cli)


_register()


def main() -> None:
    """Console entry point."""
    try:
        cli.main(prog_name="cvo")
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)
