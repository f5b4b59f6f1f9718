"""WooCommerce REST API v3 JSON -> `cvo_plugin.records` (pure functions, no I/O).

The shapes are those of `GET /wc/v3/orders`, `.../orders/<id>/refunds`, `customers`,
`products` and `products/<id>/variations` (webhook payloads are the same JSON). Rules:

- Times: only the `*_gmt` fields are read (they are UTC without an offset); money is `Decimal`.
- Orders: `gross` = sum of the line items' `subtotal` (before discounts, without tax),
  `discounts` = `discount_total`, `refunds` = sum of the `refunds[].total` amounts (made
  positive). Line items keep their id, product id and variation id; their unit price is
  `subtotal / quantity`, their discount `subtotal - total`, and their refunded quantity comes
  from the order's refunds (`_refunded_item_id` on each refunded line) when those are given.
- Orders WooCommerce Analytics leaves out by default (`pending`, `failed`, `cancelled`, plus
  `checkout-draft` and `trash`) are kept with `cancelled_at` set (their last change), so they
  count no revenue; `financial_status` keeps WooCommerce's status.
- Guest orders (`customer_id` 0) are keyed to a customer `guest:<lower-cased billing email>`,
  built from the billing address; registered customers keep WooCommerce's user id.
- Where the order went: the shipping address when it has a country, else the billing address.
- Attribution (WooCommerce 8.5+ `_wc_order_attribution_*` meta): `source_type` becomes the
  order's `source_name` (else `created_via`), with `utm_source/medium/campaign`, `referrer`,
  `session_entry` (landing page) and `device_type` (lower-cased); `utm_content`, `utm_term`,
  `session_count` and `session_pages` are kept as JSON in `note_attributes`.
- Products: `status` publish -> active, private -> archived, anything else -> draft; the first
  category is the product type, tags are joined with ", ". A variable product's variations are
  its variants; every other purchasable product (simple, external, ...) gets one variant with
  the product's own id, price and stock, so order lines of simple products link to a variant
  too (line variant id = `variation_id`, or `product_id` when 0). A payload of type
  `variation` (what `product.*` webhooks send for variations) is a variant of `parent_id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from cvo_plugin.records import (
    CustomerRecord,
    LineRecord,
    OrderBundle,
    OrderRecord,
    ProductRecord,
    VariantRecord,
)

CENT = Decimal("0.01")
ATTRIBUTION_PREFIX = "_wc_order_attribution_"
NOT_COUNTED_STATUSES = frozenset({"pending", "failed", "cancelled", "checkout-draft", "trash"})
NO_OWN_VARIANT_TYPES = frozenset({"variable", "grouped"})
_EXTRA_ATTRIBUTION = ("utm_content", "utm_term", "session_count", "session_pages")
_PRODUCT_STATUS = {"publish": "active", "private": "archived"}
Json = Mapping[str, Any]


class MappingError(ValueError):
    """A payload that is not a WooCommerce resource of the expected shape."""


# --- values ------------------------------------------------------------------------------------


def parse_gmt(value: Any) -> datetime | None:
    """A `*_gmt` field (`YYYY-MM-DDTHH:MM:SS`, UTC without offset) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MappingError(f"expected a date string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"not an ISO 8601 date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_gmt(value: datetime) -> str:
    """A UTC time as WooCommerce's `modified_after` expects it with `dates_are_gmt=true`."""
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def money(value: Any) -> Decimal | None:
    """A money string or number (`"12.50"`, `12.5`, `""`) as `Decimal`, or None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingError(f"expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise MappingError(f"not an amount: {value!r}")
    return amount


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _id(resource: Any, what: str) -> str:
    if not isinstance(resource, Mapping):
        raise MappingError(f"a {what} must be a JSON object")
    value = resource.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise MappingError(f"a {what} needs a numeric id")
    if int(value) <= 0:
        raise MappingError(f"a {what} needs a positive id")
    return str(int(value))


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise MappingError(f"{what} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MappingError(f"{what} must be a whole number, not {value!r}") from None


def _list(resource: Json, key: str) -> list[Any]:
    value = resource.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{key} must be a list")
    return value


def _dict(resource: Json, key: str) -> Json:
    value = resource.get(key)
    return value if isinstance(value, Mapping) else {}


def meta_values(resource: Json) -> dict[str, Any]:
    """`meta_data` as a dict (the last value of a repeated key wins)."""
    values: dict[str, Any] = {}
    for entry in _list(resource, "meta_data"):
        if isinstance(entry, Mapping) and isinstance(entry.get("key"), str):
            values[entry["key"]] = entry.get("value")
    return values


def guest_customer_id(email: str | None) -> str | None:
    """The customer key of a guest: `guest:` + the lower-cased billing e-mail."""
    email = _text(email)
    return f"guest:{email.lower()}" if email else None


def _location(address: Json) -> tuple[str | None, str | None, str | None]:
    return _text(address.get("country")), _text(address.get("state")), _text(address.get("city"))


# --- orders --------------------------------------------------------------------------------------


def refunded_quantities(refunds: Iterable[Json], line_items: Sequence[Json]) -> dict[str, int]:
    """Units refunded per order line id, from `GET orders/<id>/refunds`.

    Each refund line names the line it refunds in its `_refunded_item_id` meta; a refund line
    without it is matched to the first order line with the same product and variation.
    """
    by_product: dict[tuple[int, int], str] = {}
    for item in line_items:
        key = (int(item.get("product_id") or 0), int(item.get("variation_id") or 0))
        by_product.setdefault(key, str(item.get("id")))
    quantities: dict[str, int] = {}
    for refund in refunds:
        for item in _list(refund, "line_items"):
            units = abs(_int(item.get("quantity") or 0, "a refunded quantity"))
            if not units:
                continue
            target = _text(meta_values(item).get("_refunded_item_id"))
            if target is None:
                key = (int(item.get("product_id") or 0), int(item.get("variation_id") or 0))
                target = by_product.get(key)
            if target is not None:
                quantities[target] = quantities.get(target, 0) + units
    return quantities


def order_bundle(order: Json, refunds: Sequence[Json] | None = None) -> OrderBundle:
    """An order with its lines (and, for a guest, its customer); `refunds` are the order's
    `orders/<id>/refunds` objects when fetched (they give refunded quantities per line)."""
    order_id = _id(order, "order")
    created = parse_gmt(order.get("date_created_gmt")) or parse_gmt(order.get("date_modified_gmt"))
    if created is None:
        raise MappingError(f"order {order_id} has no date_created_gmt")
    updated = parse_gmt(order.get("date_modified_gmt"))
    status = _text(order.get("status"))
    billing, shipping = _dict(order, "billing"), _dict(order, "shipping")
    email = _text(billing.get("email"))
    customer_id = _int(order.get("customer_id") or 0, "customer_id")
    customer: CustomerRecord | None = None
    if customer_id > 0:
        customer_key: str | None = str(customer_id)
    else:
        customer_key = guest_customer_id(email)
        if customer_key is not None:
            customer = _guest_customer(customer_key, billing, shipping, updated)

    items = [item for item in _list(order, "line_items") if isinstance(item, Mapping)]
    refunded = refunded_quantities(refunds or (), items)
    lines = tuple(_line(order_id, item, refunded) for item in items)
    gross = sum((money(item.get("subtotal")) or Decimal(0) for item in items), Decimal(0))
    refund_total = sum(
        (abs(money(r.get("total")) or Decimal(0)) for r in _list(order, "refunds") if isinstance(r, Mapping)),
        Decimal(0),
    )
    codes = [_text(c.get("code")) for c in _list(order, "coupon_lines") if isinstance(c, Mapping)]
    country, province, city = _location(shipping if _text(shipping.get("country")) else billing)
    meta = meta_values(order)

    def attribution(name: str) -> str | None:
        return _text(meta.get(ATTRIBUTION_PREFIX + name))

    extra = {name: attribution(name) for name in _EXTRA_ATTRIBUTION if attribution(name) is not None}
    device = attribution("device_type")
    number = _text(order.get("number")) or order_id
    record = OrderRecord(
        platform_id=order_id,
        created_at=created,
        name=f"#{number}",
        customer_platform_id=customer_key,
        email=email,
        processed_at=parse_gmt(order.get("date_paid_gmt")),
        updated_at=updated,
        cancelled_at=(updated or created) if status in NOT_COUNTED_STATUSES else None,
        financial_status=status,
        currency=_text(order.get("currency")),
        gross=gross,
        discounts=money(order.get("discount_total")) or Decimal(0),
        refunds=refund_total,
        shipping=money(order.get("shipping_total")),
        tax=money(order.get("total_tax")),
        total=money(order.get("total")),
        discount_codes=",".join(c for c in codes if c) or None,
        source_name=attribution("source_type") or _text(order.get("created_via")),
        referrer=attribution("referrer"),
        landing_page=attribution("session_entry"),
        utm_source=attribution("utm_source"),
        utm_medium=attribution("utm_medium"),
        utm_campaign=attribution("utm_campaign"),
        device_type=device.lower() if device else None,
        country=country,
        province=province,
        city=city,
        note_attributes=json.dumps(extra, sort_keys=True) if extra else None,
    )
    return OrderBundle(record, lines, customer)


def _line(order_id: str, item: Json, refunded: Mapping[str, int]) -> LineRecord:
    line_id = _id(item, "line item")
    quantity = _int(item.get("quantity"), f"line {line_id} quantity")
    subtotal = money(item.get("subtotal")) or Decimal(0)
    total = money(item.get("total"))
    total = subtotal if total is None else total
    unit_price = (subtotal / quantity).quantize(CENT, ROUND_HALF_UP) if quantity else Decimal(0)
    product_id = _int(item.get("product_id") or 0, "product_id")
    variation_id = _int(item.get("variation_id") or 0, "variation_id")
    return LineRecord(
        order_platform_id=order_id,
        product_platform_id=str(product_id) if product_id else None,
        quantity=quantity,
        unit_price=unit_price,
        platform_id=line_id,
        variant_platform_id=str(variation_id or product_id) if product_id else None,
        sku=_text(item.get("sku")),
        title=_text(item.get("name")),
        discount=subtotal - total,
        refunded_quantity=min(refunded.get(line_id, 0), max(quantity, 0)),
    )


def _guest_customer(key: str, billing: Json, shipping: Json, updated: datetime | None) -> CustomerRecord:
    country, province, city = _location(billing if _text(billing.get("country")) else shipping)
    return CustomerRecord(
        platform_id=key,
        email=_text(billing.get("email")),
        first_name=_text(billing.get("first_name")),
        last_name=_text(billing.get("last_name")),
        phone=_text(billing.get("phone")),
        country=country,
        province=province,
        city=city,
        updated_at=updated,
    )


# --- customers -----------------------------------------------------------------------------------


def customer_record(customer: Json) -> CustomerRecord:
    """A registered customer (`GET customers`, `customer.*` webhooks)."""
    customer_id = _id(customer, "customer")
    billing, shipping = _dict(customer, "billing"), _dict(customer, "shipping")
    country, province, city = _location(billing if _text(billing.get("country")) else shipping)
    return CustomerRecord(
        platform_id=customer_id,
        email=_text(customer.get("email")) or _text(billing.get("email")),
        first_name=_text(customer.get("first_name")) or _text(billing.get("first_name")),
        last_name=_text(customer.get("last_name")) or _text(billing.get("last_name")),
        phone=_text(billing.get("phone")),
        country=country,
        province=province,
        city=city,
        created_at=parse_gmt(customer.get("date_created_gmt")),
        updated_at=parse_gmt(customer.get("date_modified_gmt")),
    )


# --- products ------------------------------------------------------------------------------------


def is_variation(product: Json) -> bool:
    """Whether a `product.*` payload is a variation."""
    return product.get("type") == "variation"


def is_variable(product: Json) -> bool:
    """Whether a product has variations (fetched from `products/<id>/variations`)."""
    return product.get("type") == "variable"


def product_records(
    product: Json, variations: Sequence[Json] | None = None
) -> tuple[ProductRecord | None, list[VariantRecord]]:
    """A product and its variants (see the module doc); a variation payload gives only a variant."""
    product_id = _id(product, "product")
    if is_variation(product):
        parent = _int(product.get("parent_id") or 0, "parent_id")
        if parent <= 0:
            raise MappingError(f"variation {product_id} has no parent_id")
        return None, [variant_record(product, str(parent))]
    images = [i for i in _list(product, "images") if isinstance(i, Mapping)]
    categories = [_text(c.get("name")) for c in _list(product, "categories") if isinstance(c, Mapping)]
    tags = [_text(t.get("name")) for t in _list(product, "tags") if isinstance(t, Mapping)]
    brands = [_text(b.get("name")) for b in _list(product, "brands") if isinstance(b, Mapping)]
    status = _text(product.get("status"))
    record = ProductRecord(
        platform_id=product_id,
        title=_text(product.get("name")),
        handle=_text(product.get("slug")),
        product_type=next((c for c in categories if c), None),
        vendor=next((b for b in brands if b), None),
        status=_PRODUCT_STATUS.get(status or "", "draft"),
        published=status == "publish" and product.get("catalog_visibility", "visible") != "hidden",
        tags=", ".join(t for t in tags if t) or None,
        image_url=_text(images[0].get("src")) if images else None,
        url=_text(product.get("permalink")),
        created_at=parse_gmt(product.get("date_created_gmt")),
        updated_at=parse_gmt(product.get("date_modified_gmt")),
    )
    if is_variable(product):
        variants = [variant_record(v, product_id) for v in variations or ()]
    elif product.get("type") in NO_OWN_VARIANT_TYPES:
        variants = []
    else:
        variants = [variant_record(product, product_id, own=True)]
    return record, variants


def variant_record(variant: Json, product_id: str, own: bool = False) -> VariantRecord:
    """A variation of `product_id`, or (`own`) the purchasable unit of a simple product."""
    variant_id = _id(variant, "variation")
    price = money(variant.get("price"))
    regular = money(variant.get("regular_price"))
    on_sale = bool(variant.get("on_sale")) and regular is not None and price is not None and regular > price
    image = variant.get("image")
    if not isinstance(image, Mapping):
        images = [i for i in _list(variant, "images") if isinstance(i, Mapping)]
        image = images[0] if images else {}
    options = [
        _text(a.get("option")) for a in _list(variant, "attributes") if isinstance(a, Mapping) and not own
    ]
    status = _text(variant.get("status"))
    available = (
        variant.get("stock_status") != "outofstock"
        and variant.get("purchasable", True) is not False
        and status in (None, "publish")
    )
    return VariantRecord(
        platform_id=variant_id,
        product_platform_id=product_id,
        title=" / ".join(o for o in options if o) or None,
        sku=_text(variant.get("sku")),
        price=price,
        compare_at_price=regular if on_sale else None,
        inventory_quantity=(
            _int(variant["stock_quantity"], "stock_quantity")
            if variant.get("manage_stock") in (True, "parent") and variant.get("stock_quantity") is not None
            else None
        ),
        available=available,
        image_url=_text(image.get("src")),
        updated_at=parse_gmt(variant.get("date_modified_gmt")),
    )
