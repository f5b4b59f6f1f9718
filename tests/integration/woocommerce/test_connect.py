"""Connecting a store: real key checks with clear messages, encrypted secrets, webhooks, backfill."""

from __future__ import annotations

from sqlalchemy import select

from cvo_plugin.crypto import TokenBox
from cvo_plugin.models import JobRun, Shop, SyncState
from cvo_plugin.services.woocommerce_webhooks import TOPICS
from tests.integration.woocommerce.conftest import Live, assert_identical
from tests.woocommerce_standin import ApiKey, StandIn


def test_connect_registers_webhooks_and_backfills_the_store(woo: StandIn, key: ApiKey, live: Live) -> None:
    result = live.connect(woo, key)
    assert result.created and result.sync_error is None
    assert result.sync is not None and result.sync.status == "finished"

    # Six webhooks, each pointing at this shop's address, signed with the shop's secret; each
    # was pinged on creation and the ping was answered 200.
    with live.database.session() as session:
        shop = session.get(Shop, result.shop_id)
        assert shop is not None
        assert (shop.platform, shop.domain, shop.currency) == ("woocommerce", woo.url.split("//")[1], "EUR")
        box = TokenBox(live.settings.token_encryption_key)
        assert box.decrypt(shop.api_secret_enc) == key.secret
        assert box.decrypt(shop.access_token_enc) == key.key
        assert key.secret.encode() not in bytes(shop.api_secret_enc or b"")
        secret = box.decrypt(shop.webhook_secret_enc)
        url = f"{live.url}/woocommerce/webhooks/{shop.public_key}"
    hooks = list(woo.store.webhooks.values())
    assert sorted(h["topic"] for h in hooks) == sorted(TOPICS)
    assert {h["delivery_url"] for h in hooks} == {url}
    assert {h["secret"] for h in hooks} == {secret}
    assert sorted(status for _, _, status in woo.pings) == [200] * 6
    assert result.webhooks == {h["topic"]: h["id"] for h in hooks}

    # The backfill read every page with the package's Basic auth and stored the whole store.
    pages = [r for r in woo.calls("orders") if r.route == "orders" and "page" in r.params]
    assert [r.params["page"] for r in pages] == ["1", "2"]
    assert all(r.params["per_page"] == "100" and r.auth == "basic" for r in pages)
    assert all(r.params["orderby"] == "id" and "modified_after" not in r.params for r in pages)
    assert_identical(woo, live, result.shop_id)
    with live.database.session() as session:
        states = {s.resource: s for s in session.scalars(select(SyncState))}
        assert {r: s.status for r, s in states.items()} == dict.fromkeys(
            ("products", "customers", "orders"), "ok"
        )
        assert states["orders"].records_synced == len(woo.store.orders)
        run = session.scalars(select(JobRun).where(JobRun.kind == "sync")).one()
        assert (run.status, run.progress) == ("finished", 1.0)
