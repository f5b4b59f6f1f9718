"""Alembic environment: the URL comes from the settings (DATABASE_URL), the schema from the models."""

from __future__ import annotations

from alembic import context

from cvo_plugin import models  # noqa: F401  (registers every table on Base.metadata)
from cvo_plugin.config import Settings
from cvo_plugin.db import Base, one_shot_engine

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write the app's column types as the plain SQLAlchemy types they store, so migrations
    never import app code."""
    if type_ == "type":
        from cvo_plugin.types import Money, UTCDateTime

        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        if isinstance(obj, Money):
            return "sa.Numeric(14, 2)"
    return False


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without a database connection."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations on a live connection (one transaction for all of them)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = one_shot_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
