"""Bulk exports: the JSONL reader, and the stand-in writing JSONL the way Shopify does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import execute_sync, parse

from connectors.shopify import bulk
from connectors.shopify.client import GraphQLClient
from connectors.shopify.errors import Permanent
from tests.shopify_standin import ShopifyStandIn, Store
from tests.shopify_standin.api import admin_schema

SECRET = "bulk-test-secret-0123456789abcdef"


def jsonl(*objects: dict[str, Any]) -> list[bytes]:
    return [json.dumps(o).encode() + b"\n" for o in objects]


def test_children_are_joined_to_the_parent_they_follow() -> None:
    lines = jsonl(
        {"id": "gid://shopify/Order/1"},
        {"id": "gid://shopify/LineItem/1", "__parentId": "gid://shopify/Order/1"},
        {"id": "gid://shopify/LineItem/2", "__parentId": "gid://shopify/Order/1"},
        {"id": "gid://shopify/Order/2"},
        {"id": "gid://shopify/Order/3"},
        {"id": "gid://shopify/LineItem/3", "__parentId": "gid://shopify/Order/3"},
    )
    joined = [(p["id"][-1], [c["id"][-1] for c in cs]) for p, cs in bulk.read_objects(lines + [b"\n"])]
    assert joined == [("1", ["1", "2"]), ("2", []), ("3", ["3"])]
    assert all("__parentId" not in c for _, cs in bulk.read_objects(lines) for c in cs)
    assert [p["id"][-1] for p, _ in bulk.read_objects(lines, skip_roots=2)] == ["3"]
    assert list(bulk.read_objects(lines, skip_roots=3)) == []


def test_ungrouped_or_broken_files_are_refused_not_half_read() -> None:
    ungrouped = jsonl({"id": "a"}, {"id": "b"}, {"id": "c1", "__parentId": "a"})
    with pytest.raises(Permanent, match="not grouped"):
        list(bulk.read_objects(ungrouped))
    with pytest.raises(Permanent, match="not JSON"):
        list(bulk.read_objects([b'{"id": "a"}\n', b'{"id": \n']))


def _line(number: int, order: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/LineItem/{number}",
        "quantity": 1,
        "__parentId": f"gid://shopify/Order/{order}",
        **fields,
    }


def test_orders_are_decoded_into_their_shapes_and_joined_the_same_way() -> None:
    lines = jsonl(
        {"id": "gid://shopify/Order/1", "email": "a@example.com", "customAttributes": [{"key": "k"}]},
        _line(1, 1, currentQuantity=0),
        _line(2, 1, originalUnitPriceSet={"shopMoney": {"amount": "9.50"}}),
        {"id": "gid://shopify/Order/2", "note": "__parentId"},
        {"id": "gid://shopify/Order/3"},
        _line(3, 3),
    )
    read = list(bulk.read_orders(lines + [b"\n"]))
    assert [(o.id[-1], [c.id[-1] for c in cs]) for o, cs in read] == [
        ("1", ["1", "2"]),
        ("2", []),
        ("3", ["3"]),
    ]
    first, children = read[0]
    assert first.email == "a@example.com" and first.customAttributes[0].value is None
    assert children[0].currentQuantity == 0 and children[1].originalUnitPriceSet.shopMoney.amount == "9.50"
    assert [o.id[-1] for o, _ in bulk.read_orders(lines, skip_roots=2)] == ["3"]
    assert list(bulk.read_orders(lines, skip_roots=3)) == []


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (jsonl({"id": "gid://shopify/Order/1"}, _line(1, 2)), "not grouped"),
        ([b'{"id": "gid://shopify/Order/1"}\n', b'{"id": \n'], "not JSON"),
        (jsonl({"id": "gid://shopify/Order/1", "email": 7}), r"\$\.email"),
        (jsonl({"id": "gid://shopify/Order/1"}, _line(1, 1, quantity="two")), r"\$\.quantity"),
        (jsonl({"name": "#1001"}), "missing required field `id`"),
    ],
)
def test_orders_of_another_shape_or_order_are_refused(lines: list[bytes], message: str) -> None:
    with pytest.raises(Permanent, match=message):
        list(bulk.read_orders(lines))


@pytest.fixture(scope="module")
def standin() -> Iterator[ShopifyStandIn]:
    with ShopifyStandIn(Store.generate(40, seed=8), "key", SECRET, restore_rate=1e6) as s:
        yield s


def _flatten(data: dict[str, Any], resource: str, child: str | None) -> list[dict[str, Any]]:
    """What Shopify's JSONL holds for a regular GraphQL result of the same query."""
    rows = []
    for edge in data[resource]["edges"]:
        node = dict(edge["node"])
        children = node.pop(child)["edges"] if child else []
        rows.append(node)
        rows.extend({**c["node"], "__parentId": node["id"]} for c in children)
    return rows


@pytest.mark.parametrize(
    ("resource", "child"), [("orders", "lineItems"), ("products", "variants"), ("customers", None)]
)
def test_the_bulk_file_holds_what_graphql_returns_for_the_same_query(
    standin: ShopifyStandIn, resource: str, child: str | None
) -> None:
    client = GraphQLClient(standin.store.domain, standin.issue_token(), admin_origin=standin.origin)
    operation = bulk.wait(client, bulk.start(client, resource).id, timeout_s=30, poll_s=0.05)
    assert operation.completed and operation.url and operation.url.startswith(standin.origin)
    with bulk.open_result(operation.url) as lines:
        exported = [json.loads(line) for line in lines]
    document = bulk.bulk_query(resource)
    result = execute_sync(admin_schema(), parse(document), standin.api.root())
    assert result.errors is None
    assert exported == _flatten(result.data, resource, child)
    assert operation.object_count == len(exported)
    assert operation.root_object_count == sum(1 for row in exported if "__parentId" not in row)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('{ node(id: "gid://shopify/Order/1") { id } }', "node and nodes"),
        ("{ shop { name } }", "at least one connection"),
        (
            "{ orders { edges { node { id lineItems { edges { node { id } } } customer { orders { edges "
            "{ node { id lineItems { edges { node { id } } } } } } } } } } }",
            "two levels",
        ),
        ("{ orders { edges { node { nope } } } }", "Invalid bulk query"),
    ],
)
def test_queries_outside_the_bulk_rules_are_refused(
    standin: ShopifyStandIn, query: str, message: str
) -> None:
    answer = standin.api.run_bulk_query(None, query, True)
    assert answer["bulkOperation"] is None and message in answer["userErrors"][0]["message"]


def test_waiting_polls_until_the_export_is_done(standin: ShopifyStandIn) -> None:
    client = GraphQLClient(standin.store.domain, standin.issue_token(), admin_origin=standin.origin)
    standin.api.bulk_delay_s = 0.6
    try:
        started = bulk.start(client, "customers")
        early = bulk.wait(client, started.id, timeout_s=0.1, poll_s=0.05)
        assert early.status in ("CREATED", "RUNNING") and not early.finished
        done = bulk.wait(client, started.id, timeout_s=10, poll_s=0.05)
        assert done.completed and done.root_object_count == len(standin.store.customers)
    finally:
        standin.api.bulk_delay_s = 0.0
