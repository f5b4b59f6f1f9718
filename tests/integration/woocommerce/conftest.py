"""Fixtures of the WooCommerce tests: certificates, a stand-in store, and the app served over
HTTP on loopback (so that the stand-in can deliver webhooks to it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from cvo_plugin import create_app
from cvo_plugin.config import Settings
from cvo_plugin.db import Database
from cvo_plugin.services.woocommerce_connect import ConnectResult, connect_woocommerce
from cvo_plugin.tasks import TaskQueue
from tests.conftest import app_overrides
from tests.woocommerce_standin import (
    ApiKey,
    CertificateFiles,
    StandIn,
    Store,
    generate_store,
    make_certificates,
)
from tests.woocommerce_standin.compare import State, expected_state, stored_state


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    """A test CA and a certificate for 127.0.0.1, shared by every stand-in."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def store() -> Store:
    """A small generated store (every status, refunds, coupons, guests, variations)."""
    return generate_store(orders=60, products=12, seed=11)


@pytest.fixture
def woo(store: Store, certs: CertificateFiles) -> Iterator[StandIn]:
    """The stand-in serving `store` over HTTPS."""
    with StandIn(store, certs) as standin:
        yield standin


@pytest.fixture
def key(woo: StandIn) -> ApiKey:
    """A Read/Write key of an administrator."""
    return woo.add_key()


@dataclass
class Live:
    """The app, served on loopback, with what tests need from it."""

    app: Flask
    url: str
    database: Database
    settings: Settings

    def connect(self, woo: StandIn, key: ApiKey, **kwargs: Any) -> ConnectResult:
        return connect_woocommerce(
            self.database,
            self.settings,
            woo.url,
            key.key,
            key.secret,
            queue=TaskQueue(self.settings, self.database),
            **kwargs,
        )

    def state(self, shop_id: int) -> State:
        return stored_state(self.database, shop_id)

    def sync(self, shop_id: int, full: bool = False) -> Any:
        from cvo_plugin.tasks import enqueue_sync

        return enqueue_sync(TaskQueue(self.settings, self.database), shop_id, "woocommerce", full=full)


@pytest.fixture
def live(database_url: str, tmp_path: Path, certs: CertificateFiles) -> Iterator[Live]:
    """The app on this test's database at a real loopback address (jobs in-process)."""
    holder: dict[str, Flask] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    overrides = app_overrides(
        database_url, tmp_path / "instance", APP_URL=url, WOOCOMMERCE_CA_BUNDLE=str(certs.ca_bundle)
    )
    app = create_app(overrides)
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-app", daemon=True)
    thread.start()
    try:
        yield Live(app, url, app.extensions["cvo"]["db"], app.extensions["cvo"]["settings"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        app.extensions["cvo"]["db"].dispose()


def assert_identical(woo: StandIn, live: Live, shop_id: int) -> None:
    """The app's rows for the shop equal what the stand-in's store says they should be."""
    differences = expected_state(woo.store, woo.url).differences(live.state(shop_id))
    assert not differences, "\n".join(differences)
