"""The embedded admin in a real browser: signed in with real session tokens, on the demo store.

One server (in a thread) per database backend serves the demo store, made an installed Shopify
shop; Shopify's App Bridge script is stood in for by a few lines whose `shopify.idToken()` returns
a fresh token signed with the app secret, as App Bridge would. Each test opens pages, checks the
numbers shown against the database, clicks, and fails on any console error or request to a host
other than this app (App Bridge's URL aside). Screenshots of each page at 1280 and 375 px wide go
to tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from cvo_plugin import create_app
from cvo_plugin.db import Database
from cvo_plugin.models import (
    AnalyticsSummary,
    CrosssellHide,
    CrosssellPin,
    Customer,
    CustomerScore,
    JobRun,
    MarketingSpend,
    Shop,
)
from cvo_plugin.services.admin.links import create_admin_link
from cvo_plugin.services.insights.read import current_snapshot
from tests.admin_fixtures import SHOPIFY_DOMAIN, AdminShops, demo_shops, session_token
from tests.conftest import _truncate_postgres, app_overrides

pytestmark = pytest.mark.browser

APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
APP_BRIDGE_STANDIN = "window.shopify = { idToken: function () { return window.cvoMintSessionToken(); } };"
WIDTHS = (1280, 375)


@dataclass
class Live:
    url: str
    database: Database
    shops: AdminShops
    backend: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app serving the demo store on this backend, on a free loopback port."""
    directory = tmp_path_factory.mktemp(f"admin-{request.param}")
    if request.param == "sqlite":
        path = directory / "cvo.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate_postgres(url)
    database = Database(url)
    shops = demo_shops(database, directory, customers=400)
    app = create_app(app_overrides(url, directory / "instance"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", database, shops, request.param)
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["cvo"]["db"].dispose()
        database.dispose()
        if request.param == "postgresql":
            _truncate_postgres(url)


class Session:
    """A browser tab in its own context, recording console errors and requests to other hosts."""

    def __init__(self, browser: Any, live: Live, artifacts: Path, embedded: bool = True) -> None:
        self.live = live
        self.artifacts = artifacts
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.app_bridge_loads = 0
        if embedded:
            self.context.expose_function("cvoMintSessionToken", lambda: session_token())
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.live.url):
            route.continue_()
        elif url == APP_BRIDGE:
            self.app_bridge_loads += 1
            route.fulfill(status=200, content_type="application/javascript", body=APP_BRIDGE_STANDIN)
        else:
            self.foreign.append(url)
            route.abort()

    def open(self, path: str, **query: str) -> Any:
        """Load an admin page the way Shopify's admin does: shop, host and a fresh `id_token`."""
        values = {"shop": SHOPIFY_DOMAIN, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtbw", **query}
        values.setdefault("id_token", session_token())
        params = "&".join(f"{k}={v}" for k, v in values.items())
        response = self.page.goto(f"{self.live.url}{path}{'&' if '?' in path else '?'}{params}")
        assert response is not None and response.status == 200, response and response.status
        return response

    def shoot(self, name: str) -> None:
        """Screenshots at 1280 and 375 px; at 375 the page must not scroll sideways."""
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.wait_for_timeout(50)
            overflow = self.page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
            self.page.screenshot(
                path=str(self.artifacts / f"admin-{name}-{self.live.backend}-{width}.png"), full_page=True
            )
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture
def tab(browser: Any, live: Live, artifacts: Path) -> Iterator[Session]:
    session = Session(browser, live, artifacts)
    yield session
    session.close()


def _text(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").split()[0])


def _scores(database: Database, shop_id: int) -> list[CustomerScore]:
    with database.session() as session:
        snapshot = current_snapshot(session, shop_id)
        assert snapshot is not None
        return list(session.scalars(select(CustomerScore).where(CustomerScore.snapshot_id == snapshot.id)))


def test_dashboard_shows_the_databases_numbers(tab: Session, live: Live) -> None:
    response = tab.open("/admin/")
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors https://{SHOPIFY_DOMAIN} https://admin.shopify.com" in csp
    page = tab.page
    scores = _scores(live.database, live.shops.shop_id)
    by_segment: dict[str, list[CustomerScore]] = {}
    for score in scores:
        by_segment.setdefault(score.segment, []).append(score)
    rows = page.locator("[data-testid=segment-row]")
    assert rows.count() >= len(by_segment)
    shown = 0
    for i in range(rows.count()):
        row = rows.nth(i)
        members = by_segment.get(row.get_attribute("data-key") or "", [])
        assert int(_text(row, "[data-field=customers]").replace(",", "")) == len(members)
        revenue = sum((s.monetary for s in members), Decimal("0"))
        assert _money(_text(row, "[data-field=revenue]")) == revenue
        if members:
            orders = sum(s.frequency for s in members)
            assert _money(_text(row, "[data-field=aov]")) == (revenue / orders).quantize(Decimal("0.01"))
            clv = sum((s.historic_clv for s in members), Decimal("0")) / len(members)
            assert abs(_money(_text(row, "[data-field=avg_clv]")) - clv) <= Decimal("0.005")
        shown += len(members)
    assert shown == len(scores)
    # the RFM heat map: customers per (recency, frequency) cell
    cells = page.locator("[data-testid=rfm-cell]")
    counts: dict[tuple[int, int], int] = {}
    for score in scores:
        counts[(score.r, score.f)] = counts.get((score.r, score.f), 0) + 1
    for i in range(cells.count()):
        cell = cells.nth(i)
        key = (int(cell.get_attribute("data-r") or 0), int(cell.get_attribute("data-f") or 0))
        assert int(_text(cell, ".cell-main").replace(",", "")) == counts.get(key, 0)
    with live.database.session() as session:
        snapshot = current_snapshot(session, live.shops.shop_id)
        assert snapshot is not None
        assert _text(page, "[data-testid=as-of]") == snapshot.as_of.isoformat()
    # the charts were drawn by the served Chart.js
    for chart in ("chart-segments", "chart-clv"):
        assert page.evaluate(f"!!window.Chart.getChart(document.getElementById('{chart}'))")
    assert page.locator("[data-testid=channel-row]").count() > 0
    assert tab.app_bridge_loads >= 1
    tab.shoot("dashboard")


def test_segment_page_search_and_export(tab: Session, live: Live) -> None:
    tab.open("/admin/")
    page = tab.page
    page.click("nav.nav >> text=Segments")  # navigation through admin.js, with a fresh token
    page.wait_for_selector("[data-testid=segment-name]")
    key = page.url.split("/admin/segments/")[1].split("?")[0]
    members = [s for s in _scores(live.database, live.shops.shop_id) if s.segment == key]
    assert int(_text(page, "[data-testid=segment-customers]").replace(",", "")) == len(members)
    top = max(members, key=lambda s: (s.historic_clv, s.customer_id))
    first = page.locator("[data-testid=customer-row]").first
    assert _money(_text(first, "[data-field=historic_clv]")) == top.historic_clv
    assert page.locator("[data-testid=weekday-hour] tbody tr").count() == 7
    tab.shoot("segment")
    # search by a customer's e-mail
    with live.database.session() as session:
        email = session.scalars(select(Customer.email).where(Customer.id == top.customer_id)).one()
    assert email
    page.fill("[data-testid=search]", email)
    page.press("[data-testid=search]", "Enter")
    page.wait_for_selector("text=matching")
    assert page.locator("[data-testid=customer-row]").count() == 1
    # the audience export
    with page.expect_download() as download_info:
        page.click("[data-testid=export]")
    download = download_info.value
    text = Path(download.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    with live.database.session() as session:
        emails = set(
            session.scalars(
                select(Customer.email).where(
                    Customer.id.in_([s.customer_id for s in members]),
                    Customer.email.is_not(None),
                    Customer.redacted_at.is_(None),
                )
            )
        )
    assert {r["email"] for r in rows} == emails and len(rows) == len(emails)


def test_crosssells_pin_and_hide(tab: Session, live: Live) -> None:
    tab.open("/admin/crosssells")
    page = tab.page
    # The storefront widget's panel (no widget orders in this shop yet).
    expect(page.locator("[data-testid=widget-performance] [data-testid=lift]")).to_contain_text(
        "Not enough orders"
    )
    page.locator("[data-testid=product-link]").first.click()
    page.wait_for_selector("[data-testid=addons] [data-testid=rec]")
    product = page.url.split("product=")[1].split("&")[0]
    recs = page.locator("[data-testid=addons] [data-testid=rec]")
    assert recs.count() >= 3
    second = recs.nth(1).get_attribute("data-product")
    recs.nth(1).locator("[data-testid=pin]").click()
    page.wait_for_selector("[data-testid=notice]")
    assert _text(page, "[data-testid=notice]") == "Pinned."
    assert (
        page.locator("[data-testid=addons] [data-testid=rec]").first.get_attribute("data-product") == second
    )
    assert page.locator("[data-testid=addons] [data-testid=rec]").first.get_attribute("data-kind") == "pinned"
    with live.database.session() as session:
        pins = session.scalars(select(CrosssellPin).where(CrosssellPin.shop_id == live.shops.shop_id)).all()
        assert [(p.product_platform_id, p.pinned_platform_id, p.position) for p in pins] == [
            (product, second, 1)
        ]
    tab.shoot("crosssells")
    hidden = page.locator("[data-testid=addons] [data-testid=rec]").nth(2).get_attribute("data-product")
    page.locator("[data-testid=addons] [data-testid=rec]").nth(2).locator("[data-testid=hide]").click()
    page.wait_for_selector("[data-testid=notice]")
    assert _text(page, "[data-testid=notice]").startswith("Hidden")
    shown = page.locator("[data-testid=addons] [data-testid=rec]").evaluate_all(
        "rows => rows.map(r => r.dataset.product)"
    )
    assert hidden not in shown
    with live.database.session() as session:
        hides = session.scalars(
            select(CrosssellHide).where(CrosssellHide.shop_id == live.shops.shop_id)
        ).all()
        assert [(h.product_platform_id, h.hidden_platform_id) for h in hides] == [(product, hidden)]
    # undo both, through the page
    page.locator("[data-testid=unpin]").first.click()
    page.wait_for_selector("[data-testid=notice]")
    page.locator("[data-testid=unhide]").first.click()
    page.wait_for_selector("[data-testid=notice]")
    with live.database.session() as session:
        assert session.scalar(select(func.count()).select_from(CrosssellPin)) == 0
        assert session.scalar(select(func.count()).select_from(CrosssellHide)) == 0


def test_channels_spend_upload(tab: Session, live: Live, tmp_path: Path) -> None:
    tab.open("/admin/channels")
    page = tab.page
    summary = _summary(live, "channels")
    rows = page.locator("[data-testid=channel-row]")
    assert rows.count() == len(summary["channels"])
    for i, channel in enumerate(summary["channels"]):
        assert rows.nth(i).get_attribute("data-channel") == channel["name"]
        assert int(_text(rows.nth(i), "[data-field=customers]").replace(",", "")) == channel["customers"]
    before = page.locator("[data-testid=spend-row]").count()  # the demo's own spend
    spend = tmp_path / "spend.csv"
    # months before the demo store opened, so both rows are new
    spend.write_text("channel,month,amount\nGoogle Ads,2021-01,1200.50\nfacebook,2021-01,800\n")
    page.set_input_files("#spend-file", str(spend))
    page.click("[data-testid=spend-form] button")
    page.wait_for_selector("[data-testid=notice]")
    assert page.locator("[data-testid=spend-row]").count() == before + 2
    with live.database.session() as session:
        stored = {
            (s.channel, s.amount)
            for s in session.scalars(
                select(MarketingSpend).where(
                    MarketingSpend.shop_id == live.shops.shop_id, MarketingSpend.month == date(2021, 1, 1)
                )
            )
        }
    assert stored == {("google", Decimal("1200.50")), ("facebook", Decimal("800.00"))}
    tab.shoot("channels")
    # a bad file is refused with its line, and nothing changes
    spend.write_text("channel,month,amount\ngoogle,2026-13,5\n")
    page.set_input_files("#spend-file", str(spend))
    page.click("[data-testid=spend-form] button")
    page.wait_for_selector("[data-testid=error]")
    assert "line 2" in _text(page, "[data-testid=error]")
    tab.errors = [e for e in tab.errors if "400" not in e]  # the refused upload's status, logged by Chromium


def _summary(live: Live, kind: str) -> dict[str, Any]:
    with live.database.session() as session:
        snapshot = current_snapshot(session, live.shops.shop_id)
        assert snapshot is not None
        return session.scalars(
            select(AnalyticsSummary.payload).where(
                AnalyticsSummary.snapshot_id == snapshot.id, AnalyticsSummary.kind == kind
            )
        ).one()


def test_offers_page(tab: Session, live: Live) -> None:
    tab.open("/admin/offers")
    payload = _summary(live, "offers")
    rows = tab.page.locator("[data-testid=first-purchases] [data-testid=offer-row]")
    assert rows.count() == len(payload["first_purchases"])
    for i, offer in enumerate(payload["first_purchases"][:5]):
        assert rows.nth(i).get_attribute("data-product") == offer["platform_id"]
        assert int(_text(rows.nth(i), "[data-field=first_customers]")) == offer["first_customers"]
        assert _money(_text(rows.nth(i), "[data-field=avg_value_after]")) == Decimal(offer["avg_value_after"])
    tab.shoot("offers")


def test_jobs_live_progress_and_recompute(tab: Session, live: Live) -> None:
    run_id = f"sync-{live.shops.shop_id}-browser"
    with live.database.session() as session:
        session.add(
            JobRun(id=run_id, shop_id=live.shops.shop_id, kind="sync", func="jobs.x", queue="sync",
                   status="running", progress=0.25, message="orders: 250 of 1,000", args={},
                   created_at=datetime.now(UTC), started_at=datetime.now(UTC))
        )  # fmt: skip
    tab.open("/admin/jobs")
    page = tab.page
    job = page.locator(f"[data-run='{run_id}']")
    assert job.locator(".job-pct").inner_text() == "25%"
    tab.shoot("jobs")
    with live.database.session() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.progress, run.message = 0.6, "orders: 600 of 1,000"
    expect(job.locator(".job-pct")).to_have_text("60%", timeout=10_000)  # polled, no reload
    assert "600 of 1,000" in job.locator(".job-msg").inner_text()
    with live.database.session() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.status, run.progress, run.finished_at = "finished", 1.0, datetime.now(UTC)
    page.wait_for_selector("[data-testid=no-jobs]", timeout=10_000)  # reloaded when it finished
    with live.database.session() as session:
        before = session.scalar(select(func.count()).select_from(JobRun).where(JobRun.status == "finished"))
    page.click("[data-testid=recompute]")
    page.wait_for_selector("[data-testid=notice]")
    assert page.url.split("?")[0].endswith("/admin/jobs")
    with live.database.session() as session:
        after = session.scalar(select(func.count()).select_from(JobRun).where(JobRun.status == "finished"))
    assert after == (before or 0) + 2  # segments and cross-sells ran (in-process without Redis)
    assert page.locator("[data-testid=recent-job][data-status=finished]").count() >= 3


def test_settings_are_saved(tab: Session, live: Live) -> None:
    tab.open("/admin/settings")
    page = tab.page
    tab.shoot("settings")
    page.fill("[data-testid=holdout]", "0.2")
    page.click("[data-testid=widget-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notice]")
    page.fill("#cs-min_confidence", "0.05")
    page.click("[data-testid=crosssell-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notice]")
    page.fill("input[name=name_champions]", "Heroes")
    page.click("[data-testid=analytics-form] button[type=submit]")
    page.wait_for_selector("[data-testid=notice]")
    with live.database.session() as session:
        shop = session.get(Shop, live.shops.shop_id)
        assert shop is not None
        assert shop.settings["widget"]["holdout_share"] == 0.2
        assert shop.settings["crosssell"]["min_confidence"] == 0.05
        assert shop.settings["analytics"]["segment_names"] == {"champions": "Heroes"}
    page.fill("[data-testid=holdout]", "0.9")
    page.click("[data-testid=widget-form] button[type=submit]")
    page.wait_for_selector("[data-testid=error]")
    tab.errors = [e for e in tab.errors if "400" not in e]
    with live.database.session() as session:
        shop = session.get(Shop, live.shops.shop_id)
        assert shop is not None and shop.settings["widget"]["holdout_share"] == 0.2
        shop.settings = {
            k: v for k, v in shop.settings.items() if k not in ("widget", "crosssell", "analytics")
        }


def test_a_load_without_a_token_gets_one_from_app_bridge(tab: Session, live: Live) -> None:
    page = tab.page
    page.goto(f"{live.url}/admin/?shop={SHOPIFY_DOMAIN}&host=abc")
    page.wait_for_selector("[data-testid=segments]")
    assert "id_token=" in page.url and tab.app_bridge_loads == 2


def test_a_sign_in_link_opens_the_admin_without_app_bridge(browser: Any, live: Live, artifacts: Path) -> None:
    with live.database.session() as session:
        shop = session.get(Shop, live.shops.other_id)
        assert shop is not None
        token = create_admin_link(session, shop)
    tab = Session(browser, live, artifacts, embedded=False)
    try:
        page = tab.page
        page.goto(f"{live.url}/admin/signin?token={token}")
        page.click("[data-testid=signin]")
        page.wait_for_selector("[data-testid=segments]")
        assert _text(page, "[data-testid=shop-name]") == "Other Shop"
        page.click("nav.nav >> text=Sync & jobs")
        page.wait_for_selector("[data-testid=recent-jobs]")
        page.click("[data-testid=recompute]")  # a cookie form: the CSRF token goes with it
        page.wait_for_selector("[data-testid=notice]")
        assert tab.app_bridge_loads == 0
        tab.shoot("cookie-dashboard")
    finally:
        tab.close()
