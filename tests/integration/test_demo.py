"""`cvo demo`: builds the demo store through the import path and serves the app."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from cvo_plugin.db import Database
from cvo_plugin.models import Customer, ImportRun, MarketingSpend, Order, OrderLine, Product, Shop
from cvo_plugin.services.demo import DEMO_SHOP, build_demo_store


def test_demo_store_has_a_realistic_shape(database: Database, tmp_path: Path) -> None:
    store = build_demo_store(database, tmp_path / "demo", customers=400, seed=3)
    with database.session() as session:
        shop = session.scalars(select(Shop)).one()
        assert (shop.domain, shop.platform, shop.currency) == (DEMO_SHOP, "demo", "USD")
        assert session.scalar(select(func.count()).select_from(Customer)) == 400
        orders = session.scalar(select(func.count()).select_from(Order))
        assert orders == store.orders.counts.orders and orders > 400
        repeaters = session.execute(
            select(func.count()).select_from(
                select(Order.customer_id).group_by(Order.customer_id).having(func.count() > 1).subquery()
            )
        ).scalar()
        assert repeaters is not None and 0.15 < repeaters / 400 < 0.8  # repeat and one-off buyers
        assert store.orders.counts.returns > 0 and store.orders.counts.cancelled > 0
        types = session.scalars(select(Product.product_type).distinct()).all()
        assert len(types) >= 6
        sources = session.scalars(select(Order.source_name).distinct()).all()
        assert len(sources) >= 5
        # Marketing spend on the paid channels, month by month, so LTV:CAC has figures.
        spend = session.execute(
            select(MarketingSpend.channel, func.count(), func.sum(MarketingSpend.amount)).group_by(
                MarketingSpend.channel
            )
        ).all()
        assert {row[0] for row in spend} == {"google", "facebook", "instagram", "email"}
        assert all(months >= 12 and total > 0 for _channel, months, total in spend)
        first = session.scalars(select(Order.created_at).order_by(Order.created_at)).first()
        last = session.scalars(select(Order.created_at).order_by(Order.created_at.desc())).first()
        assert first is not None and last is not None and (last - first).days > 600
        # Lines point at catalogue products (the products file was imported first).
        unlinked = session.scalar(
            select(func.count()).select_from(OrderLine).where(OrderLine.product_id.is_(None))
        )
        assert unlinked == 0
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cvo_demo_serves_the_app(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CVO_ENV")}
    env["CVO_INSTANCE_DIR"] = str(tmp_path / "instance")
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-c", "from cvo_plugin.cli import main; main()", "demo", "--port", str(port),
         "--customers", "120"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 90
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.5)
        assert b'"database":"ok"' in body, "the demo did not serve /healthz"
        assert process.stdout is not None
        for line in process.stdout:  # everything up to "serving on" is printed by now
            printed.append(line)
            if line.startswith("serving on"):
                break
        links = [line.split()[1] for line in printed if line.startswith("admin:")]
        assert links and links[0].startswith(f"http://127.0.0.1:{port}/admin/signin?token=")
        with urllib.request.urlopen(links[0], timeout=5) as response:
            assert b"Sign in to Demo Coffee Co." in response.read()
        # The demo storefront: its bestsellers link to product pages that load the real widget.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/store/", timeout=10) as response:
            index = response.read().decode()
        product = index.split('href="/demo/store/products/', 1)[1].split('"', 1)[0]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/demo/store/products/{product}", timeout=10
        ) as page:
            html = page.read().decode()
        assert 'data-cvo-placement="product"' in html and "/widget/v1/widget.js" in html
        key = html.split('data-cvo-shop="', 1)[1].split('"', 1)[0]
        url = f"http://127.0.0.1:{port}/widget/v1/recommendations?shop={key}&product_id={product}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert json.loads(answer.read())["items"], "the demo product has no recommendations"
    finally:
        process.terminate()
        output = "".join(printed) + process.communicate(timeout=20)[0]
    assert f"serving on http://127.0.0.1:{port}" in output and "/demo/store/" in output
    assert "orders.csv:" in output and DEMO_SHOP in output
