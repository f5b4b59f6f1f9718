"""Incremental sync: what changed in a time window, page by page, oldest change first.

Each stream asks for `updated_at:>='since' AND updated_at:<='until'` sorted by `UPDATED_AT`
and follows `pageInfo.endCursor`. The caller freezes `until` (the sync's start), stores each page
with its checkpoint `min(until, newest updated_at seen)` in one transaction, and starts the next
sync from that checkpoint: a resumed sync repeats a few records (upserts make that harmless)
and never skips one. Children beyond the first page (an order's 11th line, a product's 21st
variant) are fetched with their own cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from connectors.shopify.client import GraphQLClient
from connectors.shopify.mapping import (
    customer_from_graphql,
    gid,
    order_from_graphql,
    parse_time,
    product_from_graphql,
)
from cvo_plugin.records import CustomerRecord, OrderBundle, ProductRecord, VariantRecord

T = TypeVar("T")
ProductItem = tuple[ProductRecord, list[VariantRecord]]


def search_time(moment: datetime) -> str:
    """A time as Shopify's search syntax takes it (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_search(since: datetime | None, until: datetime | None) -> str | None:
    """The search for records changed in [since, until] (either end open when None)."""
    parts = []
    if since is not None:
        parts.append(f"updated_at:>='{search_time(since)}'")
    if until is not None:
        parts.append(f"updated_at:<='{search_time(until)}'")
    return " AND ".join(parts) or None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a stream: its records and the newest `updated_at` among them."""

    items: list[T]
    max_updated_at: datetime | None
    has_next: bool


class Stream(Generic[T]):
    """A paged, time-windowed GraphQL connection mapped to records."""

    query_name: str
    connection: str
    page_size: int

    def __init__(self, client: GraphQLClient, page_size: int | None = None) -> None:
        self.client = client
        if page_size is not None:
            self.page_size = page_size

    def pages(self, since: datetime | None, until: datetime | None) -> Iterator[Page[T]]:
        """Every page of records changed in [since, until], oldest change first."""
        after: str | None = None
        search = window_search(since, until)
        while True:
            variables = {"first": self.page_size, "after": after, "query": search}
            connection = self.client.query(self.query_name, variables)[self.connection]
            nodes = connection.get("nodes") or []
            items = [self.item(node) for node in nodes]
            stamps = [t for t in (parse_time(n.get("updatedAt")) for n in nodes) if t is not None]
            info = connection.get("pageInfo") or {}
            has_next = bool(info.get("hasNextPage")) and bool(nodes)
            yield Page(items, max(stamps) if stamps else None, has_next)
            if not has_next:
                return
            after = info.get("endCursor")

    def item(self, node: dict[str, Any]) -> T:
        raise NotImplementedError

    def rest_of(
        self, query_name: str, root: str, connection: str, node_id: str, after: str
    ) -> list[dict[str, Any]]:
        """The children of `node_id` after cursor `after` (an order's lines, a product's variants)."""
        nodes: list[dict[str, Any]] = []
        while True:
            parent = self.client.query(query_name, {"id": node_id, "after": after}).get(root) or {}
            page = parent.get(connection) or {}
            nodes.extend(page.get("nodes") or [])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not page.get("nodes"):
                return nodes
            after = info["endCursor"]

    def children(self, node: dict[str, Any], field: str, query_name: str, root: str) -> list[dict[str, Any]]:
        """All children in `node[field]`, fetching those past its first page."""
        page = node.pop(field, None) or {}
        nodes = list(page.get("nodes") or [])
        info = page.get("pageInfo") or {}
        if info.get("hasNextPage") and nodes:
            nodes.extend(self.rest_of(query_name, root, field, node["id"], info["endCursor"]))
        return nodes


class OrdersStream(Stream[OrderBundle]):
    """Orders with all their lines."""

    query_name = "orders_page"
    connection = "orders"
    page_size = 10  # 10 orders x 10 lines stays under Shopify's 1,000-point query limit

    def item(self, node: dict[str, Any]) -> OrderBundle:
        return order_from_graphql(node, self.children(node, "lineItems", "order_line_items", "order"))

    def by_ids(self, ids: Sequence[str], chunk: int = 5) -> list[OrderBundle]:
        """The orders with these numeric ids (those Shopify no longer has are left out)."""
        bundles = []
        for start in range(0, len(ids), chunk):
            gids = [gid("Order", i) for i in ids[start : start + chunk]]
            for node in self.client.query("orders_by_id", {"ids": gids}).get("nodes") or []:
                if node and node.get("id"):
                    bundles.append(self.item(node))
        return bundles

    def count(self, since: datetime | None, until: datetime | None) -> int:
        """How many orders changed in [since, until]."""
        result: Mapping[str, Any] = self.client.query("orders_count", {"query": window_search(since, until)})
        return int((result.get("ordersCount") or {}).get("count") or 0)


class CustomersStream(Stream[CustomerRecord]):
    """Customers."""

    query_name = "customers_page"
    connection = "customers"
    page_size = 100

    def item(self, node: dict[str, Any]) -> CustomerRecord:
        return customer_from_graphql(node)


class ProductsStream(Stream[ProductItem]):
    """Products with all their variants."""

    query_name = "products_page"
    connection = "products"
    page_size = 12  # 12 products x 20 variants stays under the 1,000-point query limit

    def item(self, node: dict[str, Any]) -> ProductItem:
        return product_from_graphql(node, self.children(node, "variants", "product_variants", "product"))
