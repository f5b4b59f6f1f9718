"""Fixtures of the widget tests: a shop with computed cross-sells and an app on its database
(the browser tests in tests/browser/test_widget.py use them too)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.services.demo import DEMO_SHOP
from cvo_plugin.services.widget_settings import update_widget_settings
from tests.conftest import app_overrides
from tests.crosssell_shop import build_shop, compute


@dataclass(frozen=True)
class WidgetShop:
    id: int
    key: str
    domain: str


def shop_with_crosssells(database: Database, domain: str = DEMO_SHOP, holdout: float = 0.0) -> WidgetShop:
    """The cross-sell test shop (tests/crosssell_shop.py), computed, with its holdout share set."""
    shop_id = build_shop(database, domain)
    compute(database, shop_id)
    with database.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        update_widget_settings(session, shop, {"holdout_share": holdout})
        return WidgetShop(shop.id, shop.public_key, shop.domain)


def set_widget(database: Database, shop_id: int, **values: Any) -> None:
    with database.session() as session:
        shop = session.scalars(select(Shop).where(Shop.id == shop_id)).one()
        update_widget_settings(session, shop, values)


@pytest.fixture
def widget_shop(database: Database) -> WidgetShop:
    return shop_with_crosssells(database)


@pytest.fixture
def widget_app(database_url: str, tmp_path: Path, widget_shop: WidgetShop) -> Iterator[Flask]:
    app = create_app(app_overrides(database_url, tmp_path / "instance"))
    yield app
    app.extensions["cvo"]["db"].dispose()
