"""The stand-in's store: plain Python data (so tests can compare the app's database with it),
rendered as WooCommerce REST API v3 JSON.

Shapes follow the REST API docs (`woocommerce-rest-api-docs`, wp-api-v3) and PLATFORMS.md 9-10:
ids are WordPress post ids shared by orders, products and variations; money is a string with
two decimals (a line item's `price` is a number); every date comes twice, in the site's time
zone and as `_gmt`; refunds in an order are `{id, reason, total}` with a negative total.
"""

from __future__ import annotations

import random
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
SITE_OFFSET = timezone(timedelta(hours=2))  # the site's time zone (the non-GMT dates)
BASE = "https://store.invalid"  # replaced by the server's address when rendering links


def now_utc() -> datetime:
    """Now, to the second (WordPress stores seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _dates(name: str, value: datetime | None) -> dict[str, str | None]:
    if value is None:
        return {name: None, f"{name}_gmt": None}
    return {
        name: value.astimezone(SITE_OFFSET).replace(tzinfo=None).isoformat(),
        f"{name}_gmt": value.astimezone(UTC).replace(tzinfo=None).isoformat(),
    }


def _address(person: dict[str, Any], with_contact: bool) -> dict[str, str]:
    address = {
        "first_name": person.get("first_name", ""),
        "last_name": person.get("last_name", ""),
        "company": "",
        "address_1": person.get("address_1", ""),
        "address_2": "",
        "city": person.get("city", ""),
        "state": person.get("state", ""),
        "postcode": person.get("postcode", ""),
        "country": person.get("country", ""),
    }
    if with_contact:
        address["email"] = person.get("email", "")
        address["phone"] = person.get("phone", "")
    return address


@dataclass
class Store:
    """Everything the stand-in serves, in plain dicts keyed by id."""

    currency: str = "EUR"
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    trashed_orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    trashed_products: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_post_id: int = 100
    next_item_id: int = 1
    next_user_id: int = 2

    # --- ids ----------------------------------------------------------------------------------

    def post_id(self) -> int:
        self.next_post_id += 1
        return self.next_post_id

    def item_id(self) -> int:
        self.next_item_id += 1
        return self.next_item_id

    def user_id(self) -> int:
        self.next_user_id += 1
        return self.next_user_id

    # --- JSON ---------------------------------------------------------------------------------

    def order_json(self, order: dict[str, Any], base: str = BASE) -> dict[str, Any]:
        lines = []
        for line in order["lines"]:
            subtotal = line["price"] * line["quantity"]
            total = subtotal - line["discount"]
            lines.append(
                {
                    "id": line["id"],
                    "name": line["name"],
                    "product_id": line["product_id"],
                    "variation_id": line["variation_id"],
                    "quantity": line["quantity"],
                    "tax_class": "",
                    "subtotal": money(subtotal),
                    "subtotal_tax": money(subtotal * Decimal("0.2")),
                    "total": money(total),
                    "total_tax": money(total * Decimal("0.2")),
                    "taxes": [],
                    "meta_data": [],
                    "sku": line["sku"],
                    "price": float(total / line["quantity"]) if line["quantity"] else 0,
                    "image": {"id": "", "src": ""},
                    "parent_name": line.get("parent_name"),
                }
            )
        discount = sum((line["discount"] for line in order["lines"]), Decimal(0))
        net_lines = sum(
            (line["price"] * line["quantity"] - line["discount"] for line in order["lines"]), Decimal(0)
        )
        tax = net_lines * Decimal("0.2")
        total = net_lines + tax + order["shipping_total"]
        meta = [
            {"id": 9000 + i, "key": f"_wc_order_attribution_{k}", "value": v}
            for i, (k, v) in enumerate(sorted(order["attribution"].items()))
        ]
        meta.append({"id": 8999, "key": "is_vat_exempt", "value": "no"})
        body: dict[str, Any] = {
            "id": order["id"],
            "parent_id": 0,
            "status": order["status"],
            "currency": self.currency,
            "version": "9.8.1",
            "prices_include_tax": False,
            **_dates("date_created", order["created"]),
            **_dates("date_modified", order["modified"]),
            "discount_total": money(discount),
            "discount_tax": money(discount * Decimal("0.2")),
            "shipping_total": money(order["shipping_total"]),
            "shipping_tax": "0.00",
            "cart_tax": money(tax),
            "total": money(total),
            "total_tax": money(tax),
            "customer_id": order["customer_id"],
            "order_key": f"wc_order_{order['id']:x}",
            "billing": _address(order["billing"], True),
            "shipping": _address(order["shipping"], False),
            "payment_method": "stripe",
            "payment_method_title": "Credit card",
            "transaction_id": f"ch_{order['id']}",
            "customer_ip_address": "",
            "customer_user_agent": "",
            "created_via": order["created_via"],
            "customer_note": "",
            **_dates("date_completed", order["created"] if order["status"] == "completed" else None),
            **_dates("date_paid", order["paid"]),
            "cart_hash": "",
            "number": str(order["id"]),
            "meta_data": meta,
            "line_items": lines,
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [
                {
                    "id": c["id"],
                    "code": c["code"],
                    "discount": money(c["discount"]),
                    "discount_tax": "0.00",
                    "meta_data": [],
                }
                for c in order["coupons"]
            ],
            "refunds": [
                {"id": r["id"], "reason": r["reason"], "total": money(-r["amount"])} for r in order["refunds"]
            ],
            "payment_url": f"{base}/checkout/order-pay/{order['id']}/",
            "is_editable": False,
            "needs_payment": False,
            "needs_processing": True,
            "currency_symbol": "€",
            "_links": {
                "self": [{"href": f"{base}/wp-json/wc/v3/orders/{order['id']}"}],
                "collection": [{"href": f"{base}/wp-json/wc/v3/orders"}],
            },
        }
        return body

    def refunds_json(self, order: dict[str, Any], base: str = BASE) -> list[dict[str, Any]]:
        by_id = {line["id"]: line for line in order["lines"]}
        refunds = []
        for refund in reversed(order["refunds"]):  # newest first, like WooCommerce
            items = []
            for refunded in refund["lines"]:
                line = by_id[refunded["line_id"]]
                amount = line["price"] * refunded["quantity"]
                items.append(
                    {
                        "id": self.item_id() + 500_000,
                        "name": line["name"],
                        "product_id": line["product_id"],
                        "variation_id": line["variation_id"],
                        "quantity": -refunded["quantity"],
                        "tax_class": "",
                        "subtotal": money(-amount),
                        "subtotal_tax": "0.00",
                        "total": money(-amount),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": str(line["id"])}],
                        "sku": line["sku"],
                        "price": -float(line["price"]),
                        "refund_total": float(amount),
                    }
                )
            refunds.append(
                {
                    "id": refund["id"],
                    **_dates("date_created", refund["created"]),
                    "amount": money(refund["amount"]),
                    "reason": refund["reason"],
                    "refunded_by": 1,
                    "refunded_payment": True,
                    "meta_data": [],
                    "line_items": items,
                    "shipping_lines": [],
                    "tax_lines": [],
                    "fee_lines": [],
                    "_links": {
                        "self": [
                            {"href": f"{base}/wp-json/wc/v3/orders/{order['id']}/refunds/{refund['id']}"}
                        ],
                        "up": [{"href": f"{base}/wp-json/wc/v3/orders/{order['id']}"}],
                    },
                }
            )
        return refunds

    def customer_json(self, customer: dict[str, Any], base: str = BASE) -> dict[str, Any]:
        return {
            "id": customer["id"],
            **_dates("date_created", customer["created"]),
            **_dates("date_modified", customer["modified"]),
            "email": customer["email"],
            "first_name": customer["first_name"],
            "last_name": customer["last_name"],
            "role": customer.get("role", "customer"),
            "username": customer["email"].split("@")[0],
            "billing": _address(customer, True),
            "shipping": _address(customer, False),
            "is_paying_customer": True,
            "avatar_url": "https://secure.gravatar.com/avatar/0?s=96",
            "meta_data": [
                {"id": i + 1, "key": k, "value": v}
                for i, (k, v) in enumerate(sorted(customer.get("meta", {}).items()))
            ],
            "_links": {
                "self": [{"href": f"{base}/wp-json/wc/v3/customers/{customer['id']}"}],
                "collection": [{"href": f"{base}/wp-json/wc/v3/customers"}],
            },
        }

    def _price_fields(self, item: dict[str, Any]) -> dict[str, Any]:
        sale = item.get("sale_price")
        price = sale if sale is not None else item["regular_price"]
        return {
            "price": money(price),
            "regular_price": money(item["regular_price"]),
            "sale_price": money(sale) if sale is not None else "",
            "on_sale": sale is not None,
            "manage_stock": item.get("stock") is not None,
            "stock_quantity": item.get("stock"),
            "stock_status": item.get("stock_status", "instock"),
            "purchasable": True,
        }

    def product_json(self, product: dict[str, Any], base: str = BASE) -> dict[str, Any]:
        body = {
            "id": product["id"],
            "name": product["name"],
            "slug": product["slug"],
            "permalink": f"{base}/product/{product['slug']}/",
            **_dates("date_created", product["created"]),
            **_dates("date_modified", product["modified"]),
            "type": product["type"],
            "status": product["status"],
            "featured": False,
            "catalog_visibility": product.get("catalog_visibility", "visible"),
            "description": "",
            "short_description": "",
            "sku": product["sku"],
            **(
                self._price_fields(product)
                if product["type"] != "variable"
                else {
                    "price": "",
                    "regular_price": "",
                    "sale_price": "",
                    "on_sale": False,
                    "manage_stock": False,
                    "stock_quantity": None,
                    "stock_status": "instock",
                    "purchasable": True,
                }
            ),
            "total_sales": 0,
            "virtual": False,
            "downloadable": False,
            "tax_status": "taxable",
            "categories": [
                {"id": 15 + i, "name": c, "slug": c.lower()} for i, c in enumerate(product["categories"])
            ],
            "tags": [{"id": 40 + i, "name": t, "slug": t.lower()} for i, t in enumerate(product["tags"])],
            "images": (
                [{"id": product["id"] + 1, "src": product["image"], "name": product["slug"], "alt": ""}]
                if product.get("image")
                else []
            ),
            "attributes": [],
            "variations": [v for v in product.get("variations", []) if v in self.variations],
            "meta_data": [],
            "_links": {
                "self": [{"href": f"{base}/wp-json/wc/v3/products/{product['id']}"}],
                "collection": [{"href": f"{base}/wp-json/wc/v3/products"}],
            },
        }
        return body

    def variation_json(
        self, variation: dict[str, Any], base: str = BASE, as_product: bool = False
    ) -> dict[str, Any]:
        parent = self.products.get(variation["parent_id"]) or self.trashed_products.get(
            variation["parent_id"]
        )
        attributes = [{"id": 0, "name": name, "option": option} for name, option in variation["attributes"]]
        image = (
            {"id": variation["id"] + 1, "src": variation["image"], "name": "", "alt": ""}
            if variation.get("image")
            else None
        )
        body: dict[str, Any] = {
            "id": variation["id"],
            **_dates("date_created", variation["created"]),
            **_dates("date_modified", variation["modified"]),
            "description": "",
            "permalink": f"{base}/product/{parent['slug'] if parent else 'x'}/?attribute=1",
            "sku": variation["sku"],
            **self._price_fields(variation),
            "status": variation.get("status", "publish"),
            "virtual": False,
            "downloadable": False,
            "tax_status": "taxable",
            "attributes": attributes,
            "menu_order": 0,
            "meta_data": [],
        }
        options = " / ".join(option for _, option in variation["attributes"])
        if as_product:  # GET products/<variation id> and product.* webhooks for variations
            body.update(
                {
                    "name": f"{parent['name'] if parent else ''} - {options}",
                    "type": "variation",
                    "parent_id": variation["parent_id"],
                    "images": [image] if image else [],
                    "categories": [],
                    "tags": [],
                }
            )
        else:
            body["image"] = image
        up = f"{base}/wp-json/wc/v3/products/{variation['parent_id']}"
        body["_links"] = {"self": [{"href": f"{up}/variations/{variation['id']}"}], "up": [{"href": up}]}
        return body

    def copy(self) -> Store:
        return deepcopy(self)


# --- a generated store -------------------------------------------------------------------------------

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dario",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sami",
    "Tina",
    "Ugo",
]
LAST = [
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petit",
    "Rossi",
]
PLACES = [
    ("DE", "BE", "Berlin"),
    ("DE", "BY", "München"),
    ("FR", "", "Paris"),
    ("NL", "", "Amsterdam"),
    ("ES", "M", "Madrid"),
    ("IT", "RM", "Roma"),
    ("US", "CA", "San Francisco"),
    ("GB", "", "London"),
]
CATEGORIES = ["Coffee", "Tea", "Brewing", "Mugs", "Gifts"]
ATTRIBUTION = [
    {
        "source_type": "utm",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring-sale",
        "referrer": "https://www.google.com/",
        "session_entry": "https://store.invalid/shop/",
        "device_type": "Mobile",
        "utm_content": "banner-a",
        "session_count": "3",
        "session_pages": "7",
    },
    {
        "source_type": "organic",
        "utm_source": "google",
        "utm_medium": "organic",
        "referrer": "https://www.google.com/",
        "session_entry": "https://store.invalid/",
        "device_type": "Desktop",
        "session_count": "1",
        "session_pages": "4",
    },
    {
        "source_type": "referral",
        "utm_source": "blog.example",
        "utm_medium": "referral",
        "referrer": "https://blog.example/best-beans",
        "session_entry": "https://store.invalid/product/beans/",
        "device_type": "Tablet",
    },
    {"source_type": "typein", "session_entry": "https://store.invalid/", "device_type": "Desktop"},
    {
        "source_type": "utm",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "may-news",
        "utm_term": "beans",
        "session_entry": "https://store.invalid/shop/",
        "device_type": "Mobile",
    },
    {},  # an order from before WooCommerce 8.5, or placed in the admin
]
STATUSES = ["completed"] * 14 + ["processing"] * 3 + ["on-hold", "pending", "failed", "cancelled", "refunded"]


def generate_store(
    orders: int = 300,
    customers: int | None = None,
    products: int = 40,
    seed: int = 7,
    end: datetime | None = None,
) -> Store:
    """A deterministic store with simple and variable products, registered and guest buyers,
    coupons, refunds, attribution and every order status; every date is before `end`."""
    rng = random.Random(seed)
    store = Store()
    end = (end or now_utc()) - timedelta(hours=1)
    start = end - timedelta(days=730)

    def when(lo: datetime, hi: datetime) -> datetime:
        return lo + timedelta(seconds=rng.randint(0, max(int((hi - lo).total_seconds()), 0)))

    sellable: list[tuple[int, int, str, Decimal, str]] = []  # product, variation, name, price, sku
    for n in range(products):
        pid = store.post_id()
        created = when(start, start + timedelta(days=60))
        variable = n % 4 == 0
        price = Decimal(rng.randint(400, 6000)) / 100
        product = {
            "id": pid,
            "name": f"Product {n:03d}",
            "slug": f"product-{n:03d}",
            "type": "variable" if variable else "simple",
            "status": "publish" if n % 13 else ("draft" if n % 2 else "private"),
            "sku": f"SKU-{n:03d}",
            "regular_price": price,
            "sale_price": (price * Decimal("0.8")).quantize(CENT) if n % 5 == 1 else None,
            "stock": rng.randint(0, 80) if n % 3 else None,
            "stock_status": "outofstock" if n % 17 == 3 else "instock",
            "categories": [CATEGORIES[n % len(CATEGORIES)]] + (["Gifts"] if n % 7 == 0 else []),
            "tags": ["fair-trade", "organic"][: n % 3],
            "image": f"https://store.invalid/wp-content/uploads/p{n:03d}.jpg" if n % 6 else None,
            "catalog_visibility": "hidden" if n % 11 == 10 else "visible",
            "created": created,
            "modified": when(created, end),
            "variations": [],
        }
        store.products[pid] = product
        if variable:
            for size in ("250g", "500g", "1kg")[: 2 + n % 2]:
                vid = store.post_id()
                vprice = (price * {"250g": 1, "500g": Decimal("1.8"), "1kg": Decimal("3.2")}[size]).quantize(
                    CENT
                )
                store.variations[vid] = {
                    "id": vid,
                    "parent_id": pid,
                    "sku": f"SKU-{n:03d}-{size}",
                    "regular_price": vprice,
                    "sale_price": None,
                    "stock": rng.randint(0, 30),
                    "stock_status": "instock",
                    "attributes": [("Size", size)],
                    "image": None if size != "1kg" else f"https://store.invalid/v{vid}.jpg",
                    "created": created,
                    "modified": when(created, end),
                    "status": "publish",
                }
                product["variations"].append(vid)
                sellable.append((pid, vid, f"Product {n:03d} - {size}", vprice, f"SKU-{n:03d}-{size}"))
        else:
            sale = product["sale_price"]
            sellable.append((pid, 0, product["name"], sale if sale is not None else price, product["sku"]))

    people: list[dict[str, Any]] = []
    for n in range(customers if customers is not None else max(orders // 6, 5)):
        country, state, city = PLACES[n % len(PLACES)]
        person = {
            "first_name": FIRST[n % len(FIRST)],
            "last_name": LAST[(n * 7) % len(LAST)],
            "email": f"buyer{n}@example.com",
            "phone": f"+49 30 {100000 + n}",
            "country": country,
            "state": state,
            "city": city,
            "postcode": f"{10000 + n}",
            "address_1": f"{n} Main St",
        }
        if n % 3 != 2:  # two thirds have an account
            cid = store.user_id()
            created = when(start, end - timedelta(days=30))
            store.customers[cid] = {**person, "id": cid, "created": created, "modified": when(created, end)}
            person = {**person, "customer_id": cid}
        people.append(person)

    for n in range(orders):
        person = people[rng.randrange(len(people))]
        oid = store.post_id()
        created = when(start + timedelta(days=60), end - timedelta(days=1))
        status = STATUSES[rng.randrange(len(STATUSES))]
        lines = []
        for _ in range(rng.choice((1, 1, 2, 2, 3, 5))):
            pid, vid, name, price, sku = sellable[rng.randrange(len(sellable))]
            quantity = rng.choice((1, 1, 1, 2, 3))
            lines.append(
                {
                    "id": store.item_id(),
                    "product_id": pid,
                    "variation_id": vid,
                    "name": name,
                    "sku": sku,
                    "price": price,
                    "quantity": quantity,
                    "discount": Decimal(0),
                }
            )
        coupons = []
        if n % 9 == 4:
            code, share = ("spring10", Decimal("0.10")) if n % 2 else ("welcome5", Decimal("0.05"))
            total_discount = Decimal(0)
            for line in lines:
                line["discount"] = (line["price"] * line["quantity"] * share).quantize(CENT)
                total_discount += line["discount"]
            coupons.append({"id": store.item_id(), "code": code, "discount": total_discount})
        refunds = []
        if status == "refunded" or (status == "completed" and n % 11 == 3):
            chosen = lines if status == "refunded" else lines[:1]
            refund_lines = [
                {"line_id": line["id"], "quantity": line["quantity"] if status == "refunded" else 1}
                for line in chosen
            ]
            amount = sum(
                (line["price"] * r["quantity"] for line, r in zip(chosen, refund_lines, strict=True)),
                Decimal(0),
            )
            refunds.append(
                {
                    "id": store.post_id(),
                    "reason": "Damaged in transit",
                    "amount": amount,
                    "lines": refund_lines,
                    "created": created + timedelta(days=3),
                }
            )
        guest = "customer_id" not in person
        email = person["email"] if not (guest and n % 23 == 5) else ""  # a few guests without e-mail
        billing = {**person, "email": email}
        ships_elsewhere = n % 8 == 0
        shipping = {**person, **({"country": "AT", "state": "", "city": "Wien"} if ships_elsewhere else {})}
        modified = when(created, min(created + timedelta(days=20), end))
        store.orders[oid] = {
            "id": oid,
            "status": status,
            "customer_id": person.get("customer_id", 0),
            "billing": billing,
            "shipping": shipping,
            "created": created,
            "modified": modified,
            "paid": created + timedelta(minutes=2) if status not in ("pending", "failed") else None,
            "lines": lines,
            "coupons": coupons,
            "refunds": refunds,
            "shipping_total": Decimal("4.90") if n % 4 else Decimal(0),
            "attribution": dict(ATTRIBUTION[n % len(ATTRIBUTION)]),
            "created_via": "admin" if n % 29 == 0 else "checkout",
        }
    return store
