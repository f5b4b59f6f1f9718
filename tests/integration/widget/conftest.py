"""Fixtures of the widget tests: a shop with computed cross-sells, the app on a real HTTP server,
and headless Chromium (Playwright)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import Shop
from cvo_plugin.services.demo import DEMO_SHOP
from cvo_plugin.services.widget_settings import update_widget_settings
from tests.conftest import IN_CI, app_overrides
from tests.crosssell_shop import build_shop, compute

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(widget_app: Flask) -> Iterator[LiveServer]:
    """The app on a real HTTP server on loopback (threaded, like a small production server)."""
    server = make_server("127.0.0.1", 0, widget_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", widget_app)
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium through Playwright (skipped without it, failed under CI=true)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover
        if IN_CI:
            pytest.fail(f"playwright is not installed ({exc}); CI=true requires it", pytrace=False)
        pytest.skip("playwright is not installed")
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        if IN_CI:
            pytest.fail("Chromium is not installed (apt-get install -y chromium); CI=true requires it")
        pytest.skip("Chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context and page; page errors are collected in `page.errors`."""
    context = chromium.new_context()
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    yield page
    context.close()
