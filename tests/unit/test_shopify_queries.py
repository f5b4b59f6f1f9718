"""Every GraphQL document the connector sends is valid on Shopify's Admin schema 2026-10, uses no
deprecated field, stays under Shopify's 1,000-point query cost, and the bulk queries keep to
Shopify's bulk rules."""

from __future__ import annotations

import pytest
from graphql import parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule

from connectors.shopify.bulk import NESTED, RESOURCES, bulk_query
from connectors.shopify.client import document_names, load_document
from connectors.shopify.streams import CustomersStream, OrdersStream, ProductsStream, window_search
from tests.shopify_standin.api import MAX_QUERY_COST, admin_schema, operation_cost
from tests.shopify_standin.bulk import _check_rules

RULES = [*specified_rules, NoDeprecatedCustomRule]


def errors_of(document: str) -> list[str]:
    return [e.message for e in validate(admin_schema(), parse(document), RULES)]


@pytest.mark.parametrize("name", document_names())
def test_every_document_validates_without_deprecated_fields(name: str) -> None:
    assert errors_of(load_document(name)) == []


def test_the_deprecation_rule_is_really_applied() -> None:
    assert any("deprecated" in e for e in errors_of("{ orders(first: 1) { nodes { id totalPrice } } }"))
    assert any("Cannot query field" in e for e in errors_of("{ orders(first: 1) { nodes { id nope } } }"))


def test_the_documents_cover_every_query_the_connector_sends() -> None:
    names = set(document_names())
    assert {
        "orders_page",
        "customers_page",
        "products_page",
        "bulk_run",
        "bulk_status",
        "shop",
        "webhook_subscription_create",
        "bulk/orders",
        "bulk/customers",
        "bulk/products",
    } <= names


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("orders_page", {"first": OrdersStream.page_size}),
        ("customers_page", {"first": CustomersStream.page_size}),
        ("products_page", {"first": ProductsStream.page_size}),
        ("order_line_items", {"id": "gid://shopify/Order/1"}),
        ("product_variants", {"id": "gid://shopify/Product/1"}),
        ("orders_by_id", {"ids": [f"gid://shopify/Order/{i}" for i in range(5)]}),
        ("webhook_subscriptions", {}),
    ],
)
def test_page_sizes_keep_each_query_under_the_cost_limit(name: str, variables: dict) -> None:
    cost = operation_cost(admin_schema(), parse(load_document(name)), variables, None)
    assert 0 < cost <= MAX_QUERY_COST


@pytest.mark.parametrize("resource", RESOURCES)
def test_bulk_queries_keep_to_shopifys_bulk_rules(resource: str) -> None:
    for search in (None, window_search(None, None), "updated_at:>='2026-01-01T00:00:00Z'"):
        document = bulk_query(resource, search)
        assert errors_of(document) == []
        root, _, _ = _check_rules(parse(document))
        assert root.name.value == resource
        assert ("lineItems" in document or "variants" in document) == (resource in NESTED)
        assert "first:" not in document and "..." not in document  # whole connections, no fragments


@pytest.mark.parametrize("removes", [(True,), (False,), tuple(i % 3 != 0 for i in range(25))])
def test_the_segment_tag_batches_validate_and_stay_under_the_cost_limit(removes: tuple[bool, ...]) -> None:
    from connectors.shopify.tags import BATCH, batch_document

    document = batch_document(removes)
    assert errors_of(document) == []
    assert len(removes) <= BATCH
    cost = operation_cost(admin_schema(), parse(document), {}, "CustomerSegmentTagsBatch")
    assert cost == 10 * (len(removes) + sum(removes)) <= MAX_QUERY_COST
