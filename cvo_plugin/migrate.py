"""Apply and write Alembic migrations from code (`cvo db upgrade`, tests, the release process)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations (works from a wheel as well as a checkout)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        config.attributes["database_url"] = database_url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(
    database_url: str | None = None, revision: str = "head", connection: Connection | None = None
) -> None:
    """Bring the database to `revision` (default: the newest)."""
    command.upgrade(alembic_config(database_url, connection), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database back to `revision`."""
    command.downgrade(alembic_config(database_url), revision)
