"""Shopify's shapes to `cvo_plugin.records`: GraphQL nodes (sync, bulk) and REST-shaped webhooks.

Both shapes of one object map to the same records, so a row written by a webhook and one written
by a sync are identical:

- ids are Shopify's numeric ids as text (`gid://shopify/Order/123` and `123` are both `"123"`);
- money is the shop-currency amount (`*Set.shopMoney.amount`, REST `*_set.shop_money.amount`
  or the plain shop-currency field) as `Decimal`; times are UTC-aware;
- a line's `refunded_quantity` is what was removed from it after the sale, `quantity -
  currentQuantity` (REST `current_quantity`; Shopify recommends it over summing refund line
  items), so the order's refunds follow from its lines (see `cvo_plugin.ingest.merge`);
- the order's place is its shipping address, else its billing address (country code, province,
  city); its channel is the first visit of `customerJourneySummary` (REST: `landing_site` and
  `referring_site`), the landing page kept as path and query (GraphQL gives an absolute URL,
  REST a path), UTM parameters from the journey (REST: the landing page's query) or else from
  the note attributes that tracking apps write (`utm_source`, ...);
- list values (tags, discount codes) are joined with ", " as Shopify's REST API does;
- text is cut to the column sizes of the data model (an over-long UTM value must not fail a sync).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderBundle,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)

GID_PREFIX = "gid://shopify/"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
_EMPTY: Mapping[str, Any] = {}


# --- values -------------------------------------------------------------------------------------


def numeric_id(value: Any) -> str | None:
    """Shopify's numeric id of a gid (`gid://shopify/Order/123?x=y` -> `"123"`) or number."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[1].split("?", 1)[0]
    return text


