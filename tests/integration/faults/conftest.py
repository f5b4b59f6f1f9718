"""Fixtures of the fault tests: PostgreSQL only (workers in other processes share one database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cvo_plugin.db import Database
from tests.conftest import _truncate_postgres


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The PostgreSQL test database, emptied."""
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    yield url
    _truncate_postgres(url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
