"""The stand-in's Admin GraphQL API: Shopify's real schema executed over the store.

- Documents are validated and executed by graphql-core against the 2026-10 schema, so a field,
  argument or enum the real API lacks fails here as it would there.
- Query cost follows Shopify's published rules: scalars and enums 0, objects 1, connections
  `2 + first x (cost of a node)`, 10 per mutation field; the actual cost counts the nodes returned.
- Mutations: webhook subscriptions, and `tagsAdd` / `tagsRemove` on customers (kept in
  `AdminApi.tag_writes`).
- Root connections page with keyset cursors over their sort key, like Shopify's opaque
  cursors, so records changing between pages are neither skipped nor repeated at random.
- Search (`query:`) understands `updated_at`, `created_at`, `processed_at` and `id` with
  `:`, `:>`, `:>=`, `:<`, `:<=`, quoted or not, joined by `AND` or spaces.
- Bulk operations run in a thread and write JSONL the way Shopify does (see `bulk.py`).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_client_schema,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.type import GraphQLNonNull

from tests.shopify_standin.render import GraphRenderer, connection, gid, iso
from tests.shopify_standin.store import Store

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "shopify" / "admin-schema-2026-10.json.gz"
MAX_QUERY_COST = 1000


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """Shopify's Admin schema 2026-10 (graphql-core's own schema check rejects it: assume valid)."""
    with gzip.open(SCHEMA_PATH) as stream:
        return build_client_schema(json.load(stream)["data"], assume_valid=True)


# --- search syntax ------------------------------------------------------------------------------

_TERM = re.compile(r"(\w+):(>=|<=|>|<)?(?:'([^']*)'|\"([^\"]*)\"|(\S+))")


def _search_value(field: str, text: str) -> Any:
    if field == "id":
        return int(text.rsplit("/", 1)[-1])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def search_filter(query: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for Shopify's search syntax over store objects."""
    if not query:
        return lambda _item: True
    terms = []
    for match in _TERM.finditer(query):
        field, op = match.group(1), match.group(2) or ":"
        if field not in ("updated_at", "created_at", "processed_at", "id"):
            continue
        text = next(g for g in match.group(3, 4, 5) if g is not None)
        terms.append((field, op, _search_value(field, text)))
    compare = {
        ":": lambda a, b: a == b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }

    def matches(item: dict[str, Any]) -> bool:
        for field, op, value in terms:
            have = item.get(field)
            if have is None or not compare[op](have.replace(microsecond=0) if field != "id" else have, value):
                return False
        return True

    return matches


_SORT_KEYS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "UPDATED_AT": lambda o: [iso(o["updated_at"]), o["id"]],
    "CREATED_AT": lambda o: [iso(o["created_at"]), o["id"]],
    "PROCESSED_AT": lambda o: [iso(o.get("processed_at") or o["created_at"]), o["id"]],
    "ID": lambda o: [o["id"]],
}


# --- query cost ---------------------------------------------------------------------------------


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    type_name: str | None = None,
) -> list[FieldNode]:
    """The fields of a selection set with its fragments spread (those matching `type_name`)."""
    found: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            if condition is None or type_name is None or condition == type_name:
                found.extend(_fields(selection.selection_set, fragments, type_name))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if type_name is None or fragment.type_condition.name.value == type_name:
                found.extend(_fields(fragment.selection_set, fragments, type_name))
    return found


def _arguments(field: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments or ()}


def _concrete(named: Any, schema: GraphQLSchema, data: Any) -> Any:
    if is_abstract_type(named) and isinstance(data, dict) and data.get("__typename"):
        return schema.get_type(data["__typename"])
    return named


def selection_cost(
    schema: GraphQLSchema,
    parent: Any,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    data: Any = None,
    requested: bool = True,
) -> float:
    """Shopify's cost of a selection on `parent`: requested (by `first`) or actual (from data)."""
    total = 0.0
    type_name = parent.name if not is_abstract_type(parent) else None
    for field in _fields(selection_set, fragments, type_name if requested else getattr(parent, "name", None)):
        name = field.name.value
        if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
            continue
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            continue
        key = field.alias.value if field.alias else name
        value = None if requested or not isinstance(data, dict) else data.get(key)
        args = _arguments(field, variables)
        if named.name.endswith("Connection") and hasattr(named, "fields"):
            inner_type = get_named_type(named.fields["nodes"].type) if "nodes" in named.fields else None
            inner_sel = _connection_nodes(field, fragments)
            if requested:
                count = args.get("first") or args.get("last") or 0
                total += 2 + count * (1 + selection_cost(schema, inner_type, inner_sel, fragments, variables))
            else:
                nodes = (value or {}).get("nodes") or [
                    e.get("node") for e in (value or {}).get("edges") or []
                ]
                total += 2 + sum(
                    1
                    + selection_cost(
                        schema, _concrete(inner_type, schema, n), inner_sel, fragments, variables, n, False
                    )
                    for n in nodes
                )
            continue
        if requested:
            repeat = len(args.get("ids") or ()) if name == "nodes" else 1
            total += repeat * (1 + selection_cost(schema, named, field.selection_set, fragments, variables))
        else:
            items = value if isinstance(value, list) else [value] if value is not None else []
            if is_list_type(_unwrap_non_null(definition.type)) and name != "nodes":
                items = items[:1]  # lists of objects cost as one object
            for item in items:
                total += 1 + selection_cost(
                    schema,
                    _concrete(named, schema, item),
                    field.selection_set,
                    fragments,
                    variables,
                    item,
                    False,
                )
    return total


