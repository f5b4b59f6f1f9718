"""Bulk exports: `bulkOperationRunQuery`, waiting for the result, and streaming its JSONL.

Shopify writes a bulk result as JSON Lines: one object per line, and the items of a nested
connection (an order's line items, a product's variants) as lines of their own that carry
`"__parentId": "<gid of the parent>"`, without `edges`/`node` wrappers. Exports with nested
connections are started with `groupObjects: true`, so each parent's children follow it: the
reader then joins them in one pass holding one parent at a time, whatever the file's size.

A resumed import skips the root objects an earlier run already stored (`skip_roots`) without
parsing them.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import orjson

from connectors.shopify.client import NETWORK_ERRORS, GraphQLClient, load_document
from connectors.shopify.errors import Permanent, Transient

# Exports whose query nests a connection: their children must follow their parent.
NESTED = frozenset({"orders", "products"})
RESOURCES = ("products", "customers", "orders")
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
_PARENT_KEY = b'"__parentId"'

# orjson parses the large result files several times faster than the standard library.
loads: Callable[[bytes], Any] = orjson.loads


@dataclass(frozen=True)
class BulkOperation:
    """Where a bulk export stands."""

    id: str
    status: str
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    url: str | None = None
    partial_data_url: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def completed(self) -> bool:
        return self.status == "COMPLETED"


def bulk_query(resource: str, search: str | None = None) -> str:
    """The bulk query of `resource`, limited to a search (`updated_at:>='...'`) when given."""
    document = load_document(f"bulk/{resource}")
    if search:
        head = f"{resource} {{"
        if head not in document:  # pragma: no cover - a document edited out of shape
            raise ValueError(f"bulk/{resource} does not open with `{head}`")
        document = document.replace(head, f"{resource}(query: {json.dumps(search)}) {{", 1)
    return document


def _operation(node: dict[str, Any]) -> BulkOperation:
    return BulkOperation(
        id=node["id"],
        status=node.get("status") or "CREATED",
        error_code=node.get("errorCode"),
        object_count=int(node.get("objectCount") or 0),
        root_object_count=int(node.get("rootObjectCount") or 0),
        url=node.get("url"),
        partial_data_url=node.get("partialDataUrl"),
    )


def start(client: GraphQLClient, resource: str, search: str | None = None) -> BulkOperation:
    """Start the bulk export of `resource`; `Permanent` when Shopify refuses it."""
    data = client.query(
        "bulk_run", {"query": bulk_query(resource, search), "groupObjects": resource in NESTED}
    )
    payload = data.get("bulkOperationRunQuery") or {}
    errors = payload.get("userErrors") or []
    if errors:
        text = "; ".join(str(e.get("message")) for e in errors)
        if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
            raise Transient(f"Shopify is still running another export: {text}")
        raise Permanent(f"Shopify refused the {resource} export: {text}")
    if not payload.get("bulkOperation"):
        raise Permanent(f"Shopify did not start the {resource} export")
    return _operation(payload["bulkOperation"])


def fetch(client: GraphQLClient, operation_id: str) -> BulkOperation:
    """The current state of a bulk export."""
    node = client.query("bulk_status", {"id": operation_id}).get("bulkOperation")
    if not node:
        raise Permanent(f"Shopify no longer knows the export {operation_id}")
    return _operation(node)


def wait(
    client: GraphQLClient,
    operation_id: str,
    *,
    timeout_s: float,
    poll_s: float = 0.5,
    max_poll_s: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BulkOperation:
    """Poll the export until it finishes or `timeout_s` passes; return its last state."""
    deadline = clock() + timeout_s
    delay = poll_s
    while True:
        operation = fetch(client, operation_id)
        remaining = deadline - clock()
        if operation.finished or remaining <= 0:
            return operation
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_poll_s)


@contextmanager
def open_result(url: str, timeout: float = 60.0) -> Iterator[Iterator[bytes]]:
    """The result file's lines, streamed. Its URL is signed: no token is sent with it.

    A connection lost part-way raises `Transient` (the import resumes from its checkpoint).
    """
    request = urllib.request.Request(url, headers={"Accept": "application/jsonl"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (403, 404, 410):
            raise Permanent(f"the export's result file is gone ({exc.code}); start a new export") from None
        raise Transient(f"the export's result file could not be read ({exc.code})") from None
    except NETWORK_ERRORS as exc:
        raise Transient(f"the export's result file could not be read ({exc})") from None
    with response:
        yield _lines(response)


def _lines(stream: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The file's lines (without their newline), read a megabyte at a time."""
    count = 0

    def lost(reason: str) -> Transient:
        return Transient(
            f"the export's result file could not be read: the connection was lost after "
            f"{count:,} lines ({reason})"
        )

    rest = b""
    try:
        while chunk := stream.read1(chunk_size):  # type: ignore[attr-defined]
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            count += len(lines)
            yield from lines
    except NETWORK_ERRORS as exc:
        raise lost(type(exc).__name__) from None
    if getattr(stream, "length", None):  # announced bytes that never came
        raise lost("the file ended early" if not rest else "a line was cut short")
    if rest:  # a last line without its newline, complete: every announced byte came
        count += 1
        yield rest


def _skip_roots(lines: Iterator[bytes], count: int) -> Iterator[bytes]:
    """The lines after the first `count` roots and their children, found without parsing."""
    roots = 0
    for raw in lines:
        if not raw.strip() or _PARENT_KEY in raw:  # a blank line or a skipped root's child
            continue
        roots += 1
        if roots > count:
            yield raw
            break
    yield from lines


def read_objects(
    lines: Iterable[bytes], skip_roots: int = 0
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(root object, its children) from grouped JSONL, after the first `skip_roots` roots.

    Children must follow their parent (`groupObjects: true`); a child of any other parent is an
    error rather than a silently incomplete object.
    """
    stream = iter(lines)
    if skip_roots:
        stream = _skip_roots(stream, skip_roots)
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] = []
    for raw in stream:
        if not raw.strip():
            continue
        try:
            item = loads(raw)
        except orjson.JSONDecodeError:
            raise Permanent("the export's result file holds a line that is not JSON") from None
        parent_id = item.pop("__parentId", None)
        if parent_id is None:
            if parent is not None:
                yield parent, children
            parent, children = item, []
        elif parent is not None and parent_id == parent.get("id"):
            children.append(item)
        else:
            raise Permanent(f"the export is not grouped: {parent_id} has children apart from it")
    if parent is not None:
        yield parent, children
