"""Bulk operations of the stand-in, as Shopify runs them.

The query is validated against the schema and Shopify's bulk rules (at least one connection, at
most five, connections nested at most two deep, no top-level `node`/`nodes`), then run in a
thread: every object of the root connection becomes one JSON line, without `edges`/`node`
wrappers and with nested objects inline; every item of a nested connection becomes a line of
its own carrying `"__parentId"`. With `groupObjects` the children follow their parent; without
it they come after all roots (one of the orders Shopify allows). The file is served from the
stand-in's own origin; the operation reports `objectCount`, `rootObjectCount`, `fileSize` and
`url`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError

from tests.shopify_standin.api import _arguments, _connection_nodes, _fields, admin_schema
from tests.shopify_standin.render import gid, iso

if TYPE_CHECKING:
    from tests.shopify_standin.api import AdminApi

MAX_CONNECTIONS = 5
MAX_DEPTH = 2
MAX_RUNNING = 5


class BulkQueryError(ValueError):
    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.code = code


def _is_connection(type_: Any) -> bool:
    return get_named_type(type_).name.endswith("Connection")


def _check_rules(document: Any) -> tuple[FieldNode, Any, dict[str, FragmentDefinitionNode]]:
    schema = admin_schema()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        raise BulkQueryError("Bulk queries must contain exactly one query operation")
    roots = _fields(operations[0].selection_set, fragments)
    if len(roots) != 1:
        raise BulkQueryError("Bulk queries must select exactly one top-level field")
    root = roots[0]
    if root.name.value in ("node", "nodes"):
        raise BulkQueryError("The top-level node and nodes fields can't be used in bulk queries")
    definition = schema.query_type.fields[root.name.value]
    if not _is_connection(definition.type):
        raise BulkQueryError("Bulk queries must contain at least one connection")
    count = 0

    def walk(parent: Any, field: FieldNode, depth: int) -> None:
        nonlocal count
        named = get_named_type(parent.fields[field.name.value].type)
        if named.name.endswith("Connection"):
            count += 1
            if depth + 1 > MAX_DEPTH:  # the root connection is the first level
                raise BulkQueryError("Bulk queries cannot nest connections more than two levels deep")
            node_type = get_named_type(named.fields["nodes"].type)
            node_fields = _fields(_connection_nodes(field, fragments), fragments)
            for child in node_fields:
                if hasattr(node_type, "fields") and child.name.value in node_type.fields:
                    walk(node_type, child, depth + 1)
            return
        if not is_leaf_type(named) and hasattr(named, "fields"):
            for child in _fields(field.selection_set, fragments):
                if child.name.value in named.fields:
                    walk(named, child, depth)

    walk(schema.query_type, root, 0)
    if count > MAX_CONNECTIONS:
        raise BulkQueryError(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections")
    return root, definition, fragments


def start_bulk(api: AdminApi, query: str, group: bool) -> dict[str, Any]:
    """Validate a bulk query, register the operation and run it in a thread."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        raise BulkQueryError(f"Invalid bulk query: {exc.message}") from None
    errors = validate(admin_schema(), document)
    if errors:
        raise BulkQueryError("Invalid bulk query: " + "; ".join(e.message for e in errors))
    root, definition, fragments = _check_rules(document)
    with api.lock:
        running = [o for o in api.bulk_ops.values() if o["status"] in ("CREATED", "RUNNING")]
        if len(running) >= MAX_RUNNING:
            raise BulkQueryError(
                "A bulk query operation for this app and shop is already in progress", "OPERATION_IN_PROGRESS"
            )
        number = len(api.bulk_ops) + 1
        op_id = gid("BulkOperation", number)
        now = datetime.now(UTC)
        api.bulk_ops[op_id] = {
            "id": op_id,
            "status": "CREATED",
            "type": "QUERY",
            "query": query,
            "errorCode": None,
            "objectCount": "0",
            "rootObjectCount": "0",
            "fileSize": None,
            "url": None,
            "partialDataUrl": None,
            "createdAt": iso(now),
            "completedAt": None,
        }
    grouped = group if api.bulk_group_override is None else api.bulk_group_override
    cache_key = (query, grouped, api.store.clock)
    if api.reuse_exports and cache_key in api.export_cache:
        # Same query, same data: the same file (benchmarks time the app, not the stand-in).
        with api.lock:
            api.bulk_ops[op_id].update(api.export_cache[cache_key], status="COMPLETED", completedAt=iso(now))
        return {"id": op_id, "status": "COMPLETED"}
    thread = threading.Thread(
        target=_run, args=(api, op_id, number, root, definition, fragments, grouped), daemon=True
    )
    thread.start()
    return {"id": op_id, "status": "CREATED"}


