"""Fixtures of the admin tests: the demo store as an installed Shopify shop, and another shop."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvo_plugin.db import Database
from tests.admin_fixtures import AdminShops, demo_shops


@pytest.fixture
def shops(database: Database, tmp_path: Path) -> AdminShops:
    """The computed demo store (Shopify) and a second computed Shopify shop."""
    return demo_shops(database, tmp_path, customers=200)
