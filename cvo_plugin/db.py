"""The database: declarative base, engines, sessions, and the Flask wiring (get/close/init_app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from flask import Flask

    from cvo_plugin.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; constraint names follow one convention so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL, a busy timeout and real transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        _sqlite_transactions(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so DDL and SAVEPOINTs are transactional."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 64 MB of page cache instead of SQLite's 2 MB: large imports and merges touch big indexes.
        cursor.execute("PRAGMA cache_size=-65536")
        # The same for temporary tables (the import's staging tables and their sorts and indexes).
        cursor.execute("PRAGMA temp.cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


class Database:
    """An engine and its session factory; one per app or worker process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database named by the settings."""
        return cls(settings.database_url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back when it raises."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def one_shot_engine(url: str) -> Engine:
    """An engine without pooling, for migrations and short CLI work."""
    return make_engine(url, poolclass=NullPool)


# --- Flask wiring -----------------------------------------------------------------------------


def init_app(app: Flask, database: Database) -> None:
    """Keep `database` on the app and close each request's session on teardown."""
    app.extensions.setdefault("cvo", {})["db"] = database
    app.teardown_appcontext(close_session)


def get_database() -> Database:
    """The app's `Database`."""
    from flask import current_app

    return current_app.extensions["cvo"]["db"]


def get_session() -> Session:
    """The request's session, opened on first use and cached on `g`."""
    from flask import g

    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    """Roll back whatever the request left uncommitted and close its session."""
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
        finally:
            session.close()
