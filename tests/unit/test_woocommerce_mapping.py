"""WooCommerce JSON -> records, on recorded-style payloads whose values are checked by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.woocommerce.mapping import (
    MappingError,
    customer_record,
    format_gmt,
    order_bundle,
    parse_gmt,
    product_records,
)
from cvo_plugin.records import CustomerRecord, LineRecord, ProductRecord, VariantRecord
from tests.conftest import DATA

FOLDER = DATA / "woocommerce"


def load(name: str) -> Any:
    return json.loads((FOLDER / name).read_text())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_dates_are_read_from_the_gmt_fields_and_written_back_for_modified_after() -> None:
    assert parse_gmt("2025-03-22T16:08:12") == utc("2025-03-22T16:08:12")
    assert parse_gmt("2025-03-22T18:08:12+02:00") == utc("2025-03-22T16:08:12")
    assert parse_gmt(None) is None and parse_gmt("") is None
    assert format_gmt(datetime(2025, 3, 22, 18, 8, 12, 999, tzinfo=UTC)) == "2025-03-22T18:08:12"


def test_an_order_with_coupons_refunds_attribution_and_a_guest() -> None:
    bundle = order_bundle(load("order.json"), load("refunds.json"))
    order = bundle.order
    assert order.platform_id == "727" and order.name == "#727"
    assert (order.created_at, order.updated_at, order.processed_at) == (
        utc("2025-03-22T16:08:12"),
        utc("2025-03-25T08:01:44"),
        utc("2025-03-22T16:09:00"),
    )
    assert (order.financial_status, order.cancelled_at, order.currency) == ("completed", None, "EUR")
    # gross = 6.00 + 35.00 + 0.00; refunds = 10.53 + 2.70
    assert (order.gross, order.discounts, order.refunds) == (
        Decimal("41.00"),
        Decimal("4.00"),
        Decimal("13.23"),
    )
    assert (order.shipping, order.tax, order.total) == (Decimal("10.00"), Decimal("7.20"), Decimal("53.20"))
    assert order.discount_codes == "spring10,welcome"
    assert (order.source_name, order.referrer, order.landing_page) == (
        "utm",
        "https://www.google.com/",
        "https://shop.example.com/shop/",
    )
    assert (order.utm_source, order.utm_medium, order.utm_campaign, order.device_type) == (
        "google",
        "cpc",
        "spring-sale",
        "mobile",
    )
    assert json.loads(order.note_attributes or "") == {
        "session_count": "2",
        "session_pages": "5",
        "utm_content": "banner-a",
    }
    assert (order.country, order.province, order.city) == ("FR", None, "Paris")  # where it was shipped
    assert order.customer_platform_id == "guest:jane.doe@example.com"
    assert order.email == "Jane.Doe@Example.com"
    assert bundle.customer == CustomerRecord(
        platform_id="guest:jane.doe@example.com",
        email="Jane.Doe@Example.com",
        first_name="Jane",
        last_name="Doe",
        phone="(555) 555-5555",
        country="US",
        province="CA",
        city="San Francisco",
        updated_at=utc("2025-03-25T08:01:44"),
    )
    assert bundle.lines == (
        LineRecord(
            "727",
            "93",
            2,
            Decimal("3.00"),
            "315",
            "93",
            None,
            "Woo Single #1",
            None,
            None,
            Decimal("0.60"),
            1,
        ),
        LineRecord(
            "727",
            "22",
            3,
            Decimal("11.67"),
            "316",
            "23",
            "SYI-BLK-M",
            "Ship Your Idea &ndash; Color: Black, Size: M Test",
            None,
            None,
            Decimal("3.40"),
            1,
        ),
        LineRecord(
            "727",
            None,
            1,
            Decimal("0.00"),
            "317",
            None,
            None,
            "A product deleted since",
            None,
            None,
            Decimal("0.00"),
            0,
        ),
    )


def test_without_its_refunds_an_order_keeps_its_refund_total_but_no_refunded_units() -> None:
    bundle = order_bundle(load("order.json"))
    assert bundle.order.refunds == Decimal("13.23")
    assert [line.refunded_quantity for line in bundle.lines] == [0, 0, 0]


@pytest.mark.parametrize("status", ["pending", "failed", "cancelled", "checkout-draft"])
def test_orders_that_are_not_sales_are_kept_as_cancelled(status: str) -> None:
    order = order_bundle({**load("order.json"), "status": status}).order
    assert order.cancelled_at == utc("2025-03-25T08:01:44") and order.financial_status == status


def test_a_registered_buyer_is_keyed_by_user_id_and_an_order_without_attribution_by_created_via() -> None:
    payload = {**load("order.json"), "customer_id": 25, "meta_data": [], "shipping": {"country": ""}}
    bundle = order_bundle(payload)
    assert bundle.order.customer_platform_id == "25" and bundle.customer is None
    assert bundle.order.source_name == "checkout" and bundle.order.utm_source is None
    assert bundle.order.note_attributes is None
    assert (bundle.order.country, bundle.order.province, bundle.order.city) == ("US", "CA", "San Francisco")


def test_a_variable_product_and_its_variations() -> None:
    payloads = load("products.json")
    product, variants = product_records(payloads["variable"], payloads["variations"])
    assert product == ProductRecord(
        platform_id="22",
        title="Ship Your Idea",
        handle="ship-your-idea-22",
        product_type="Clothing",
        vendor="Woo",
        status="active",
        published=True,
        tags="summer, cotton",
        image_url="https://shop.example.com/wp-content/uploads/T_4_front.jpg",
        url="https://shop.example.com/product/ship-your-idea-22/",
        created_at=utc("2025-01-10T17:22:19"),
        updated_at=utc("2025-03-01T17:22:19"),
    )
    assert variants == [
        VariantRecord(
            "23",
            "22",
            "Black / M",
            "SYI-BLK-M",
            Decimal("9.00"),
            Decimal("12.00"),
            None,
            18,
            True,
            "https://shop.example.com/wp-content/uploads/T_4_black.jpg",
            utc("2025-03-02T17:22:19"),
        ),
        VariantRecord(
            "24", "22", "Green", None, None, None, None, 4, False, None, utc("2025-03-02T17:22:19")
        ),
    ]


def test_a_simple_product_is_its_own_variant_and_a_variation_payload_is_a_variant() -> None:
    payloads = load("products.json")
    product, variants = product_records(payloads["simple"])
    assert product is not None and (product.status, product.published, product.product_type) == (
        "archived",
        False,
        None,
    )
    assert variants == [
        VariantRecord(
            "93",
            "93",
            None,
            "WS1",
            Decimal("3.00"),
            None,
            None,
            None,
            False,
            None,
            utc("2025-01-12T08:00:00"),
        ),
    ]
    product, variants = product_records(payloads["variation_as_product"])
    assert product is None
    assert variants == [
        VariantRecord(
            "23",
            "22",
            "Black / M",
            "SYI-BLK-M",
            Decimal("11.00"),
            Decimal("12.00"),
            None,
            17,
            True,
            "https://shop.example.com/wp-content/uploads/T_4_black.jpg",
            utc("2025-03-04T10:00:00"),
        ),
    ]


def test_a_customer() -> None:
    assert customer_record(load("customer.json")) == CustomerRecord(
        platform_id="25",
        email="john.doe@example.com",
        first_name="John",
        last_name="Doe",
        phone="(555) 555-5555",
        country="US",
        province="CA",
        city="San Francisco",
        created_at=utc("2025-03-21T19:09:28"),
        updated_at=utc("2025-03-21T19:09:30"),
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"id": None}, "numeric id"),
        ({"id": True}, "numeric id"),
        ({"id": -4}, "numeric id"),
        ({"line_items": {"id": 1}}, "line_items must be a list"),
        ({"line_items": [{"id": 9, "quantity": "many"}]}, "quantity must be a whole number"),
        ({"line_items": [{"quantity": 1}]}, "line item needs a numeric id"),
        ({"date_created_gmt": "last tuesday"}, "not an ISO 8601 date"),
        ({"date_created_gmt": None, "date_modified_gmt": None}, "has no date_created_gmt"),
        ({"discount_total": "a lot"}, "not an amount"),
        ({"customer_id": "x"}, "customer_id must be a whole number"),
    ],
)
def test_malformed_orders_are_refused_with_the_reason(change: dict[str, Any], words: str) -> None:
    with pytest.raises(MappingError, match=words):
        order_bundle({**load("order.json"), **change})


def test_malformed_products_are_refused() -> None:
    with pytest.raises(MappingError, match="no parent_id"):
        product_records({"id": 5, "type": "variation"})
    with pytest.raises(MappingError, match="must be a JSON object"):
        product_records([1, 2])  # type: ignore[arg-type]
    with pytest.raises(MappingError, match="not an amount"):
        product_records({"id": 5, "type": "simple", "price": "NaN"})