def gid(kind: str, value: Any) -> str:
    """The gid of a numeric id (`gid("Order", 123)` -> `gid://shopify/Order/123`)."""
    text = str(value)
    return text if text.startswith("gid://") else f"{GID_PREFIX}{kind}/{text}"


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (Shopify's `Z` or offset form) as UTC; naive times are taken as UTC."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decimal(value: Any) -> Decimal | None:
    """A money amount (string or number) as `Decimal`."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def shop_money(bag: Any) -> Decimal | None:
    """The shop-currency amount of a GraphQL `MoneyBag` (or REST `*_set`)."""
    if not bag:
        return None
    money = bag.get("shopMoney") or bag.get("shop_money")
    return decimal(money.get("amount")) if money else None


def clip(value: Any, limit: int) -> str | None:
    """Text cut to `limit` characters; empty text is None."""
    if value is None:
        return None
    text = str(value)
    if not text:
        return None
    return text if len(text) <= limit else text[:limit]


def currency_code(value: Any) -> str | None:
    """An ISO 4217 code (three letters, upper-cased); anything else is None."""
    text = value.strip().upper() if isinstance(value, str) else ""
    return text if len(text) == 3 and text.isalpha() and text.isascii() else None


def bounded_int(value: Any, limit: int = 2**31 - 1) -> int | None:
    """A whole number within +-`limit` (a database integer); anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -limit <= number <= limit else None


def joined(values: Iterable[Any] | str | None, limit: int | None = None) -> str | None:
    """A list joined with ", " (a string is kept as it is); empty is None."""
    if values is None:
        return None
    text = values if isinstance(values, str) else ", ".join(str(v) for v in values if v)
    if not text:
        return None
    return text[:limit] if limit else text


def relative_url(url: Any) -> str | None:
    """A landing page as path and query: GraphQL gives an absolute URL, REST the path only."""
    if not url:
        return None
    text = str(url)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def utm_from_url(url: str | None) -> dict[str, str]:
    """The utm_source / utm_medium / utm_campaign of a landing page URL (absolute or relative)."""
    if not url or "utm_" not in url:
        return {}
    query = parse_qs(urlsplit(url).query)
    return {key: query[key][0] for key in UTM_KEYS if query.get(key) and query[key][0]}


def _attributes_text(attributes: Mapping[str, Any]) -> str | None:
    """Note attributes as `key: value` lines (the format of Shopify's order export)."""
    if not attributes:
        return None
    return clip("\n".join(f"{k}: {v}" for k, v in attributes.items()), 10_000)


# --- orders -------------------------------------------------------------------------------------


def _order(
    *,
    platform_id: str,
    address: Mapping[str, Any],
    attributes: Mapping[str, Any],
    utm: Mapping[str, str],
    **values: Any,
) -> OrderRecord:
    return OrderRecord(
        platform_id=platform_id,
        utm_source=clip(utm.get("utm_source") or attributes.get("utm_source"), 255),
        utm_medium=clip(utm.get("utm_medium") or attributes.get("utm_medium"), 255),
        utm_campaign=clip(utm.get("utm_campaign") or attributes.get("utm_campaign"), 255),
        note_attributes=_attributes_text(attributes),
        province=clip(address.get("province"), 128),
        city=clip(address.get("city"), 128),
        **values,
    )


def _amount(bag: Any) -> str | None:
    """The shop-currency amount of a GraphQL `MoneyBag`, as the text Shopify sends."""
    money = bag.get("shopMoney") if bag else None
    amount = money.get("amount") if money else None
    return None if amount is None or amount == "" else str(amount)


def _time_text(value: Any) -> str | None:
    return str(value) if value else None


def order_rows_from_graphql(
    node: Mapping[str, Any], line_nodes: Sequence[Mapping[str, Any]]
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """An order of the GraphQL API (`OrderFields`) and its line items (`LineItemFields`) as rows.

    The rows hold the fields of `OrderRecord` and `LineRecord`, in their order, with times and
    money left as the ISO 8601 and decimal text Shopify sends: what the bulk backfill copies
    into PostgreSQL as it is. `order_from_graphql` types them.
    """
    platform_id = numeric_id(node["id"])
    assert platform_id is not None
    address = node.get("shippingAddress") or node.get("billingAddress") or _EMPTY
    journey = (node.get("customerJourneySummary") or _EMPTY).get("firstVisit") or _EMPTY
    utm = journey.get("utmParameters") or _EMPTY
    attributes = {a["key"]: a["value"] for a in node.get("customAttributes") or ()}
    status = node.get("displayFinancialStatus")
    order = (
        platform_id,
        _time_text(node.get("createdAt")),
        clip(node.get("name"), 64),
        numeric_id((node.get("customer") or _EMPTY).get("id")),
        clip(node.get("email"), 320),
        _time_text(node.get("processedAt")),
        _time_text(node.get("updatedAt")),
        _time_text(node.get("cancelledAt")),
        status.lower() if status else None,
        currency_code(node.get("currencyCode")),
        None,  # gross: from the lines
        _amount(node.get("totalDiscountsSet")),
        None,  # refunds: from the lines
        _amount(node.get("totalShippingPriceSet")),
        _amount(node.get("totalTaxSet")),
        _amount(node.get("totalPriceSet")),
        joined(node.get("discountCodes"), 10_000),
        clip(node.get("sourceName"), 128),
        journey.get("referrerUrl") or None,
        relative_url(journey.get("landingPage")),
        clip(utm.get("source") or attributes.get("utm_source"), 255),
        clip(utm.get("medium") or attributes.get("utm_medium"), 255),
        clip(utm.get("campaign") or attributes.get("utm_campaign"), 255),
        None,  # device type: not in the GraphQL order
        clip(address.get("countryCodeV2"), 64),
        clip(address.get("province"), 128),
        clip(address.get("city"), 128),
        _attributes_text(attributes),
    )
    lines = []
    for line in line_nodes:
        quantity = int(line["quantity"])
        current = line.get("currentQuantity")
        lines.append(
            (
                platform_id,
                numeric_id((line.get("product") or _EMPTY).get("id")),
                quantity,
                _amount(line.get("originalUnitPriceSet")) or "0",
                numeric_id(line["id"]),
                numeric_id((line.get("variant") or _EMPTY).get("id")),
                clip(line.get("sku"), 255),
                clip(line.get("title"), 512),
                None,  # product type: not in the GraphQL line
                clip(line.get("vendor"), 255),
                _amount(line.get("totalDiscountSet")),
                max(quantity - int(current), 0) if current is not None else 0,
            )
        )
    return order, lines


_ORDER_TIMES = [
    OrderRecord._fields.index(f) for f in ("created_at", "processed_at", "updated_at", "cancelled_at")
]
_ORDER_MONEY = [
    OrderRecord._fields.index(f) for f in ("gross", "discounts", "refunds", "shipping", "tax", "total")
]
_LINE_MONEY = [LineRecord._fields.index(f) for f in ("unit_price", "discount")]


def _typed(row: tuple[Any, ...], times: Sequence[int], money: Sequence[int]) -> list[Any]:
    values = list(row)
    for index in times:
        values[index] = parse_time(values[index])
    for index in money:
        values[index] = decimal(values[index])
    return values


def order_from_graphql(node: Mapping[str, Any], line_nodes: Sequence[Mapping[str, Any]]) -> OrderBundle:
    """An order of the GraphQL API (`OrderFields`) and its line items (`LineItemFields`)."""
    order, lines = order_rows_from_graphql(node, line_nodes)
    return OrderBundle(
        OrderRecord(*_typed(order, _ORDER_TIMES, _ORDER_MONEY)),
        tuple(LineRecord(*_typed(line, (), _LINE_MONEY)) for line in lines),
    )


def order_from_rest(payload: Mapping[str, Any]) -> OrderBundle:
    """An order webhook's payload (`orders/create`, `orders/updated`, `orders/cancelled`)."""
    platform_id = numeric_id(payload["id"])
    assert platform_id is not None
    address = payload.get("shipping_address") or payload.get("billing_address") or _EMPTY
    attributes = {a.get("name"): a.get("value") for a in payload.get("note_attributes") or ()}
    landing = relative_url(payload.get("landing_site"))
    customer = payload.get("customer") or _EMPTY
    order = _order(
        platform_id=platform_id,
        address=address,
        attributes=attributes,
        utm=utm_from_url(landing),
        created_at=parse_time(payload.get("created_at")),
        name=clip(payload.get("name"), 64),
        customer_platform_id=numeric_id(customer.get("id")),
        email=clip(payload.get("email") or payload.get("contact_email"), 320),
        processed_at=parse_time(payload.get("processed_at")),
        updated_at=parse_time(payload.get("updated_at")),
        cancelled_at=parse_time(payload.get("cancelled_at")),
        financial_status=clip(payload.get("financial_status"), 32),
        currency=currency_code(payload.get("currency")),
        discounts=_rest_money(payload, "total_discounts"),
        shipping=shop_money(payload.get("total_shipping_price_set")),
        tax=_rest_money(payload, "total_tax"),
        total=_rest_money(payload, "total_price"),
        discount_codes=joined((d.get("code") for d in payload.get("discount_codes") or ()), 10_000),
        source_name=clip(payload.get("source_name"), 128),
        referrer=clip(payload.get("referring_site"), 10_000),
        landing_page=landing,
        country=clip(address.get("country_code"), 64),
    )
    refunded = _refunded_quantities(payload.get("refunds") or ())
    lines = tuple(line_from_rest(platform_id, line, refunded) for line in payload.get("line_items") or ())
    return OrderBundle(order, lines)


def _rest_money(payload: Mapping[str, Any], name: str) -> Decimal | None:
    """A REST amount in the shop's currency: the `<name>_set` bag, else the plain field."""
    return shop_money(payload.get(f"{name}_set")) or decimal(payload.get(name))


def _refunded_quantities(refunds: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Refunded units per line id, from REST refunds (for payloads without `current_quantity`)."""
    totals: dict[str, int] = {}
    for refund in refunds:
        for item in refund.get("refund_line_items") or ():
            line_id = str(item.get("line_item_id"))
            totals[line_id] = totals.get(line_id, 0) + int(item.get("quantity") or 0)
    return totals


def line_from_rest(order_id: str, item: Mapping[str, Any], refunded: Mapping[str, int]) -> LineRecord:
    """A REST line item of an order webhook."""
    quantity = int(item["quantity"])
    line_id = numeric_id(item["id"])
    current = item.get("current_quantity")
    removed = quantity - int(current) if current is not None else refunded.get(str(line_id), 0)
    return LineRecord(
        order_platform_id=order_id,
        product_platform_id=numeric_id(item.get("product_id")),
        quantity=quantity,
        unit_price=_rest_money(item, "price") or Decimal(0),
        platform_id=line_id,
        variant_platform_id=numeric_id(item.get("variant_id")),
        sku=clip(item.get("sku"), 255),
        title=clip(item.get("title"), 512),
        vendor=clip(item.get("vendor"), 255),
        discount=_rest_money(item, "total_discount"),
        refunded_quantity=max(removed, 0),
    )


# --- customers ----------------------------------------------------------------------------------


def customer_from_graphql(node: Mapping[str, Any]) -> CustomerRecord:
    """A customer of the GraphQL API (`CustomerFields`)."""
    email = node.get("defaultEmailAddress") or _EMPTY
    address = node.get("defaultAddress") or _EMPTY
    state = email.get("marketingState")
    return CustomerRecord(
        platform_id=numeric_id(node["id"]) or "",
        email=clip(email.get("emailAddress"), 320),
        first_name=clip(node.get("firstName"), 255),
        last_name=clip(node.get("lastName"), 255),
        phone=clip((node.get("defaultPhoneNumber") or _EMPTY).get("phoneNumber"), 64),
        country=clip(address.get("countryCodeV2"), 64),
        province=clip(address.get("province"), 128),
        city=clip(address.get("city"), 128),
        tags=joined(node.get("tags")),
        accepts_marketing=(state == "SUBSCRIBED") if state else None,
        created_at=parse_time(node.get("createdAt")),
        updated_at=parse_time(node.get("updatedAt")),
    )


def customer_from_rest(payload: Mapping[str, Any]) -> CustomerRecord:
    """A `customers/update` (or `customers/create`) payload."""
    address = payload.get("default_address") or _EMPTY
    consent = payload.get("email_marketing_consent") or _EMPTY
    state = consent.get("state")
    return CustomerRecord(
        platform_id=numeric_id(payload["id"]) or "",
        email=clip(payload.get("email"), 320),
        first_name=clip(payload.get("first_name"), 255),
        last_name=clip(payload.get("last_name"), 255),
        phone=clip(payload.get("phone"), 64),
        country=clip(address.get("country_code"), 64),
        province=clip(address.get("province"), 128),
        city=clip(address.get("city"), 128),
        tags=joined(payload.get("tags")),
        accepts_marketing=(state.upper() == "SUBSCRIBED") if state else None,
        created_at=parse_time(payload.get("created_at")),
        updated_at=parse_time(payload.get("updated_at")),
    )


# --- products -----------------------------------------------------------------------------------


# Where the same product and variant fields live in the two shapes.
_GRAPH = {
    "type": "productType",
    "published": "publishedAt",
    "created": "createdAt",
    "updated": "updatedAt",
    "compare_at": "compareAtPrice",
    "quantity": "inventoryQuantity",
}
_REST = {
    "type": "product_type",
    "published": "published_at",
    "created": "created_at",
    "updated": "updated_at",
    "compare_at": "compare_at_price",
    "quantity": "inventory_quantity",
}


def _product(source: Mapping[str, Any], names: Mapping[str, str], image_url: Any) -> ProductRecord:
    handle = source.get("handle")
    status = source.get("status")
    return ProductRecord(
        platform_id=numeric_id(source["id"]) or "",
        title=clip(source.get("title"), 512),
        handle=clip(handle, 255),
        product_type=clip(source.get(names["type"]), 255),
        vendor=clip(source.get("vendor"), 255),
        status=clip(status.lower(), 16) if status else None,
        published=source.get(names["published"]) is not None,
        tags=joined(source.get("tags")),
        image_url=image_url,
        # Storefront-relative, so it works on the shop's own domain whatever that is.
        url=f"/products/{handle}" if handle else None,
        created_at=parse_time(source.get(names["created"])),
        updated_at=parse_time(source.get(names["updated"])),
    )


def _variant(
    source: Mapping[str, Any], names: Mapping[str, str], product_id: str, cost: Any, available: bool | None
) -> VariantRecord:
    return VariantRecord(
        platform_id=numeric_id(source["id"]) or "",
        product_platform_id=product_id,
        title=clip(source.get("title"), 512),
        sku=clip(source.get("sku"), 255),
        price=decimal(source.get("price")),
        compare_at_price=decimal(source.get(names["compare_at"])),
        cost=decimal(cost),
        inventory_quantity=bounded_int(source.get(names["quantity"])),
        available=available,
        updated_at=parse_time(source.get(names["updated"])),
    )


def product_from_graphql(
    node: Mapping[str, Any], variant_nodes: Sequence[Mapping[str, Any]]
) -> tuple[ProductRecord, list[VariantRecord]]:
    """A product of the GraphQL API (`ProductFields`) with its variants (`VariantFields`)."""
    media = ((node.get("featuredMedia") or _EMPTY).get("preview") or _EMPTY).get("image") or _EMPTY
    product = _product(node, _GRAPH, media.get("url"))
    variants = [
        _variant(
            v,
            _GRAPH,
            product.platform_id,
            ((v.get("inventoryItem") or _EMPTY).get("unitCost") or _EMPTY).get("amount"),
            v.get("availableForSale"),
        )
        for v in variant_nodes
    ]
    return product, variants


def variant_available(variant: Mapping[str, Any]) -> bool:
    """Whether a REST variant can be bought: not tracked, sold when out of stock, or in stock."""
    return (
        not variant.get("inventory_management")
        or variant.get("inventory_policy") == "continue"
        or int(variant.get("inventory_quantity") or 0) > 0
    )


def product_from_rest(payload: Mapping[str, Any]) -> tuple[ProductRecord, list[VariantRecord]]:
    """A `products/update` (or `products/create`) payload. REST variants carry no cost: the
    caller keeps the stored one."""
    image = payload.get("image") or next(iter(payload.get("images") or ()), None) or _EMPTY
    product = _product(payload, _REST, image.get("src"))
    variants = [
        _variant(v, _REST, product.platform_id, None, variant_available(v))
        for v in payload.get("variants") or ()
    ]
    return product, variants
