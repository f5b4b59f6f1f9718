"""The store's objects in Shopify's two shapes: GraphQL nodes and REST (webhook) payloads.

GraphQL nodes are dicts that graphql-core's default resolvers read: plain values, nested dicts,
and callables `(info, **arguments)` for connections and fields with arguments. REST payloads
are what webhooks deliver: numeric ids, snake_case, amounts as strings, times in the shop's
time zone with their offset.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from tests.shopify_standin.store import Store, current_quantity, variant_available

ZONE = ZoneInfo("America/Chicago")


def gid(kind: str, value: int) -> str:
    return f"gid://shopify/{kind}/{value}"


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def local(moment: datetime | None) -> str | None:
    """REST times: the shop's local time with its offset (`2026-03-01T09:00:00-06:00`)."""
    return moment.astimezone(ZONE).isoformat() if moment else None


def amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def bag(value: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": str(value), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def rest_bag(value: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": str(value), "currency_code": currency}
    return {"shop_money": money, "presentment_money": money}


def landing_utm(landing: str | None) -> dict[str, str]:
    """The UTM parameters in a landing page's query."""
    if not landing or "?" not in landing:
        return {}
    query = parse_qs(landing.split("?", 1)[1])
    return {k: v[0] for k, v in query.items() if k in ("utm_source", "utm_medium", "utm_campaign")}


# --- connections --------------------------------------------------------------------------------


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        from graphql import GraphQLError

        raise GraphQLError("Invalid cursor") from None


