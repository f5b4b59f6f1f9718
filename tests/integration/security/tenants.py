"""Two tenants of every kind for the security tests: shop A (the target) and shop B (the other shop).

Shop A holds personal data with recognisable markers; a request made with B's (or forged,
expired, missing) credentials must never reach it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cvo_plugin.crypto import TokenBox
from cvo_plugin.db import Database
from cvo_plugin.models import Customer, Order, OrderLine, Product, Shop
from tests.conftest import TOKEN_KEY

MARKER = "tenant-a-marker"


@dataclass
class Tenant:
    """One shop and the secrets that belong to it (clear text, for signing test requests)."""

    id: int
    platform: str
    domain: str
    public_key: str
    access_token: str = ""
    webhook_secret: str = ""
    api_secret: str = ""
    customer_email: str = ""
    private_name: str = ""
    customer_id: int = 0
    order_id: int = 0


@dataclass
class Tenants:
    """Shopify shops A and B, WooCommerce shops A and B, and an uninstalled WooCommerce shop."""

    shopify_a: Tenant
    shopify_b: Tenant
    woo_a: Tenant
    woo_b: Tenant
    woo_gone: Tenant
    secrets: list[str] = field(default_factory=list)


def _add_shop(database: Database, platform: str, domain: str, active: bool = True) -> Tenant:
    box = TokenBox(TOKEN_KEY)
    token = f"shpat_{secrets.token_hex(16)}" if platform == "shopify" else f"ck_{secrets.token_hex(20)}"
    webhook_secret = secrets.token_urlsafe(24)
    api_secret = f"cs_{secrets.token_hex(20)}"
    email = f"{MARKER}-{secrets.token_hex(3)}@example.com"
    private_name = f"Private name {secrets.token_hex(4)} of {domain}"
    now = datetime.now(UTC)
    with database.session() as session:
        shop = Shop(
            platform=platform,
            domain=domain,
            name=private_name,
            settings={"woocommerce": {"url": f"https://{domain}"}} if platform == "woocommerce" else {},
            is_active=active,
            access_token_enc=box.encrypt(token),
            webhook_secret_enc=box.encrypt(webhook_secret) if platform == "woocommerce" else None,
            api_secret_enc=box.encrypt(api_secret) if platform == "woocommerce" else None,
            scopes="read_orders,read_all_orders,read_customers,write_customers,read_products",
            installed_at=now,
        )
        session.add(shop)
        session.flush()
        session.add(Product(shop_id=shop.id, platform_id="p1", title="Mug", status="active", published=True))
        customer = Customer(
            shop_id=shop.id, platform_id="c1", email=email, first_name=MARKER, last_name="Doe", city="Lyon"
        )
        session.add(customer)
        session.flush()
        order = Order(
            shop_id=shop.id,
            platform_id="o1",
            name="#1001",
            customer_id=customer.id,
            email=email,
            created_at=now - timedelta(days=3),
            currency="EUR",
            gross=Decimal("20.00"),
            net_revenue=Decimal("20.00"),
            total=Decimal("20.00"),
            city="Lyon",
            line_count=1,
        )
        session.add(order)
        session.flush()
        session.add(
            OrderLine(
                shop_id=shop.id,
                order_id=order.id,
                platform_id="l1",
                title="Mug",
                quantity=1,
                unit_price=Decimal("20.00"),
            )
        )
        return Tenant(
            shop.id,
            platform,
            domain,
            shop.public_key,
            access_token=token,
            webhook_secret=webhook_secret,
            api_secret=api_secret,
            customer_email=email,
            private_name=private_name,
            customer_id=customer.id,
            order_id=order.id,
        )


def make_tenants(database: Database) -> Tenants:
    """Create the five shops."""
    tenants = Tenants(
        shopify_a=_add_shop(database, "shopify", "tenant-a.myshopify.com"),
        shopify_b=_add_shop(database, "shopify", "tenant-b.myshopify.com"),
        woo_a=_add_shop(database, "woocommerce", "a.shop.example"),
        woo_b=_add_shop(database, "woocommerce", "b.shop.example"),
        woo_gone=_add_shop(database, "woocommerce", "gone.shop.example", active=False),
    )
    for tenant in (tenants.shopify_a, tenants.shopify_b, tenants.woo_a, tenants.woo_b, tenants.woo_gone):
        tenants.secrets += [tenant.access_token, tenant.webhook_secret, tenant.api_secret]
    return tenants