def _unwrap_non_null(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _connection_nodes(field: FieldNode, fragments: dict[str, FragmentDefinitionNode]) -> SelectionSetNode:
    """The selection applied to each node of a connection (`nodes { }` and `edges { node { } }`)."""
    selections: list[Any] = []
    for child in _fields(field.selection_set, fragments):
        if child.name.value == "nodes" and child.selection_set:
            selections.extend(child.selection_set.selections)
        elif child.name.value == "edges":
            for grandchild in _fields(child.selection_set, fragments):
                if grandchild.name.value == "node" and grandchild.selection_set:
                    selections.extend(grandchild.selection_set.selections)
    return SelectionSetNode(selections=tuple(selections))


def operation_cost(
    schema: GraphQLSchema,
    document: Any,
    variables: dict[str, Any],
    operation_name: str | None,
    data: Any = None,
) -> float:
    """The requested (data None) or actual cost of the document's operation."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if o.name and o.name.value == operation_name), operations[0])
    if operation.operation.value == "mutation":
        return 10.0 * max(len(_fields(operation.selection_set, fragments)), 1)  # 10 per mutation field
    root = schema.query_type
    return selection_cost(schema, root, operation.selection_set, fragments, variables, data, data is None)


# --- the API ------------------------------------------------------------------------------------


class AdminApi:
    """Root values over one store, bulk operations and webhook subscriptions."""

    def __init__(self, store: Store, scopes: list[str], bulk_dir: Path, origin: Callable[[], str]) -> None:
        self.store = store
        self.render = GraphRenderer(store)
        self.scopes = scopes
        self.bulk_dir = bulk_dir
        self.origin = origin
        self.bulk_ops: dict[str, dict[str, Any]] = {}
        self.bulk_delay_s = 0.0
        self.bulk_group_override: bool | None = None
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.finished_bulk: list[dict[str, Any]] = []
        self.reuse_exports = False
        self.export_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.tag_writes: list[tuple[int, str, tuple[str, ...]]] = []

    # --- collections ------------------------------------------------------------------------

    def _items(self, resource: str) -> list[dict[str, Any]]:
        if resource == "orders":
            return list(self.store.orders.values())
        if resource == "customers":
            return list(self.store.customers.values())
        return list(self.store.products.values())

    def _node(self, resource: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return {
            "orders": self.render.order,
            "customers": self.render.customer,
            "products": self.render.product,
        }[resource]

    def select(
        self, resource: str, query: str | None, sort_key: str | None, reverse: bool
    ) -> list[dict[str, Any]]:
        """The store's objects matching a search, in the connection's order."""
        key = _SORT_KEYS.get(sort_key or "ID", _SORT_KEYS["ID"])
        with self.lock:
            items = [i for i in self._items(resource) if search_filter(query)(i)]
        items.sort(key=key, reverse=bool(reverse))
        return items

    def _root_connection(self, resource: str) -> Callable[..., dict[str, Any]]:
        def resolve(_info: Any = None, **args: Any) -> dict[str, Any]:
            sort_key = args.get("sortKey") or "ID"
            reverse = bool(args.get("reverse"))
            items = self.select(resource, args.get("query"), sort_key, reverse)
            key = _SORT_KEYS.get(sort_key, _SORT_KEYS["ID"])
            if reverse:
                # Keyset comparisons run on the reversed order: negate nothing, just page the list.
                indexed = list(enumerate(items))
                return connection(
                    indexed,
                    lambda p: self._node(resource)(p[1]),
                    lambda p: [p[0]],
                    args.get("first"),
                    args.get("after"),
                    args.get("last"),
                    args.get("before"),
                )
            return connection(
                items,
                self._node(resource),
                key,
                args.get("first"),
                args.get("after"),
                args.get("last"),
                args.get("before"),
            )

        return resolve

    def _by_gid(self, value: str) -> dict[str, Any] | None:
        match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)", value or "")
        if not match:
            return None
        kind, number = match.group(1), int(match.group(2))
        if kind == "Order" and number in self.store.orders:
            return self.render.order(self.store.orders[number])
        if kind == "Customer" and number in self.store.customers:
            return self.render.customer(self.store.customers[number])
        if kind == "Product" and number in self.store.products:
            return self.render.product(self.store.products[number])
        if kind == "BulkOperation" and value in self.bulk_ops:
            return self.bulk_node(value)
        return None

    # --- root -------------------------------------------------------------------------------

    def root(self) -> dict[str, Any]:
        """The root value for queries and mutations."""
        shop = self.store.shop
        return {
            "orders": self._root_connection("orders"),
            "customers": self._root_connection("customers"),
            "products": self._root_connection("products"),
            "ordersCount": lambda _info=None, query=None, **_: {
                "count": len(self.select("orders", query, None, False)),
                "precision": "EXACT",
            },
            "order": lambda _info=None, id=None: self._by_gid(id) if "/Order/" in (id or "") else None,
            "product": lambda _info=None, id=None: self._by_gid(id) if "/Product/" in (id or "") else None,
            "customer": lambda _info=None, id=None: self._by_gid(id) if "/Customer/" in (id or "") else None,
            "node": lambda _info=None, id=None: self._by_gid(id),
            "nodes": lambda _info=None, ids=(): [self._by_gid(i) for i in ids],
            "shop": {
                "id": gid("Shop", shop["id"]),
                "name": shop["name"],
                "myshopifyDomain": shop["domain"],
                "currencyCode": shop["currency"],
                "ianaTimezone": shop["timezone"],
            },
            "currentAppInstallation": {
                "id": gid("AppInstallation", 1),
                "accessScopes": [{"handle": s} for s in self.scopes],
            },
            "bulkOperation": lambda _info=None, id=None: self.bulk_node(id) if id in self.bulk_ops else None,
            "bulkOperationRunQuery": self.run_bulk_query,
            "webhookSubscriptions": self._subscriptions,
            "webhookSubscriptionCreate": self._create_subscription,
            "webhookSubscriptionUpdate": self._update_subscription,
            "tagsAdd": lambda _info, id, tags: self._tags(id, tags, add=True),
            "tagsRemove": lambda _info, id, tags: self._tags(id, tags, add=False),
        }

    # --- tags -------------------------------------------------------------------------------

    def _tags(self, gid_value: str, tags: list[str] | str, add: bool) -> dict[str, Any]:
        """`tagsAdd` / `tagsRemove` on a customer (the only taggable object the app writes)."""
        names = [t.strip() for t in (tags.split(",") if isinstance(tags, str) else tags) if t.strip()]
        match = re.fullmatch(r"gid://shopify/Customer/(\d+)", gid_value or "")
        customer = self.store.customers.get(int(match.group(1))) if match else None
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        if not names:
            return {"node": None, "userErrors": [{"field": ["tags"], "message": "Tags can't be blank"}]}
        current = set(customer["tags"])
        updated = current | set(names) if add else current - set(names)
        if updated != current:
            self.store.update_customer(customer["id"], tags=sorted(updated))
        self.tag_writes.append((customer["id"], "add" if add else "remove", tuple(names)))
        return {"node": self.render.customer(customer), "userErrors": []}

    # --- webhook subscriptions --------------------------------------------------------------

    def _subscriptions(self, _info: Any = None, **args: Any) -> dict[str, Any]:
        items = sorted(self.subscriptions.values(), key=lambda s: s["n"])
        return connection(
            items, self._subscription_node, lambda s: [s["n"]], args.get("first"), args.get("after")
        )

    def _subscription_node(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {"id": sub["id"], "topic": sub["topic"], "uri": sub["uri"], "format": "JSON"}

    def _create_subscription(
        self, _info: Any, topic: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or ""
        if not uri.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return {
                "webhookSubscription": None,
                "userErrors": [{"field": ["uri"], "message": "Address is invalid"}],
            }
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions.values()):
            message = "Address for this topic has already been taken"
            return {"webhookSubscription": None, "userErrors": [{"field": ["uri"], "message": message}]}
        n = len(self.subscriptions) + 1
        sub = {"n": n, "id": gid("WebhookSubscription", n), "topic": topic, "uri": uri}
        self.subscriptions[sub["id"]] = sub
        return {"webhookSubscription": self._subscription_node(sub), "userErrors": []}

    def _update_subscription(
        self, _info: Any, id: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        sub = self.subscriptions.get(id)
        if sub is None:
            return {"userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        sub["uri"] = webhookSubscription.get("uri") or sub["uri"]
        return {"userErrors": []}

    def subscribed(self, topic: str) -> str | None:
        """The URI subscribed to a header topic (`orders/create`), or None."""
        enum = topic.replace("/", "_").upper()
        return next((s["uri"] for s in self.subscriptions.values() if s["topic"] == enum), None)

    # --- bulk operations --------------------------------------------------------------------

    def bulk_node(self, op_id: str) -> dict[str, Any]:
        with self.lock:
            op = dict(self.bulk_ops[op_id])
        return {key: value for key, value in op.items() if not key.startswith("_")}

    def run_bulk_query(self, _info: Any, query: str, groupObjects: bool) -> dict[str, Any]:  # noqa: N803
        from tests.shopify_standin.bulk import BulkQueryError, start_bulk

        try:
            return {"bulkOperation": start_bulk(self, query, groupObjects), "userErrors": []}
        except BulkQueryError as exc:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["query"], "message": str(exc), "code": exc.code}],
            }
