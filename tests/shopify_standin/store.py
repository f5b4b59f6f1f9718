"""The stand-in's shop: generated customers, products and orders as plain Python data.

Everything the stand-in serves (GraphQL nodes, bulk JSONL, REST webhook payloads) is rendered
from these dicts, and tests compare the app's database with them. Times are whole seconds in
UTC, money is `Decimal`. Changes (`update_order`, `refund`, ...) move the store's own clock,
which stays a little in the past so that a sync that starts "now" sees every change.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
FIRST_NAMES = [
    "Ava",
    "Noah",
    "Zoë",
    "Liam",
    "Mia",
    "Ólafur",
    "Sofia",
    "Kenji",
    "Amara",
    "Luca",
    "Chloé",
    "Ian",
]
LAST_NAMES = [
    "Smith",
    "O'Brien",
    "García",
    "Nguyen",
    "Müller",
    "Kowalski",
    "Okafor",
    "Rossi",
    "Dubois",
    "Lee",
]
PLACES = [
    ("US", "Texas", "Austin"),
    ("US", "New York", "Brooklyn"),
    ("CA", "Ontario", "Toronto"),
    ("GB", "England", "London"),
    ("DE", "Berlin", "Berlin"),
    ("FR", "Île-de-France", "Paris"),
    ("AU", "Victoria", "Melbourne"),
]
TYPES = ["Coffee", "Tea", "Mugs", "Grinders", "Filters", "Gift cards"]
VENDORS = ["Roastery North", "Leaf & Co", "Kiln Works"]
SOURCES = ["web", "web", "web", "pos", "shopify_draft_order", "1354745"]
CAMPAIGNS = [
    ("google", "cpc", "brand"),
    ("facebook", "paid_social", "spring_sale"),
    ("newsletter", "email", "weekly"),
    ("instagram", "social", "reels"),
]
REFERRERS = ["https://www.google.com/", "https://l.facebook.com/", "https://news.example.org/post", None]


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class Store:
    """One shop's data and the changes tests make to it."""

    def __init__(self, domain: str = "cvo-standin.myshopify.com", currency: str = "USD") -> None:
        self.domain = domain
        self.shop = {
            "id": 74_120_000,
            "name": "CVO Stand-in Roasters",
            "domain": domain,
            "currency": currency,
            "timezone": "America/Chicago",
        }
        self.customers: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.deleted_products: set[int] = set()
        self._ids = 1_000_000
        self.clock = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
        self._next_name = 1001

    # --- ids and time -----------------------------------------------------------------------

    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    def tick(self) -> datetime:
        """The time of the next change: a second after the previous one, and no earlier than two
        minutes ago (within the overlap an incremental sync re-reads for search-index lag)."""
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
        self.clock = max(self.clock + timedelta(seconds=1), recent)
        return self.clock

    # --- generation -------------------------------------------------------------------------

    @classmethod
    def generate(
        cls, orders: int, customers: int | None = None, products: int | None = None, seed: int = 7
    ) -> Store:
        """A store with `orders` orders over two years (customers and products scale with it)."""
        store = cls()
        rng = random.Random(seed)
        customers = customers if customers is not None else max(orders // 4, 5)
        products = products if products is not None else max(min(orders // 20, 400), 5)
        start = store.clock - timedelta(days=730)
        span = int((store.clock - timedelta(days=1) - start).total_seconds())
        for i in range(products):
            store._generate_product(rng, start, many_variants=(i == 0))
        for _ in range(customers):
            store._generate_customer(rng, start)
        # Customers without an e-mail or address never order here: the write path fills a
        # customer's empty contact fields from its orders, which the store would not show.
        customer_ids = store.buyers()
        catalogue = [(p, v) for p in store.products.values() for v in p["variants"]]
        times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(orders))
        for created in times:
            customer = (
                None if rng.random() < 0.1 else customer_ids[int(rng.paretovariate(1.2)) % len(customer_ids)]
            )
            store._generate_order(rng, created, customer, catalogue)
        return store

    def _generate_product(self, rng: random.Random, start: datetime, many_variants: bool) -> None:
        pid = self.new_id()
        created = start + timedelta(days=rng.randrange(30))
        kind = rng.choice(TYPES)
        title = f"{kind} {rng.choice(['Classic', 'Reserve', 'Daily', 'Étoile'])} {pid % 1000}"
        count = 24 if many_variants else rng.choice([1, 1, 2, 3])
        base = money(rng.uniform(4, 80))
        variants = []
        for n in range(count):
            tracked = rng.random() < 0.8
            variants.append(
                {
                    "id": self.new_id(),
                    "title": "Default Title" if count == 1 else f"Size {n + 1}",
                    "sku": f"SKU-{pid}-{n}" if rng.random() < 0.95 else None,
                    "price": base + n,
                    "compare_at_price": money(base * Decimal("1.2")) if rng.random() < 0.3 else None,
                    "cost": money(base * Decimal("0.45")) if rng.random() < 0.7 else None,
                    "inventory_quantity": rng.randrange(-2, 60),
                    "inventory_management": "shopify" if tracked else None,
                    "inventory_policy": "continue" if rng.random() < 0.1 else "deny",
                    "updated_at": created,
                }
            )
        self.products[pid] = {
            "id": pid,
            "title": title,
            "handle": title.lower().replace(" ", "-").replace("é", "e"),
            "product_type": kind,
            "vendor": rng.choice(VENDORS),
            "status": rng.choice(["active"] * 8 + ["draft", "archived"]),
            "published_at": created if rng.random() < 0.9 else None,
            "tags": sorted(rng.sample(["new", "organic", "bestseller", "limited"], rng.randrange(3))),
            "image_url": f"https://cdn.shopify.com/s/files/1/{pid}.jpg" if rng.random() < 0.9 else None,
            "created_at": created,
            "updated_at": created,
            "variants": variants,
        }

    def _generate_customer(self, rng: random.Random, start: datetime) -> None:
        cid = self.new_id()
        created = start + timedelta(days=rng.randrange(700))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        has_email = rng.random() < 0.95
        place = rng.choice(PLACES) if rng.random() < 0.9 else None
        self.customers[cid] = {
            "id": cid,
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{cid}@example.com" if has_email else None,
            "phone": f"+1555{cid % 10_000_000:07d}" if rng.random() < 0.4 else None,
            "accepts_marketing": (rng.random() < 0.5) if has_email else None,
            "tags": sorted(rng.sample(["vip", "wholesale", "newsletter"], rng.randrange(2))),
            "address": {"country_code": place[0], "province": place[1], "city": place[2]} if place else None,
            "created_at": created,
            "updated_at": created,
        }

    def _generate_order(
        self,
        rng: random.Random,
        created: datetime,
        customer_id: int | None,
        catalogue: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> dict[str, Any]:
        oid = self.new_id()
        lines = []
        size = 12 if rng.random() < 0.01 else rng.choice([1, 1, 1, 2, 2, 3, 4])
        for _ in range(size):
            product, variant = catalogue[int(rng.paretovariate(1.1)) % len(catalogue)]
            quantity = rng.choice([1, 1, 1, 2, 3])
            lines.append(
                {
                    "id": self.new_id(),
                    "product_id": product["id"],
                    "variant_id": variant["id"],
                    "title": product["title"],
                    "sku": variant["sku"],
                    "vendor": product["vendor"],
                    "quantity": quantity,
                    "price": variant["price"],
                    "total_discount": money(variant["price"] * quantity * Decimal("0.1"))
                    if rng.random() < 0.2
                    else Decimal("0.00"),
                }
            )
        if rng.random() < 0.03:  # a custom item with no product behind it
            lines.append(
                {
                    "id": self.new_id(),
                    "product_id": None,
                    "variant_id": None,
                    "title": "Gift wrapping",
                    "sku": None,
                    "vendor": None,
                    "quantity": 1,
                    "price": money(5),
                    "total_discount": Decimal("0.00"),
                }
            )
        customer = self.customers.get(customer_id) if customer_id else None
        place = rng.choice(PLACES)
        address = {"country_code": place[0], "province": place[1], "city": place[2]}
        campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.4 else None
        landing = "/products/x" + (
            f"?utm_source={campaign[0]}&utm_medium={campaign[1]}&utm_campaign={campaign[2]}"
            if campaign
            else ""
        )
        subtotal = sum((line["price"] * line["quantity"] for line in lines), Decimal(0))
        line_discounts = sum((line["total_discount"] for line in lines), Decimal(0))
        order_discount = money(subtotal * Decimal("0.05")) if rng.random() < 0.1 else Decimal("0.00")
        shipping = money(rng.choice([0, 4.99, 9.99]))
        tax = money((subtotal - line_discounts - order_discount) * Decimal("0.08"))
        notes = []
        if rng.random() < 0.05:
            notes = [("utm_source", "tiktok"), ("utm_medium", "video"), ("gift_note", "Happy birthday!")]
        order = {
            "id": oid,
            "name": f"#{self._next_name}",
            "email": customer["email"] if customer else f"guest.{oid}@example.net",
            "customer_id": customer_id,
            "created_at": created,
            "processed_at": created,
            "updated_at": created,
            "cancelled_at": None,
            "financial_status": "paid",
            "currency": self.shop["currency"],
            "source_name": rng.choice(SOURCES),
            "discount_codes": ["WELCOME5"] if order_discount else [],
            "note_attributes": notes,
            "total_discounts": line_discounts + order_discount,
            "total_shipping": shipping,
            "total_tax": tax,
            "total_price": subtotal - line_discounts - order_discount + shipping + tax,
            "shipping_address": address if rng.random() < 0.85 else None,
            "billing_address": address,
            "landing_site": landing if rng.random() < 0.7 else None,
            "referring_site": rng.choice(REFERRERS),
            "line_items": lines,
            "refunds": [],
        }
        self._next_name += 1
        self.orders[oid] = order
        if rng.random() < 0.03:
            order["cancelled_at"] = created + timedelta(hours=2)
            order["financial_status"] = "voided"
            order["updated_at"] = order["cancelled_at"]
        elif rng.random() < 0.05:
            line = rng.choice(lines)
            when = created + timedelta(hours=1)
            order["refunds"].append(
                {"id": self.new_id(), "created_at": when, "lines": [(line["id"], line["quantity"])]}
            )
            order["financial_status"] = "partially_refunded" if len(lines) > 1 else "refunded"
            order["updated_at"] = when
        return order

    # --- changes (each returns the changed object) ------------------------------------------

    def create_order(self, customer_id: int | None = None, seed: int = 99) -> dict[str, Any]:
        """A new order now (for `orders/create`)."""
        rng = random.Random(seed)
        catalogue = [(p, v) for p in self.products.values() for v in p["variants"]]
        now = self.tick()
        order = self._generate_order(rng, now, customer_id, catalogue)
        order.update(cancelled_at=None, financial_status="paid", refunds=[], updated_at=now)
        return order

    def update_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Change an order's fields (for `orders/updated`)."""
        order = self.orders[order_id]
        order.update(changes)
        order["updated_at"] = self.tick()
        return order

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        """Cancel an order (for `orders/cancelled`)."""
        now = self.tick()
        return self.update_order(order_id, cancelled_at=now, financial_status="voided")

    def refund(self, order_id: int, line_id: int, quantity: int) -> dict[str, Any]:
        """Refund units of a line (for `refunds/create`); returns the refund."""
        order = self.orders[order_id]
        refund = {
            "id": self.new_id(),
            "created_at": self.clock + timedelta(seconds=1),
            "lines": [(line_id, quantity)],
        }
        order["refunds"].append(refund)
        left = sum(current_quantity(order, line) for line in order["line_items"])
        self.update_order(order_id, financial_status="refunded" if left == 0 else "partially_refunded")
        return refund

    def update_product(self, product_id: int, **changes: Any) -> dict[str, Any]:
        """Change a product's fields (for `products/update`)."""
        product = self.products[product_id]
        product.update(changes)
        now = self.tick()
        product["updated_at"] = now
        for variant in product["variants"]:
            variant["updated_at"] = now
        return product

    def delete_product(self, product_id: int) -> dict[str, Any]:
        """Delete a product (for `products/delete`)."""
        self.deleted_products.add(product_id)
        return self.products.pop(product_id)

    def update_customer(self, customer_id: int, **changes: Any) -> dict[str, Any]:
        """Change a customer's fields (for `customers/update`)."""
        customer = self.customers[customer_id]
        customer.update(changes)
        customer["updated_at"] = self.tick()
        return customer

    # --- reading ----------------------------------------------------------------------------

    def buyers(self) -> list[int]:
        """Customers with an e-mail and an address (those who place orders)."""
        return [c["id"] for c in self.customers.values() if c["email"] and c["address"]]

    def orders_by_update(self) -> Iterator[dict[str, Any]]:
        return iter(sorted(self.orders.values(), key=lambda o: (o["updated_at"], o["id"])))


def refunded_quantity(order: dict[str, Any], line: dict[str, Any]) -> int:
    """Units of a line refunded so far."""
    return sum(q for refund in order["refunds"] for line_id, q in refund["lines"] if line_id == line["id"])


def current_quantity(order: dict[str, Any], line: dict[str, Any]) -> int:
    """Units of a line still on the order."""
    return line["quantity"] - refunded_quantity(order, line)


def variant_available(variant: dict[str, Any]) -> bool:
    """Shopify's `availableForSale` as the stand-in models it."""
    return (
        variant["inventory_management"] is None
        or variant["inventory_policy"] == "continue"
        or variant["inventory_quantity"] > 0
    )
