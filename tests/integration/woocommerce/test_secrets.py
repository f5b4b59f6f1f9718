"""A store connected, synced and receiving webhooks with every log record captured at DEBUG: its
API keys, its webhook secret and the Fernet key are never logged nor stored in clear."""

from __future__ import annotations

import json
import logging

import pytest

from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import Shop
from tests.integration.security.scan import find_in_database, leaks
from tests.integration.woocommerce.conftest import Live
from tests.woocommerce_standin import ApiKey, StandIn


def test_keys_and_webhook_secret_never_logged_nor_stored_in_clear(
    woo: StandIn, key: ApiKey, live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = live.connect(woo, key)  # key check, webhooks, backfill
    live.sync(result.shop_id, full=True)
    with live.database.sessionmaker() as session:
        shop = session.get(Shop, result.shop_id)
        assert shop is not None
        box = TokenBox(live.settings.token_encryption_key)
        webhook_secret = box.decrypt(shop.webhook_secret_enc)
        assert (
            box.decrypt(shop.access_token_enc) == key.key and box.decrypt(shop.api_secret_enc) == key.secret
        )
    order_id = sorted(woo.store.orders)[0]
    deliveries = woo.update_order(order_id, status="completed")  # signed, sent to the app over HTTP
    assert [json.loads(d.response)["status"] for d in deliveries] == ["applied"]
    secrets = [key.key, key.secret, webhook_secret or "", live.settings.token_encryption_key]
    assert len(caplog.records) > 5
    assert not leaks(caplog.text, secrets), "a secret was logged"
    assert not find_in_database(live.database, secrets), "a secret is stored in clear"