def _run(
    api: AdminApi, op_id: str, number: int, root: FieldNode, definition: Any, fragments: Any, grouped: bool
) -> None:
    with api.lock:
        api.bulk_ops[op_id]["status"] = "RUNNING"
    path = api.bulk_dir / f"bulk-{number}.jsonl"
    try:
        args = _arguments(root, {})
        resource = root.name.value
        items = api.select(resource, args.get("query"), args.get("sortKey"), bool(args.get("reverse")))
        node_type = get_named_type(get_named_type(definition.type).fields["nodes"].type)
        selection = _connection_nodes(root, fragments)
        render = api._node(resource)
        with path.open("w", encoding="utf-8") as out:
            objects = _write(out, (render(i) for i in items), node_type, selection, fragments, grouped)
        # Shopify takes a while: `bulk_delay_s` is read as it goes, so a test can hold exports
        # back for as long as it needs and then let them finish.
        written = time.monotonic()
        while time.monotonic() - written < api.bulk_delay_s:
            time.sleep(0.02)
        size = path.stat().st_size
        with api.lock:
            api.bulk_ops[op_id].update(
                status="COMPLETED",
                objectCount=str(objects),
                rootObjectCount=str(len(items)),
                fileSize=str(size) if objects else None,
                url=f"{api.origin()}/bulk/{path.name}" if objects else None,
                completedAt=iso(datetime.now(UTC)),
            )
            api.finished_bulk.append(dict(api.bulk_ops[op_id]))
            done = api.bulk_ops[op_id]
            key = (done["query"], grouped, api.store.clock)
            api.export_cache[key] = {
                k: done[k] for k in ("objectCount", "rootObjectCount", "fileSize", "url")
            }
    except Exception as exc:  # noqa: BLE001 - the operation reports the failure, like Shopify
        with api.lock:
            api.bulk_ops[op_id].update(status="FAILED", errorCode="INTERNAL_SERVER_ERROR", _error=repr(exc))


def _write(
    out: IO[str], roots: Iterator[dict[str, Any]], type_: Any, selection: Any, fragments: Any, grouped: bool
) -> int:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    later: list[str] = []
    count = 0

    def emit(node: dict[str, Any], node_type: Any, node_selection: Any, parent_id: str | None) -> None:
        nonlocal count
        line, children = _project(node, node_type, node_selection, fragments)
        if parent_id is not None:
            line["__parentId"] = parent_id
        text = dumps(line) + "\n"
        if parent_id is None or grouped:
            out.write(text)
        else:
            later.append(text)
        count += 1
        for items, child_type, child_selection in children:
            for child in items:
                emit(child, child_type, child_selection, node["id"])

    for node in roots:
        emit(node, type_, selection, None)
    out.writelines(later)
    return count


def _project(
    value: dict[str, Any], type_: Any, selection: Any, fragments: Any
) -> tuple[dict[str, Any], list[Any]]:
    """One object's JSON line (nested objects inline) and its nested connections' items."""
    schema = admin_schema()
    if is_abstract_type(type_):
        type_ = schema.get_type(value["__typename"])
    line: dict[str, Any] = {}
    children: list[Any] = []
    for field in _fields(selection, fragments, type_.name):
        name = field.name.value
        key = field.alias.value if field.alias else name
        if name == "__typename":
            line[key] = type_.name
            continue
        definition = type_.fields[name]
        named = get_named_type(definition.type)
        raw = value.get(name)
        if named.name.endswith("Connection"):
            page = raw(None) if callable(raw) else raw
            node_type = get_named_type(named.fields["nodes"].type)
            children.append((page["nodes"], node_type, _connection_nodes(field, fragments)))
            continue
        if callable(raw):
            raw = raw(None, **_arguments(field, {}))
        if raw is None or is_leaf_type(named):
            line[key] = raw
        elif isinstance(raw, list):
            line[key] = [_project(item, named, field.selection_set, fragments)[0] for item in raw]
        else:
            line[key] = _project(raw, named, field.selection_set, fragments)[0]
    return line, children
