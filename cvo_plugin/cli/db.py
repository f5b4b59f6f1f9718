"""`cvo db ...`: schema migrations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from cvo_plugin import migrate
from cvo_plugin.runtime import get_settings


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@with_appcontext
def upgrade(revision: str) -> None:
    """Apply the migrations (creates the SQLite file when needed)."""
    migrate.upgrade(get_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str) -> None:
    """Take the schema back to REVISION (`base` drops everything)."""
    migrate.downgrade(get_settings().database_url, revision)
    click.echo(f"database at {revision}")


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