def connection(
    items: Sequence[Any],
    node: Callable[[Any], dict[str, Any]],
    key: Callable[[Any], Sequence[Any]],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """A Relay connection over `items` (already sorted by `key`), paged by keyset cursors."""
    from graphql import GraphQLError

    for limit in (first, last):
        if limit is not None and not 0 <= limit <= 250:
            raise GraphQLError("The first/last argument must be between 0 and 250")
    window = list(items)
    if after is not None:
        mark = decode_cursor(after)
        window = [i for i in window if list(key(i)) > mark]
    if before is not None:
        mark = decode_cursor(before)
        window = [i for i in window if list(key(i)) < mark]
    has_next = has_previous = False
    if first is not None and len(window) > first:
        window, has_next = window[:first], True
    if last is not None and len(window) > last:
        window, has_previous = window[-last:], True
    nodes = [node(i) for i in window]
    cursors = [encode_cursor(key(i)) for i in window]
    return {
        "nodes": nodes,
        "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous or after is not None,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def child_connection(
    items: Sequence[Any], node: Callable[[Any], dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    """A connection field over a fixed list (an order's lines), paged by position."""

    def resolve(
        _info: Any = None, first: int | None = None, after: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        indexed = list(enumerate(items))
        return connection(
            indexed,
            lambda pair: node(pair[1]),
            lambda pair: [pair[0]],
            first,
            after,
            kw.get("last"),
            kw.get("before"),
        )

    return resolve


# --- GraphQL nodes ------------------------------------------------------------------------------


class GraphRenderer:
    """GraphQL nodes of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.currency = store.shop["currency"]

    def address(self, address: dict[str, Any] | None, owner: int) -> dict[str, Any] | None:
        if address is None:
            return None
        return {
            "id": gid("MailingAddress", owner),
            "city": address["city"],
            "province": address["province"],
            "countryCodeV2": address["country_code"],
            "country": address["country_code"],
            "coordinatesValidated": False,
        }

    def customer(self, customer: dict[str, Any]) -> dict[str, Any]:
        email = customer["email"]
        return {
            "__typename": "Customer",
            "id": gid("Customer", customer["id"]),
            "legacyResourceId": str(customer["id"]),
            "firstName": customer["first_name"],
            "lastName": customer["last_name"],
            "displayName": f"{customer['first_name']} {customer['last_name']}",
            "createdAt": iso(customer["created_at"]),
            "updatedAt": iso(customer["updated_at"]),
            "tags": list(customer["tags"]),
            "defaultEmailAddress": None
            if email is None
            else {
                "emailAddress": email,
                "marketingState": "SUBSCRIBED" if customer["accepts_marketing"] else "NOT_SUBSCRIBED",
            },
            "defaultPhoneNumber": {"phoneNumber": customer["phone"]} if customer["phone"] else None,
            "defaultAddress": self.address(customer["address"], customer["id"]),
        }

    def variant(self, product: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
        cost = variant["cost"]
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant["id"]),
            "title": variant["title"],
            "sku": variant["sku"],
            "price": str(variant["price"]),
            "compareAtPrice": amount(variant["compare_at_price"]),
            "inventoryQuantity": variant["inventory_quantity"],
            "availableForSale": variant_available(variant),
            "updatedAt": iso(variant["updated_at"]),
            "inventoryItem": {
                "id": gid("InventoryItem", variant["id"]),
                "unitCost": None if cost is None else {"amount": str(cost), "currencyCode": self.currency},
            },
            "product": lambda _info=None: self.product(product),
        }

    def product(self, product: dict[str, Any]) -> dict[str, Any]:
        image = product["image_url"]
        return {
            "__typename": "Product",
            "id": gid("Product", product["id"]),
            "legacyResourceId": str(product["id"]),
            "title": product["title"],
            "handle": product["handle"],
            "productType": product["product_type"],
            "vendor": product["vendor"],
            "status": product["status"].upper(),
            "publishedAt": iso(product["published_at"]),
            "tags": list(product["tags"]),
            "createdAt": iso(product["created_at"]),
            "updatedAt": iso(product["updated_at"]),
            "featuredMedia": None
            if image is None
            else {"__typename": "MediaImage", "preview": {"image": {"url": image}}},
            "variants": child_connection(product["variants"], lambda v: self.variant(product, v)),
        }

    def line(self, order: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        product = self.store.products.get(line["product_id"]) if line["product_id"] else None
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line["id"]),
            "title": line["title"],
            "name": line["title"],
            "sku": line["sku"],
            "vendor": line["vendor"],
            "quantity": line["quantity"],
            "currentQuantity": current_quantity(order, line),
            "product": None
            if product is None
            else {"__typename": "Product", "id": gid("Product", product["id"])},
            "variant": None
            if line["variant_id"] is None or product is None
            else {"__typename": "ProductVariant", "id": gid("ProductVariant", line["variant_id"])},
            "originalUnitPriceSet": bag(line["price"], self.currency),
            "totalDiscountSet": bag(line["total_discount"], self.currency),
            "requiresShipping": True,
            "taxable": True,
            "isGiftCard": False,
        }

    def journey(self, order: dict[str, Any]) -> dict[str, Any] | None:
        landing, referrer = order["landing_site"], order["referring_site"]
        if landing is None and referrer is None:
            return None
        utm = landing_utm(landing)
        visit = {
            "id": gid("CustomerVisit", order["id"]),
            "landingPage": f"https://{self.store.domain}{landing}" if landing else None,
            "referrerUrl": referrer,
            "source": utm.get("utm_source") or "direct",
            "occurredAt": iso(order["created_at"]),
            "utmParameters": None
            if not utm
            else {
                "source": utm.get("utm_source"),
                "medium": utm.get("utm_medium"),
                "campaign": utm.get("utm_campaign"),
                "content": None,
                "term": None,
            },
        }
        return {
            "ready": True,
            "customerOrderIndex": 1,
            "daysToConversion": 0,
            "firstVisit": visit,
            "lastVisit": visit,
        }

    def order(self, order: dict[str, Any]) -> dict[str, Any]:
        currency = self.currency
        customer = self.store.customers.get(order["customer_id"]) if order["customer_id"] else None
        return {
            "__typename": "Order",
            "id": gid("Order", order["id"]),
            "legacyResourceId": str(order["id"]),
            "name": order["name"],
            "createdAt": iso(order["created_at"]),
            "updatedAt": iso(order["updated_at"]),
            "processedAt": iso(order["processed_at"]),
            "cancelledAt": iso(order["cancelled_at"]),
            "email": order["email"],
            "displayFinancialStatus": order["financial_status"].upper(),
            "currencyCode": currency,
            "presentmentCurrencyCode": currency,
            "sourceName": order["source_name"],
            "discountCodes": list(order["discount_codes"]),
            "customAttributes": [{"key": k, "value": v} for k, v in order["note_attributes"]],
            "customer": None
            if customer is None
            else {"__typename": "Customer", "id": gid("Customer", customer["id"])},
            "totalDiscountsSet": bag(order["total_discounts"], currency),
            "totalShippingPriceSet": bag(order["total_shipping"], currency),
            "totalTaxSet": bag(order["total_tax"], currency),
            "totalPriceSet": bag(order["total_price"], currency),
            "shippingAddress": self.address(order["shipping_address"], order["id"]),
            "billingAddress": self.address(order["billing_address"], order["id"]),
            "customerJourneySummary": self.journey(order),
            "lineItems": child_connection(order["line_items"], lambda line: self.line(order, line)),
            "refunds": lambda _info=None, first=None: [
                {"id": gid("Refund", r["id"]), "createdAt": iso(r["created_at"])} for r in order["refunds"]
            ][:first],
        }


# --- REST payloads ------------------------------------------------------------------------------


def rest_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "first_name": None,
        "last_name": None,
        "city": address["city"],
        "province": address["province"],
        "country_code": address["country_code"],
        "country": address["country_code"],
        "zip": None,
    }


def rest_customer(customer: dict[str, Any]) -> dict[str, Any]:
    email = customer["email"]
    return {
        "id": customer["id"],
        "admin_graphql_api_id": gid("Customer", customer["id"]),
        "email": email,
        "first_name": customer["first_name"],
        "last_name": customer["last_name"],
        "phone": customer["phone"],
        "tags": ", ".join(customer["tags"]),
        "created_at": local(customer["created_at"]),
        "updated_at": local(customer["updated_at"]),
        "default_address": rest_address(customer["address"]),
        "email_marketing_consent": None
        if email is None
        else {
            "state": "subscribed" if customer["accepts_marketing"] else "not_subscribed",
            "opt_in_level": None,
        },
    }


def rest_product(product: dict[str, Any]) -> dict[str, Any]:
    image = {"src": product["image_url"]} if product["image_url"] else None
    return {
        "id": product["id"],
        "admin_graphql_api_id": gid("Product", product["id"]),
        "title": product["title"],
        "handle": product["handle"],
        "product_type": product["product_type"],
        "vendor": product["vendor"],
        "status": product["status"],
        "published_at": local(product["published_at"]),
        "tags": ", ".join(product["tags"]),
        "created_at": local(product["created_at"]),
        "updated_at": local(product["updated_at"]),
        "image": image,
        "images": [image] if image else [],
        "variants": [
            {
                "id": v["id"],
                "product_id": product["id"],
                "title": v["title"],
                "sku": v["sku"],
                "price": str(v["price"]),
                "compare_at_price": amount(v["compare_at_price"]),
                "inventory_quantity": v["inventory_quantity"],
                "inventory_management": v["inventory_management"],
                "inventory_policy": v["inventory_policy"],
                "updated_at": local(v["updated_at"]),
            }
            for v in product["variants"]
        ],
    }


def rest_order(store: Store, order: dict[str, Any]) -> dict[str, Any]:
    currency = store.shop["currency"]
    customer = store.customers.get(order["customer_id"]) if order["customer_id"] else None
    return {
        "id": order["id"],
        "admin_graphql_api_id": gid("Order", order["id"]),
        "name": order["name"],
        "email": order["email"],
        "contact_email": order["email"],
        "created_at": local(order["created_at"]),
        "updated_at": local(order["updated_at"]),
        "processed_at": local(order["processed_at"]),
        "cancelled_at": local(order["cancelled_at"]),
        "cancel_reason": "customer" if order["cancelled_at"] else None,
        "financial_status": order["financial_status"],
        "currency": currency,
        "presentment_currency": currency,
        "source_name": order["source_name"],
        "landing_site": order["landing_site"],
        "referring_site": order["referring_site"],
        "discount_codes": [
            {"code": c, "amount": "0.00", "type": "percentage"} for c in order["discount_codes"]
        ],
        "note_attributes": [{"name": k, "value": v} for k, v in order["note_attributes"]],
        "total_discounts": str(order["total_discounts"]),
        "total_discounts_set": rest_bag(order["total_discounts"], currency),
        "total_tax": str(order["total_tax"]),
        "total_tax_set": rest_bag(order["total_tax"], currency),
        "total_price": str(order["total_price"]),
        "total_price_set": rest_bag(order["total_price"], currency),
        "total_shipping_price_set": rest_bag(order["total_shipping"], currency),
        "shipping_address": rest_address(order["shipping_address"]),
        "billing_address": rest_address(order["billing_address"]),
        "customer": rest_customer(customer) if customer else None,
        "line_items": [
            {
                "id": line["id"],
                "admin_graphql_api_id": gid("LineItem", line["id"]),
                "product_id": line["product_id"] if line["product_id"] in store.products else None,
                "variant_id": line["variant_id"] if line["product_id"] in store.products else None,
                "title": line["title"],
                "name": line["title"],
                "sku": line["sku"],
                "vendor": line["vendor"],
                "quantity": line["quantity"],
                "current_quantity": current_quantity(order, line),
                "price": str(line["price"]),
                "price_set": rest_bag(line["price"], currency),
                "total_discount": str(line["total_discount"]),
                "total_discount_set": rest_bag(line["total_discount"], currency),
            }
            for line in order["line_items"]
        ],
        "refunds": [rest_refund(order, refund) for refund in order["refunds"]],
    }


def rest_refund(order: dict[str, Any], refund: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": refund["id"],
        "admin_graphql_api_id": gid("Refund", refund["id"]),
        "order_id": order["id"],
        "created_at": local(refund["created_at"]),
        "note": None,
        "refund_line_items": [
            {"id": refund["id"] + n + 1, "line_item_id": line_id, "quantity": quantity}
            for n, (line_id, quantity) in enumerate(refund["lines"])
        ],
        "transactions": [],
    }
