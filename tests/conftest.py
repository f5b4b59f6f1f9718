"""Shared fixtures.

Database tests run twice: on SQLite and on PostgreSQL (`TEST_DATABASE_URL`, default the local
`test` database). Redis tests use `TEST_REDIS_URL` (default db 15 of the local Redis). When a
service is missing the tests are skipped, except under `CI=true`, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text

import cvo_plugin.models  # noqa: F401  (every table on Base.metadata)
from cvo_plugin import create_app
from cvo_plugin.db import Base, Database
from cvo_plugin.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DATA = Path(__file__).parent / "data"
TOKEN_KEY = Fernet.generate_key().decode()


def service_missing(what: str, why: str) -> None:
    """Skip for a missing service, or fail under CI (where every service must run)."""
    message = f"{what} is not available ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


# --- databases -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, emptied and migrated once per session."""
    from cvo_plugin.config import normalize_database_url

    url = normalize_database_url(PG_URL)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL", f"{type(exc).__name__} on {url.split('@')[-1]}")
    finally:
        engine.dispose()
    upgrade(url)
    return url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    return request.param


@pytest.fixture
def database_url(request: pytest.FixtureRequest, db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test."""
    if db_backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cvo.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    yield url
    _truncate_postgres(url)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """The PostgreSQL test database, emptied: for tests of PostgreSQL's own paths."""
    _truncate_postgres(postgres_url)
    yield postgres_url
    _truncate_postgres(postgres_url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    """A `Database` on the emptied PostgreSQL test database."""
    database = Database(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A `Database` on this test's database."""
    db = Database(database_url)
    yield db
    db.dispose()


def app_overrides(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    """Settings for a test app."""
    values: dict[str, Any] = {
        "CVO_ENV": "testing",
        "DATABASE_URL": database_url,
        "CVO_INSTANCE_DIR": str(instance),
        "SECRET_KEY": "test-secret-key",
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        "REDIS_URL": "",
        "SHOPIFY_API_KEY": "test-api-key",
        "SHOPIFY_API_SECRET": "test-api-secret-0123456789abcdef",
    }
    values.update(extra)
    return values


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on this test's database, jobs in-process."""
    application = create_app(app_overrides(database_url, tmp_path / "instance"))
    yield application
    application.extensions["cvo"]["db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli_runner(app: Flask) -> Any:
    """Invoke `cvo` commands against the test app: `cli_runner(["import-orders", ...])`."""
    from cvo_plugin.cli import cli

    runner = app.test_cli_runner(mix_stderr=False) if _mix_stderr_supported() else app.test_cli_runner()

    def invoke(args: list[str]) -> Any:
        return runner.invoke(cli, args, catch_exceptions=False)

    return invoke


def _mix_stderr_supported() -> bool:
    import inspect as pyinspect

    from click.testing import CliRunner

    return "mix_stderr" in pyinspect.signature(CliRunner.__init__).parameters


# --- redis ---------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A reachable, empty Redis database for this test."""
    from redis import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis", f"{type(exc).__name__} on {REDIS_URL}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


# --- data ----------------------------------------------------------------------------------


def table_snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: to show that something changed nothing."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(table.select()).all()
            snapshot[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return snapshot
